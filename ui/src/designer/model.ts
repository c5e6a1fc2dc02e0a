// The designer's document model: the workflow definition's JSON object is the document, and
// every edit is a pure function from one document to the next. Tasks are addressed by paths
// (["tasks", 2, "decisionCases", "a", 0]); only the objects on the path of an edit are copied,
// everything else (fields this UI does not know included) is kept as it was, in its order.
// No React and no imports here: the unit tests compile this file alone.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type Obj = { [k: string]: JsonValue };
export type Doc = Obj;
export type Task = Obj;
export type Path = (string | number)[];

/** Where a task can go: before `index` in the task list at `list`. */
export interface Point {
  list: Path;
  index: number;
}

export const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
export const typeOf = (t: Task): string => (typeof t.type === "string" && t.type ? t.type : "SIMPLE").toUpperCase();
export const refOf = (t: Task): string => (typeof t.taskReferenceName === "string" ? t.taskReferenceName : "");
export const pathKey = (p: Path) => p.map(String).join("/");
export const samePath = (a: Path, b: Path) => a.length === b.length && a.every((x, i) => x === b[i]);
const startsWith = (p: Path, prefix: Path) => prefix.length <= p.length && prefix.every((x, i) => p[i] === x);

export function getAt(doc: JsonValue, path: Path): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const k of path) {
    if (Array.isArray(cur) && typeof k === "number") cur = cur[k];
    else if (isObj(cur) && typeof k === "string") cur = cur[k];
    else return undefined;
  }
  return cur;
}

/** The document with the value at `path` replaced (containers on the way copied, made when missing). */
export function setAt(doc: JsonValue, path: Path, value: JsonValue): JsonValue {
  if (path.length === 0) return value;
  const [k, ...rest] = path;
  if (typeof k === "number") {
    const arr = Array.isArray(doc) ? doc.slice() : [];
    arr[k] = setAt(arr[k] ?? (typeof rest[0] === "number" ? [] : {}), rest, value);
    return arr;
  }
  const o: Obj = isObj(doc) ? { ...doc } : {};
  o[k] = setAt(o[k] ?? (typeof rest[0] === "number" ? [] : {}), rest, value);
  return o;
}

/** The document without the key or array element at `path`. */
export function removeAt(doc: JsonValue, path: Path): JsonValue {
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  const parent = getAt(doc, parentPath);
  if (Array.isArray(parent) && typeof last === "number") return setAt(doc, parentPath, parent.filter((_, i) => i !== last));
  if (isObj(parent) && typeof last === "string") {
    const o = { ...parent };
    delete o[last];
    return setAt(doc, parentPath, o);
  }
  return doc;
}

const listAt = (doc: Doc, list: Path): Task[] => {
  const v = getAt(doc, list);
  return Array.isArray(v) ? (v.filter(isObj) as Task[]) : [];
};

/** Every task list inside a task (case lists, default case, fork branches, loop body), with its path. */
export function childLists(t: Task, at: Path): { list: Path; label: string; tasks: Task[] }[] {
  const out: { list: Path; label: string; tasks: Task[] }[] = [];
  if (isObj(t.decisionCases)) for (const [k, v] of Object.entries(t.decisionCases)) if (Array.isArray(v)) out.push({ list: [...at, "decisionCases", k], label: k, tasks: v.filter(isObj) as Task[] });
  if (Array.isArray(t.defaultCase)) out.push({ list: [...at, "defaultCase"], label: "default", tasks: t.defaultCase.filter(isObj) as Task[] });
  if (Array.isArray(t.forkTasks)) t.forkTasks.forEach((b, i) => Array.isArray(b) && out.push({ list: [...at, "forkTasks", i], label: `branch ${i + 1}`, tasks: b.filter(isObj) as Task[] }));
  if (Array.isArray(t.loopOver)) out.push({ list: [...at, "loopOver"], label: "loop", tasks: t.loopOver.filter(isObj) as Task[] });
  const inline = inlineTasks(t);
  if (inline) out.push({ list: [...at, ...INLINE], label: "inline workflow", tasks: inline.filter(isObj) as Task[] });
  return out;
}

/** Where a SUB_WORKFLOW keeps the tasks of a child workflow defined in place. */
export const INLINE: Path = ["subWorkflowParam", "workflowDefinition", "tasks"];

/** The tasks of a SUB_WORKFLOW's inline child definition, if it has one. */
export function inlineTasks(t: Task): JsonValue[] | undefined {
  const p = t.subWorkflowParam;
  if (!isObj(p) || !isObj(p.workflowDefinition)) return undefined;
  const tasks = p.workflowDefinition.tasks;
  return Array.isArray(tasks) ? tasks : undefined;
}

/** Whether a task list is the top level of an inline child workflow. */
const isInlineList = (list: Path) => list.length > INLINE.length && INLINE.every((k, i) => list[list.length - INLINE.length + i] === k);

/** Visits every task, depth first in definition order. */
export function walkTasks(doc: Doc, fn: (t: Task, path: Path) => void, list: Path = ["tasks"]) {
  listAt(doc, list).forEach((t, i) => {
    const p = [...list, i];
    fn(t, p);
    for (const c of childLists(t, p)) walkTasks(doc, fn, c.list);
  });
}

export function allRefs(doc: Doc): Set<string> {
  const s = new Set<string>();
  walkTasks(doc, (t) => s.add(refOf(t)));
  return s;
}

/** `base`, or `base_2`, `base_3`... whichever is not used yet in the document (nor in `taken`). */
export function uniqueRef(doc: Doc, base: string, taken: Set<string> = new Set()): string {
  const used = allRefs(doc);
  const clean = base.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "") || "task";
  if (!used.has(clean) && !taken.has(clean)) return clean;
  for (let n = 2; ; n++) if (!used.has(`${clean}_${n}`) && !taken.has(`${clean}_${n}`)) return `${clean}_${n}`;
}

/** The path of the task with this reference name. */
export function findRef(doc: Doc, ref: string): Path | undefined {
  let found: Path | undefined;
  walkTasks(doc, (t, p) => {
    if (!found && refOf(t) === ref) found = p;
  });
  return found;
}

// ---- forks and their joins ----

/** The reference of the task that ends a branch (the last one), for a JOIN to wait on. */
function branchEnds(fork: Task): string[] {
  const out: string[] = [];
  if (Array.isArray(fork.forkTasks))
    for (const b of fork.forkTasks) {
      if (!Array.isArray(b) || !b.length) continue;
      const last = b[b.length - 1];
      if (isObj(last)) out.push(refOf(last));
    }
  return out;
}

/** For each FORK_JOIN: the JOIN right after it (if any), and the refs its branches end with. */
function forkJoins(doc: Doc): Map<string, { join?: Path; ends: string[] }> {
  const m = new Map<string, { join?: Path; ends: string[] }>();
  const visit = (list: Path) => {
    const tasks = listAt(doc, list);
    tasks.forEach((t, i) => {
      const p = [...list, i];
      const next = tasks[i + 1];
      if (typeOf(t) === "FORK_JOIN") m.set(refOf(t), { join: next && typeOf(next) === "JOIN" ? [...list, i + 1] : undefined, ends: branchEnds(t) });
      for (const c of childLists(t, p)) visit(c.list);
    });
  };
  visit(["tasks"]);
  return m;
}

const sameList = (a: JsonValue | undefined, b: string[]) => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * A JOIN whose joinOn lists exactly the last task of each branch of the fork before it keeps
 * doing so after an edit of the branches (so does an empty one after a fork just added); one
 * written otherwise is left alone.
 */
function followJoins(before: Doc, after: Doc): Doc {
  const old = forkJoins(before);
  let doc = after;
  for (const [ref, now] of forkJoins(after)) {
    const was = old.get(ref);
    if (!now.join || (was && (!was.join || sameList(was.ends, now.ends)))) continue;
    const join = getAt(doc, now.join) as Task;
    const cur = join.joinOn;
    const auto = was ? sameList(cur, was.ends) : cur === undefined || (Array.isArray(cur) && cur.length === 0);
    if (auto && !sameList(cur, now.ends) && !(cur === undefined && now.ends.length === 0)) doc = setAt(doc, [...now.join, "joinOn"], now.ends) as Doc;
  }
  return doc;
}

// ---- edits ----

/** Inserts tasks at a point (a list that does not exist yet, e.g. a new fork branch, is made). */
export function insertTasks(doc: Doc, at: Point, tasks: Task[]): Doc {
  const list = listAt(doc, at.list);
  const raw = getAt(doc, at.list);
  const base: JsonValue[] = Array.isArray(raw) ? raw.slice() : [];
  const idx = Math.max(0, Math.min(at.index, list.length));
  base.splice(idx, 0, ...tasks);
  return followJoins(doc, setAt(doc, at.list, base) as Doc);
}

export const insertTask = (doc: Doc, at: Point, task: Task) => insertTasks(doc, at, [task]);

/** Removes the task at `path` (with what it holds). A fork's JOIN right after it goes too. */
export function deleteTask(doc: Doc, path: Path): Doc {
  const t = getAt(doc, path);
  if (!isObj(t)) return doc;
  const list = path.slice(0, -1);
  const i = path[path.length - 1] as number;
  let out = doc;
  const next = getAt(doc, [...list, i + 1]);
  if ((typeOf(t) === "FORK_JOIN" || typeOf(t) === "FORK_JOIN_DYNAMIC") && isObj(next) && typeOf(next) === "JOIN") out = removeAt(out, [...list, i + 1]) as Doc;
  out = removeAt(out, path) as Doc;
  return followJoins(doc, out);
}

/** Whether a task may move to a point (not into itself). */
export function canMove(from: Path, to: Point): boolean {
  return !startsWith(to.list, from);
}

/** Moves the task at `from` to the point `to` (given in the document before the move). */
export function moveTask(doc: Doc, from: Path, to: Point): Doc {
  if (!canMove(from, to)) return doc;
  const t = getAt(doc, from);
  if (!isObj(t)) return doc;
  const fromList = from.slice(0, -1);
  const fromIdx = from[from.length - 1] as number;
  // Where the point is once the task is gone: a later index in its own list (or in a list held by
  // a later sibling) moves up by one.
  const list = to.list.slice();
  let index = to.index;
  if (samePath(list, fromList)) {
    if (index === fromIdx || index === fromIdx + 1) return doc; // where it already is
    if (index > fromIdx) index--;
  } else if (startsWith(list, fromList) && typeof list[fromList.length] === "number" && (list[fromList.length] as number) > fromIdx) {
    list[fromList.length] = (list[fromList.length] as number) - 1;
  }
  const removed = removeAt(doc, from) as Doc;
  return followJoins(doc, insertTasks(removed, { list, index }, [t]));
}

/** Puts `task` at `path` in place of what is there (a form edit). */
export function replaceTask(doc: Doc, path: Path, task: Task): Doc {
  if (getAt(doc, path) === task) return doc;
  return followJoins(doc, setAt(doc, path, task) as Doc);
}

/** Adds an empty branch to a fork. */
export function addForkBranch(doc: Doc, fork: Path): Doc {
  const t = getAt(doc, fork);
  if (!isObj(t)) return doc;
  const branches = Array.isArray(t.forkTasks) ? t.forkTasks : [];
  return setAt(doc, [...fork, "forkTasks"], [...branches, []]) as Doc;
}

/** Removes a fork branch with its tasks. */
export function removeForkBranch(doc: Doc, fork: Path, branch: number): Doc {
  return followJoins(doc, removeAt(doc, [...fork, "forkTasks", branch]) as Doc);
}

/** Adds a case (empty) to a SWITCH under a name not used yet; returns the document and the name. */
export function addSwitchCase(doc: Doc, sw: Path, wanted = "case"): { doc: Doc; name: string } {
  const t = getAt(doc, sw);
  if (!isObj(t)) return { doc, name: "" };
  const cases = isObj(t.decisionCases) ? t.decisionCases : {};
  let name = wanted;
  for (let n = 2; name in cases; n++) name = `${wanted}_${n}`;
  return { doc: setAt(doc, [...sw, "decisionCases"], { ...cases, [name]: [] }) as Doc, name };
}

/** Renames a SWITCH case in place (its order kept). */
export function renameSwitchCase(doc: Doc, sw: Path, from: string, to: string): Doc {
  const t = getAt(doc, sw);
  if (!isObj(t) || !isObj(t.decisionCases) || from === to || !to || to in t.decisionCases) return doc;
  const next: Obj = {};
  for (const [k, v] of Object.entries(t.decisionCases)) next[k === from ? to : k] = v;
  return setAt(doc, [...sw, "decisionCases"], next) as Doc;
}

export function removeSwitchCase(doc: Doc, sw: Path, name: string): Doc {
  return followJoins(doc, removeAt(doc, [...sw, "decisionCases", name]) as Doc);
}

// ---- new tasks ----

/** The task types the palette offers, with what each needs. */
export const TASK_TYPES: { type: string; label: string; hint: string }[] = [
  { type: "SIMPLE", label: "Simple", hint: "a worker task" },
  { type: "HTTP", label: "HTTP", hint: "calls a URL" },
  { type: "INLINE", label: "Inline", hint: "evaluates a script" },
  { type: "JSON_JQ_TRANSFORM", label: "JSON JQ", hint: "jq transform" },
  { type: "SWITCH", label: "Switch", hint: "chooses a case" },
  { type: "FORK_JOIN", label: "Fork / join", hint: "parallel branches + JOIN" },
  { type: "FORK_JOIN_DYNAMIC", label: "Dynamic fork", hint: "branches chosen at run time + JOIN" },
  { type: "JOIN", label: "Join", hint: "waits for forked tasks" },
  { type: "DO_WHILE", label: "Do while", hint: "loops over tasks" },
  { type: "SUB_WORKFLOW", label: "Sub workflow", hint: "runs a workflow, waits" },
  { type: "START_WORKFLOW", label: "Start workflow", hint: "starts a workflow" },
  { type: "WAIT", label: "Wait", hint: "for a time or a signal" },
  { type: "HUMAN", label: "Human", hint: "completed by a person" },
  { type: "EVENT", label: "Event", hint: "publishes an event" },
  { type: "SET_VARIABLE", label: "Set variable", hint: "workflow variables" },
  { type: "TERMINATE", label: "Terminate", hint: "ends the run" },
  { type: "NOOP", label: "No-op", hint: "does nothing" },
  { type: "DYNAMIC", label: "Dynamic", hint: "task type chosen at run time" },
  { type: "KAFKA_PUBLISH", label: "Kafka publish", hint: "publishes to Kafka" },
  { type: "LAMBDA", label: "Lambda", hint: "legacy script task" },
  { type: "EXCLUSIVE_JOIN", label: "Exclusive join", hint: "first branch wins" },
];

/** A new task of `type` (with its JOIN for forks), named so nothing in `doc` clashes. */
export function newTasks(doc: Doc, type: string): Task[] {
  const base = type === "SIMPLE" ? "task" : type.toLowerCase();
  const ref = uniqueRef(doc, base);
  const t: Task = { name: type === "SIMPLE" ? "my_task" : ref, taskReferenceName: ref, type, inputParameters: {} };
  switch (type) {
    case "HTTP":
      t.inputParameters = { http_request: { uri: "https://example.com", method: "GET" } };
      break;
    case "INLINE":
      t.inputParameters = { evaluatorType: "graaljs", expression: "(function () { return $.value; })();", value: "${workflow.input.value}" };
      break;
    case "LAMBDA":
      t.inputParameters = { scriptExpression: "return {};" };
      break;
    case "JSON_JQ_TRANSFORM":
      t.inputParameters = { queryExpression: "." };
      break;
    case "SWITCH":
      t.evaluatorType = "value-param";
      t.expression = "switchCaseValue";
      t.inputParameters = { switchCaseValue: "${workflow.input.case}" };
      t.decisionCases = { case_a: [], case_b: [] };
      t.defaultCase = [];
      break;
    case "FORK_JOIN":
      t.forkTasks = [[], []];
      break;
    case "FORK_JOIN_DYNAMIC":
      t.dynamicForkTasksParam = "dynamicTasks";
      t.dynamicForkTasksInputParamName = "dynamicTasksInput";
      t.inputParameters = { dynamicTasks: "${workflow.input.dynamicTasks}", dynamicTasksInput: "${workflow.input.dynamicTasksInput}" };
      break;
    case "JOIN":
    case "EXCLUSIVE_JOIN":
      t.joinOn = [];
      break;
    case "DO_WHILE":
      t.loopCondition = `if ($.${ref}['iteration'] < 3) { true; } else { false; }`;
      t.loopOver = [];
      break;
    case "SUB_WORKFLOW":
      t.subWorkflowParam = { name: "", version: 1 };
      break;
    case "START_WORKFLOW":
      t.inputParameters = { startWorkflow: { name: "", version: 1, input: {} } };
      break;
    case "WAIT":
      t.inputParameters = { duration: "10s" };
      break;
    case "EVENT":
      t.sink = "conductor";
      break;
    case "SET_VARIABLE":
      t.inputParameters = { name: "value" };
      break;
    case "TERMINATE":
      t.inputParameters = { terminationStatus: "COMPLETED", workflowOutput: {} };
      break;
    case "DYNAMIC":
      t.dynamicTaskNameParam = "taskToRun";
      t.inputParameters = { taskToRun: "${workflow.input.taskToRun}" };
      break;
    case "KAFKA_PUBLISH":
      t.inputParameters = { kafka_request: { topic: "", value: "", bootStrapServers: "" } };
      break;
  }
  if (type === "FORK_JOIN" || type === "FORK_JOIN_DYNAMIC") {
    const jref = uniqueRef(doc, ref + "_join", new Set([ref]));
    return [t, { name: jref, taskReferenceName: jref, type: "JOIN", joinOn: [] }];
  }
  return [t];
}

export const EMPTY_WORKFLOW: Doc = {
  name: "new_workflow",
  description: "",
  version: 1,
  schemaVersion: 2,
  inputParameters: [],
  outputParameters: {},
  tasks: [],
  timeoutPolicy: "ALERT_ONLY",
  timeoutSeconds: 0,
  ownerEmail: "",
};

// ---- the graph the canvas draws ----

export type DKind = "start" | "end" | "task" | "switch" | "merge" | "fork" | "join" | "dynfork" | "loop" | "sub" | "terminate" | "slot";

export interface DNode {
  id: string;
  kind: DKind;
  label: string;
  type: string;
  /** The task's path (task nodes). */
  path?: Path;
  /** Where a new task goes (slot nodes). */
  point?: Point;
  /** Slot making a new fork branch. */
  newBranch?: boolean;
  /** The DO_WHILE (or SUB_WORKFLOW with an inline child) holding it. */
  parent?: string;
  detail?: string;
  /** A SUB_WORKFLOW whose inline child workflow is drawn inside it. */
  expanded?: boolean;
}

export interface DEdge {
  id: string;
  source: string;
  target: string;
  label?: string;
}

export interface DGraph {
  nodes: DNode[];
  edges: DEdge[];
}

const KIND: Record<string, DKind> = {
  SWITCH: "switch", DECISION: "switch", FORK_JOIN: "fork", FORK: "fork", JOIN: "join", EXCLUSIVE_JOIN: "join",
  FORK_JOIN_DYNAMIC: "dynfork", DO_WHILE: "loop", SUB_WORKFLOW: "sub", TERMINATE: "terminate",
};

/** Node id of the slot at a point. */
export const slotId = (p: Point) => "slot:" + pathKey(p.list) + "#" + p.index;
/** Node id of the task at a path. */
export const taskId = (p: Path) => "task:" + pathKey(p);

/**
 * The definition as nodes and edges: a node per task, and between every two steps (and in every
 * empty case, branch or loop) a slot where a task can be added or moved to.
 */
export function designGraph(doc: Doc): DGraph {
  const nodes: DNode[] = [];
  const edges: DEdge[] = [];
  let n = 0;
  const edge = (source: string, target: string, label?: string) => edges.push({ id: `e${n++}`, source, target, label });
  const slot = (point: Point, parent: string | undefined, newBranch = false, label = ""): string => {
    const id = slotId(point) + (newBranch ? "+" : "");
    nodes.push({ id, kind: "slot", label, type: "slot", point, parent, newBranch });
    return id;
  };
  /** Where a list is, in words (for the slots' labels). */
  const where = (list: Path): string => {
    if (list.length === 1) return "the workflow";
    if (isInlineList(list)) {
      const sub = getAt(doc, list.slice(0, -INLINE.length));
      return `the inline workflow of ${isObj(sub) ? refOf(sub) : "?"}`;
    }
    const owner = getAt(doc, list.slice(0, list[list.length - 1] === "loopOver" || list[list.length - 1] === "defaultCase" ? -1 : -2));
    const o = isObj(owner) ? refOf(owner) : "?";
    const k = list[list.length - 2];
    if (list[list.length - 1] === "loopOver") return `the loop ${o}`;
    if (list[list.length - 1] === "defaultCase") return `the default case of ${o}`;
    if (k === "decisionCases") return `case ${String(list[list.length - 1])} of ${o}`;
    if (k === "forkTasks") return `branch ${Number(list[list.length - 1]) + 1} of ${o}`;
    return pathKey(list);
  };

  /** Draws a task list after `from` (the ids its first step follows); returns its exits. */
  const sequence = (list: Path, from: string[], parent: string | undefined, label?: string): string[] => {
    const tasks = listAt(doc, list);
    let exits = from;
    let first = true;
    const link = (to: string) => {
      for (const x of exits) edge(x, to, first ? label : undefined);
      first = false;
    };
    const w = where(list);
    const at = (i: number) => `${w}, ${i < tasks.length ? "before " + refOf(tasks[i]) : tasks.length ? "after " + refOf(tasks[tasks.length - 1]) : "empty"}`;
    const s0 = slot({ list, index: 0 }, parent, false, at(0));
    link(s0);
    exits = [s0];
    tasks.forEach((t, i) => {
      const path = [...list, i];
      const { entry, exits: out } = one(t, path, parent);
      link(entry);
      const s = slot({ list, index: i + 1 }, parent, false, at(i + 1));
      for (const x of out) edge(x, s);
      exits = [s];
      // a TERMINATE ends the path: the slot after it leads nowhere
      if (!out.length) exits = [s];
    });
    return exits;
  };

  const one = (t: Task, path: Path, parent: string | undefined): { entry: string; exits: string[] } => {
    const type = typeOf(t);
    const id = taskId(path);
    const kind = KIND[type] ?? "task";
    const node: DNode = { id, kind, label: refOf(t), type: type === "SIMPLE" ? String(t.name ?? "") : type, path, parent };
    if (type === "SIMPLE") node.detail = "SIMPLE";
    nodes.push(node);
    switch (kind) {
      case "switch": {
        node.detail = typeof t.expression === "string" ? t.expression : typeof t.caseValueParam === "string" ? t.caseValueParam : undefined;
        const merge = id + "/merge";
        const exits: string[] = [];
        const cases = isObj(t.decisionCases) ? Object.keys(t.decisionCases) : [];
        for (const c of cases) exits.push(...sequence([...path, "decisionCases", c], [id], parent, c));
        exits.push(...sequence([...path, "defaultCase"], [id], parent, "default"));
        nodes.push({ id: merge, kind: "merge", label: "", type: "merge", parent });
        for (const x of exits) edge(x, merge);
        return { entry: id, exits: [merge] };
      }
      case "fork": {
        const exits: string[] = [];
        const branches = Array.isArray(t.forkTasks) ? t.forkTasks.length : 0;
        for (let b = 0; b < branches; b++) exits.push(...sequence([...path, "forkTasks", b], [id], parent, `branch ${b + 1}`));
        const nb = slot({ list: [...path, "forkTasks", branches], index: 0 }, parent, true, `a new branch of ${refOf(t)}`);
        edge(id, nb, "new branch");
        return { entry: id, exits: exits.length ? exits : [id] };
      }
      case "loop": {
        node.detail = typeof t.loopCondition === "string" ? t.loopCondition : undefined;
        sequence([...path, "loopOver"], [], id);
        return { entry: id, exits: [id] };
      }
      case "sub": {
        const p = t.subWorkflowParam;
        if (isObj(p)) node.detail = `${String(p.name ?? "")}${p.version !== undefined ? " v" + String(p.version) : ""}`;
        // A child workflow defined in place is drawn inside the node, to be filled like a loop.
        if (inlineTasks(t)) {
          node.expanded = true;
          node.detail = "inline workflow";
          sequence([...path, ...INLINE], [], id);
        }
        return { entry: id, exits: [id] };
      }
      case "terminate":
        return { entry: id, exits: [] };
      default:
        return { entry: id, exits: [id] };
    }
  };

  nodes.push({ id: "__start", kind: "start", label: "Start", type: "start" });
  const exits = sequence(["tasks"], ["__start"], undefined);
  nodes.push({ id: "__end", kind: "end", label: "End", type: "end" });
  for (const x of exits) edge(x, "__end");
  return { nodes, edges };
}

// ---- the server's problems, placed ----

/** The task path a validation path ("$.tasks[2].decisionCases.a[0].name") points into, if any. */
export function taskPathOf(doc: Doc, where: string): Path | undefined {
  const segs: Path = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\]/g;
  let m: RegExpExecArray | null;
  const s = where.replace(/^\$/, "");
  while ((m = re.exec(s))) {
    if (m[1] !== undefined) segs.push(m[1]);
    else if (m[2] !== undefined) segs.push(Number(m[2]));
    else segs.push(m[3] ?? m[4]);
  }
  let best: Path | undefined;
  for (let i = 1; i <= segs.length; i++) {
    const p = segs.slice(0, i);
    if (typeof p[p.length - 1] === "number" && isObj(getAt(doc, p)) && (p[0] === "tasks")) {
      const parentKey = p[p.length - 2];
      const isTaskList = parentKey === "tasks" || parentKey === "loopOver" || parentKey === "defaultCase" || typeof parentKey === "number" || (p.length >= 3 && p[p.length - 3] === "decisionCases");
      if (isTaskList) best = p;
    }
  }
  return best;
}

/** The tasks that run before the task at `path` (for expression hints): earlier siblings and their insides, and the same up the containers. */
export function refsBefore(doc: Doc, path: Path): string[] {
  const out: string[] = [];
  const addAll = (t: Task, p: Path) => {
    out.push(refOf(t));
    // Not into a child workflow defined in place: its outputs are not this workflow's.
    for (const c of childLists(t, p)) if (!isInlineList(c.list)) c.tasks.forEach((x, i) => addAll(x, [...c.list, i]));
  };
  for (let depth = path.length; depth >= 2; depth--) {
    const at = path.slice(0, depth);
    if (typeof at[at.length - 1] !== "number") continue;
    const list = at.slice(0, -1);
    const idx = at[at.length - 1] as number;
    listAt(doc, list).slice(0, idx).forEach((t, i) => addAll(t, [...list, i]));
    if (depth < path.length) {
      const container = getAt(doc, at);
      if (isObj(container)) out.push(refOf(container));
    }
    // The child workflow defined in place sees only its own tasks.
    if (isInlineList(list)) break;
  }
  return [...new Set(out)].filter(Boolean);
}

/**
 * Numbers written in a JSON text that would not come back the same once parsed and written
 * again (`1.0`, `1e3`, integers beyond 2^53...), at most `max` of them: the designer re-writes
 * the text on every canvas or form edit, so these would change.
 */
export function lossyNumbers(text: string, max = 5): string[] {
  const out = new Set<string>();
  const re = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) && out.size < max) {
    const tok = m[0];
    if (tok.startsWith('"')) continue;
    if (JSON.stringify(JSON.parse(tok)) !== tok) out.add(tok);
  }
  return [...out];
}
