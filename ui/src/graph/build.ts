// Turns a workflow definition, and optionally one of its runs, into the nodes and edges of a
// diagram. Layout is done elsewhere (ELK); this decides what is drawn and in what state.
import type { Task, Workflow, WorkflowDef, WorkflowTask } from "../api";

export type NodeKind = "start" | "end" | "task" | "switch" | "merge" | "fork" | "join" | "dynfork" | "loop" | "sub" | "terminate" | "more" | "group";

export interface GNode {
  id: string;
  kind: NodeKind;
  label: string;
  type: string;
  ref?: string; // the reference name of its execution task (with a loop suffix where it has one)
  status?: string; // status of the latest attempt, if the task ran
  notReached?: boolean; // the run is over (or past it) and this task never ran
  offPath?: boolean; // in a SWITCH case that was not taken
  parent?: string; // the DO_WHILE that holds it
  attempts?: Task[];
  detail?: string;
  subWorkflowId?: string;
  iteration?: number; // for loops: the iteration shown
  iterations?: number; // for loops: how many ran
  branches?: GNode[]; // for a group: the dynamic fork's branches it stands for (not drawn)
  counts?: Record<string, number>; // for a group: its branches by status (NOT_STARTED for none)
  forkId?: string; // for a group: the dynamic fork it opens
  expanded?: boolean; // for a SUB_WORKFLOW: its child run is drawn inside it
  owner?: string; // drawn inside this expanded SUB_WORKFLOW node: a task of its child run
}

export interface GEdge {
  id: string;
  source: string;
  target: string;
  label?: string;
  taken?: boolean; // the path this run went through
  skipped?: boolean; // a SWITCH case not taken
}

export interface Graph {
  nodes: GNode[];
  edges: GEdge[];
}

/** A dynamic fork with more branches than this is drawn as one group that can be opened. */
export const MAX_DYNAMIC = 40;

/** The status a group of branches shows: failed if any failed, running if any runs. */
export function groupStatus(counts: Record<string, number>): string | undefined {
  const has = (...s: string[]) => s.some((x) => (counts[x] ?? 0) > 0);
  if (has("FAILED", "FAILED_WITH_TERMINAL_ERROR", "TIMED_OUT", "CANCELED")) return "FAILED";
  if (has("IN_PROGRESS", "SCHEDULED")) return "IN_PROGRESS";
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total > 0 && !has("NOT_STARTED")) return "COMPLETED";
  return undefined;
}

const typeOf = (t: WorkflowTask) => (t.type ?? "SIMPLE").toUpperCase();
const baseRef = (ref: string) => ref.replace(/__\d+$/, "");

/**
 * `open` names the dynamic forks whose branches are drawn one by one even when they are more
 * than {@link MAX_DYNAMIC}.
 */
export function buildGraph(
  def: WorkflowDef | undefined,
  wf: Workflow | undefined,
  loopIter: Record<string, number>,
  open: ReadonlySet<string> = new Set(),
): Graph {
  const nodes: GNode[] = [];
  const edges: GEdge[] = [];
  const tasks = [...(wf?.tasks ?? [])].sort((a, b) => a.seq - b.seq);
  const running = !!wf && (wf.status === "RUNNING" || wf.status === "PAUSED");
  const byRef = new Map<string, Task[]>();
  for (const t of tasks) {
    const list = byRef.get(t.referenceTaskName) ?? [];
    list.push(t);
    byRef.set(t.referenceTaskName, list);
  }
  const drawn = new Set<string>();
  const attemptsOf = (ref: string, iter?: number): Task[] => {
    if (iter === undefined) return byRef.get(ref) ?? [];
    const suffixed = byRef.get(`${ref}__${iter}`);
    if (suffixed) return suffixed;
    return (byRef.get(ref) ?? []).filter((t) => (t.iteration ?? 0) === iter);
  };
  let edgeN = 0;
  const edge = (source: string, target: string, extra: Partial<GEdge> = {}) => {
    edges.push({ id: `e${edgeN++}`, source, target, ...extra });
  };
  const ranInto = (id: string) => {
    const n = nodes.find((x) => x.id === id);
    return !!n && (n.status !== undefined || n.kind === "merge" || n.kind === "start");
  };

  const addTaskNode = (wt: WorkflowTask, kind: NodeKind, parent: string | undefined, iter: number | undefined, id: string): GNode => {
    const attempts = wf ? attemptsOf(wt.taskReferenceName, iter) : [];
    const last = attempts[attempts.length - 1];
    const n: GNode = {
      id,
      kind,
      label: wt.taskReferenceName,
      type: typeOf(wt) === "SIMPLE" ? wt.name : typeOf(wt),
      ref: last?.referenceTaskName ?? wt.taskReferenceName,
      status: last?.status,
      notReached: !!wf && !last,
      parent,
      attempts,
    };
    if (kind === "task" && typeOf(wt) === "SIMPLE") n.detail = "SIMPLE";
    nodes.push(n);
    for (const a of attempts) drawn.add(a.taskId);
    return n;
  };

  type Seg = { entry: string; exits: string[] } | null;

  const sequence = (list: WorkflowTask[], parent: string | undefined, iter: number | undefined, prefix: string): Seg => {
    let entry: string | undefined;
    let exits: string[] = [];
    for (const wt of list) {
      const seg = one(wt, parent, iter, prefix);
      if (!seg) continue;
      if (entry === undefined) entry = seg.entry;
      for (const x of exits) edge(x, seg.entry, { taken: ranInto(x) && ranInto(seg.entry) });
      exits = seg.exits;
    }
    return entry === undefined ? null : { entry, exits };
  };

  const one = (wt: WorkflowTask, parent: string | undefined, iter: number | undefined, prefix: string): Seg => {
    const type = typeOf(wt);
    const id = prefix + wt.taskReferenceName;
    switch (type) {
      case "SWITCH":
      case "DECISION": {
        const n = addTaskNode(wt, "switch", parent, iter, id);
        const last = n.attempts?.[n.attempts.length - 1];
        const out = last?.outputData ?? {};
        const chosen = (out.selectedCase as string | undefined) ?? (Array.isArray(out.evaluationResult) ? String(out.evaluationResult[0]) : undefined);
        const cases = wt.decisionCases ?? {};
        const taken = chosen === undefined || !last ? undefined : chosen in cases ? chosen : "default";
        n.detail = wt.expression ?? wt.caseValueParam;
        const merge = id + "__merge";
        const branches: [string, WorkflowTask[]][] = [...Object.entries(cases), ["default", wt.defaultCase ?? []]];
        const pending: [string, string[]][] = [];
        for (const [name, list] of branches) {
          const before = nodes.length;
          const seg = sequence(list, parent, iter, prefix);
          const isTaken = taken === name;
          if (taken !== undefined && !isTaken) for (const x of nodes.slice(before)) if (!x.status) (x.offPath = true), (x.notReached = true);
          const extra = { label: name, taken: isTaken, skipped: taken !== undefined && !isTaken };
          if (seg) {
            edge(id, seg.entry, extra);
            pending.push([name, seg.exits]);
          } else {
            pending.push([name, [id]]);
            edge(id, merge, extra);
          }
        }
        // The branches meet here unless the case taken ended the run (a TERMINATE task).
        const takenExits = pending.find(([name]) => name === taken)?.[1];
        const met = taken !== undefined && !!takenExits?.length;
        nodes.push({ id: merge, kind: "merge", label: "", type: "merge", parent, status: met ? "COMPLETED" : undefined, notReached: !!wf && !met });
        for (const [name, xs] of pending) for (const x of xs) if (x !== id) edge(x, merge, { taken: taken === name && ranInto(x) });
        return { entry: id, exits: [merge] };
      }
      case "FORK_JOIN":
      case "FORK": {
        addTaskNode(wt, "fork", parent, iter, id);
        const exits: string[] = [];
        for (const branch of wt.forkTasks ?? []) {
          const seg = sequence(branch, parent, iter, prefix);
          if (!seg) continue;
          edge(id, seg.entry, { taken: ranInto(id) && ranInto(seg.entry) });
          exits.push(...seg.exits);
        }
        return { entry: id, exits: exits.length ? exits : [id] };
      }
      case "FORK_JOIN_DYNAMIC": {
        const n = addTaskNode(wt, "dynfork", parent, iter, id);
        const last = n.attempts?.[n.attempts.length - 1];
        const forked = (last?.inputData?.forkedTasks as string[] | undefined) ?? [];
        const spawned = forked.length ? forked : [];
        if (!wf) {
          const ph = id + "__dynamic";
          nodes.push({ id: ph, kind: "more", label: "dynamic branches", type: "chosen at run time", parent });
          edge(id, ph);
          return { entry: id, exits: [ph] };
        }
        const exits: string[] = [];
        const branchNodes: GNode[] = spawned.map((ref) => {
          const attempts = byRef.get(ref) ?? [];
          const t = attempts[attempts.length - 1];
          for (const a of attempts) drawn.add(a.taskId);
          return {
            id: prefix + ref, kind: t?.taskType === "SUB_WORKFLOW" ? "sub" : "task", label: ref, type: t?.taskType ?? "?", ref,
            status: t?.status, notReached: !t, parent, attempts, subWorkflowId: t?.subWorkflowId,
          };
        });
        if (branchNodes.length <= MAX_DYNAMIC || open.has(id)) {
          for (const b of branchNodes) {
            nodes.push(b);
            edge(id, b.id, { taken: !!b.status });
            exits.push(b.id);
          }
        } else {
          const counts: Record<string, number> = {};
          for (const b of branchNodes) counts[b.status ?? "NOT_STARTED"] = (counts[b.status ?? "NOT_STARTED"] ?? 0) + 1;
          const gid = id + "__group";
          const summary = Object.entries(counts)
            .sort((a, b) => b[1] - a[1])
            .map(([st, n]) => `${n.toLocaleString("en-US")} ${st.replace(/_/g, " ").toLowerCase()}`)
            .join(" · ");
          nodes.push({
            id: gid, kind: "group", label: `${branchNodes.length.toLocaleString("en-US")} branches`, type: summary, parent,
            status: groupStatus(counts), branches: branchNodes, counts, forkId: id,
          });
          edge(id, gid, { taken: branchNodes.some((b) => !!b.status) });
          exits.push(gid);
        }
        return { entry: id, exits: exits.length ? exits : [id] };
      }
      case "DO_WHILE": {
        const n = addTaskNode(wt, "loop", parent, iter, id);
        const last = n.attempts?.[n.attempts.length - 1];
        const iterations = Math.max(Number(last?.outputData?.iteration ?? 0), last?.iteration ?? 0, 0);
        n.iterations = iterations;
        n.iteration = Math.min(Math.max(loopIter[id] ?? iterations, iterations ? 1 : 0), iterations);
        n.detail = wt.loopCondition;
        sequence(wt.loopOver ?? [], id, n.iteration || (wf ? 1 : undefined), prefix);
        // Tasks of the other iterations belong to this loop too (not drawn twice below).
        const inner = new Set<string>();
        const collect = (l: WorkflowTask[]) =>
          l.forEach((x) => {
            inner.add(x.taskReferenceName);
            x.loopOver && collect(x.loopOver);
            x.forkTasks?.forEach(collect);
            Object.values(x.decisionCases ?? {}).forEach(collect);
            x.defaultCase && collect(x.defaultCase);
          });
        collect(wt.loopOver ?? []);
        for (const t of tasks) if (inner.has(baseRef(t.referenceTaskName))) drawn.add(t.taskId);
        return { entry: id, exits: [id] };
      }
      case "SUB_WORKFLOW": {
        const n = addTaskNode(wt, "sub", parent, iter, id);
        const last = n.attempts?.[n.attempts.length - 1];
        n.subWorkflowId = last?.subWorkflowId ?? (last?.outputData?.subWorkflowId as string | undefined);
        n.detail = wt.subWorkflowParam ? `${wt.subWorkflowParam.name}${wt.subWorkflowParam.version ? " v" + wt.subWorkflowParam.version : ""}` : undefined;
        return { entry: id, exits: [id] };
      }
      case "TERMINATE": {
        addTaskNode(wt, "terminate", parent, iter, id);
        return { entry: id, exits: [] };
      }
      case "JOIN":
        addTaskNode(wt, "join", parent, iter, id);
        return { entry: id, exits: [id] };
      default:
        addTaskNode(wt, "task", parent, iter, id);
        return { entry: id, exits: [id] };
    }
  };

  const wfStatus = wf?.status;
  nodes.push({ id: "__start", kind: "start", label: "Start", type: "start", status: wf ? "COMPLETED" : undefined });
  const list = def?.tasks ?? tasks.map((t) => t.workflowTask ?? { name: t.taskDefName ?? t.taskType, taskReferenceName: t.referenceTaskName, type: t.taskType });
  const seg = sequence(list, undefined, undefined, "");
  const endStatus = wf && !running ? wfStatus : undefined;
  nodes.push({ id: "__end", kind: "end", label: wfStatus && !running ? wfStatus.replace(/_/g, " ") : "End", type: "end", status: endStatus });
  if (seg) {
    edge("__start", seg.entry, { taken: !!wf });
    for (const x of seg.exits) edge(x, "__end", { taken: !!endStatus && ranInto(x) });
  } else edge("__start", "__end");

  // Tasks that ran but have no place in the definition (e.g. a run of an older version).
  const stray = tasks.filter((t) => !drawn.has(t.taskId));
  if (stray.length && def) {
    const seen = new Set<string>();
    for (const t of stray) {
      if (seen.has(t.referenceTaskName) || nodes.some((n) => n.id === t.referenceTaskName)) continue;
      seen.add(t.referenceTaskName);
      const attempts = byRef.get(t.referenceTaskName) ?? [t];
      nodes.push({ id: "__x_" + t.referenceTaskName, kind: "task", label: t.referenceTaskName, type: t.taskType, ref: t.referenceTaskName, status: attempts.at(-1)?.status, attempts, detail: "not in the definition" });
    }
  }
  // Not-reached only makes sense once a run has ended, or for tasks before the current point.
  if (wf && running) for (const n of nodes) if (n.notReached && !n.offPath) n.notReached = false;
  return { nodes, edges };
}

/** The entries of `m` under `at/`, with that prefix taken off (what a nested graph sees). */
export function under<T>(m: Record<string, T>, at: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(m)) if (k.startsWith(at + "/")) out[k.slice(at.length + 1)] = v;
  return out;
}

/**
 * Draws `inner` (the graph of a child run) inside the SUB_WORKFLOW node `at` of `outer`: its
 * ids are prefixed with `at/`, its top-level nodes get `at` as parent, and each is marked as
 * belonging to the child run of `at`.
 */
export function nest(outer: Graph, at: string, inner: Graph): Graph {
  if (!outer.nodes.some((n) => n.id === at)) return outer;
  const p = (id: string) => `${at}/${id}`;
  const inside = (n: GNode): GNode => ({
    ...n,
    id: p(n.id),
    parent: n.parent ? p(n.parent) : at,
    owner: n.owner ? p(n.owner) : at,
    forkId: n.forkId ? p(n.forkId) : undefined,
    branches: n.branches?.map(inside),
  });
  return {
    nodes: [...outer.nodes.map((n) => (n.id === at ? { ...n, expanded: true } : n)), ...inner.nodes.map(inside)],
    edges: [...outer.edges, ...inner.edges.map((e) => ({ ...e, id: p(e.id), source: p(e.source), target: p(e.target) }))],
  };
}
