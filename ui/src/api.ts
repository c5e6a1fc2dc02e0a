// The server's HTTP API (same origin). Every call goes through `request`.
export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    /** The error body when it was JSON (Conductor's: message, validationErrors...). */
    public body?: unknown,
  ) {
    super(message);
  }
}

/** The problems an error answer lists: its message, then each field at fault. */
export function problems(e: unknown): string[] {
  if (e instanceof ApiError && e.body && typeof e.body === "object") {
    const b = e.body as { message?: string; validationErrors?: { path?: string; message?: string }[] };
    const list = (b.validationErrors ?? []).map((v) => (v.path ? `${v.path}: ${v.message ?? ""}` : v.message ?? ""));
    return list.length ? list : [String(b.message ?? e.message)];
  }
  return [String((e as Error)?.message ?? e)];
}

/**
 * Told of every 401 answer (but those of the sign-in itself) with the server's message: the
 * session ended or was never opened, and the UI asks for a key again.
 */
let unauthorized: (message: string) => void = () => {};
export function onUnauthorized(handler: (message: string) => void) {
  unauthorized = handler;
}

/** Counts sign-ins and sign-outs: a 401 to a request sent before the latest one is stale. */
let generation = 0;
export function newSession() {
  generation++;
}

/** The error of an answer that is not ok: the JSON body's message when there is one. */
function errorOf(res: Response, text: string, path: string, sentIn: number): ApiError {
  let msg = text || res.statusText;
  let body: unknown;
  try {
    body = JSON.parse(text);
    const j = body as { message?: string };
    if (j && j.message) msg = j.message;
  } catch {
    /* not JSON: keep the text */
  }
  if (res.status === 401 && path !== "/session" && sentIn === generation) unauthorized(msg);
  return new ApiError(res.status, `${res.status}: ${msg}`, body);
}

/** A GET answered as text, exactly as the server wrote it. */
export async function requestText(path: string): Promise<string> {
  const sentIn = generation;
  const res = await fetch("/api" + path, { headers: { accept: "application/json" } });
  const text = await res.text();
  if (!res.ok) throw errorOf(res, text, path, sentIn);
  return text;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const sentIn = generation;
  const init: RequestInit = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    init.headers = { ...init.headers, "content-type": "application/json" };
  }
  const res = await fetch("/api" + path, init);
  const text = await res.text();
  if (!res.ok) throw errorOf(res, text, path, sentIn);
  if (!text) return null as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return text as T;
  }
}

export const qs = (p: Record<string, string | number | boolean | undefined>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== "") u.set(k, String(v));
  const s = u.toString();
  return s ? "?" + s : "";
};

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface WorkflowSummary {
  workflowType: string;
  version: number;
  workflowId: string;
  correlationId?: string;
  startTime?: string;
  updateTime?: string;
  endTime?: string;
  status: string;
  reasonForIncompletion?: string;
  executionTime?: number;
  failedReferenceTaskNames?: string;
}

export interface SearchResult<T> {
  totalHits: number;
  results: T[];
}

export interface WorkflowTask {
  name: string;
  taskReferenceName: string;
  type?: string;
  inputParameters?: Record<string, Json>;
  decisionCases?: Record<string, WorkflowTask[]>;
  defaultCase?: WorkflowTask[];
  forkTasks?: WorkflowTask[][];
  loopOver?: WorkflowTask[];
  loopCondition?: string;
  joinOn?: string[];
  subWorkflowParam?: { name: string; version?: number };
  evaluatorType?: string;
  expression?: string;
  caseValueParam?: string;
  dynamicForkTasksParam?: string;
  optional?: boolean;
  [k: string]: unknown;
}

export interface WorkflowDef {
  name: string;
  version: number;
  description?: string;
  tasks: WorkflowTask[];
  ownerEmail?: string;
  createTime?: number;
  updateTime?: number;
  timeoutSeconds?: number;
  [k: string]: unknown;
}

export interface Task {
  taskId: string;
  taskType: string;
  taskDefName?: string;
  referenceTaskName: string;
  status: string;
  seq: number;
  retryCount: number;
  pollCount: number;
  iteration?: number;
  scheduledTime?: number;
  startTime?: number;
  endTime?: number;
  updateTime?: number;
  workerId?: string;
  inputData?: Record<string, Json>;
  outputData?: Record<string, Json>;
  reasonForIncompletion?: string;
  subWorkflowId?: string;
  retried?: boolean;
  workflowTask?: WorkflowTask;
  queueWaitTime?: number;
  [k: string]: unknown;
}

export interface Workflow {
  workflowId: string;
  workflowName: string;
  workflowVersion: number;
  status: string;
  createTime?: number;
  startTime?: number;
  endTime?: number;
  updateTime?: number;
  correlationId?: string;
  input?: Record<string, Json>;
  output?: Record<string, Json>;
  reasonForIncompletion?: string;
  parentWorkflowId?: string;
  parentWorkflowTaskId?: string;
  tasks?: Task[];
  workflowDefinition?: WorkflowDef;
  [k: string]: unknown;
}

export interface TaskDef {
  name: string;
  description?: string;
  retryCount?: number;
  timeoutSeconds?: number;
  responseTimeoutSeconds?: number;
  ownerEmail?: string;
  [k: string]: unknown;
}

export interface BulkResponse {
  bulkErrorResults: Record<string, string>;
  bulkSuccessfulResults: string[];
  message?: string;
}

export interface TaskLog {
  log: string;
  taskId: string;
  createdTime: number;
}

/** Who the UI is signed in as (`GET /api/session`). */
export interface Session {
  authEnabled: boolean;
  signedIn: boolean;
  keyId?: string;
  name?: string;
  role?: string;
}

/** An API key as the server lists it (never its secret). */
export interface ApiKey {
  id: string;
  name: string;
  role: string;
  createdAt: number;
  createdBy: string;
  revokedAt?: number;
}

/** A key just made: `keyText` is shown this once. */
export interface NewApiKey {
  key: ApiKey;
  keyText: string;
  secret: string;
}

/** One entry of the audit log. */
export interface AuditEvent {
  seq: number;
  time: number;
  actor: string;
  actorName?: string;
  role?: string;
  action: string;
  access: string;
  remote?: string;
  outcome: string;
  status: string;
  reason?: string;
}

export const ROLES = ["admin", "operator", "worker", "viewer"] as const;

export const TERMINAL = new Set(["COMPLETED", "FAILED", "TERMINATED", "TIMED_OUT"]);
export const WORKFLOW_STATUSES = ["RUNNING", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "PAUSED"];

export function fmtTime(v: string | number | undefined | null): string {
  if (v === undefined || v === null || v === "" || v === 0) return "";
  const d = new Date(v);
  if (isNaN(d.getTime())) return String(v);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function fmtDuration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || ms < 0) return "";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} m`;
}
