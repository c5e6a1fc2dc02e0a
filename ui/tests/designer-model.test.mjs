// Unit tests of the designer's document model (src/designer/model.ts), compiled alone with the
// project's tsc into a temporary folder: the corpus of Conductor workflows drawn and edited
// without loss, and inserts, moves and deletes in every kind of container.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ui = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const corpus = resolve(ui, "../../shared/conductor-corpus");
let out, M;

before(async () => {
  out = mkdtempSync(join(tmpdir(), "designer-model-"));
  execFileSync(join(ui, "node_modules/.bin/tsc"), [
    "--ignoreConfig", "--outDir", out, "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
    "--strict", "--types", "", join(ui, "src/designer/model.ts"),
  ], { stdio: "inherit" });
  M = await import(pathToFileURL(join(out, "model.js")).href);
});
after(() => out && rmSync(out, { recursive: true, force: true }));

function* jsonFiles(dir) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) yield* jsonFiles(p);
    else if (f.endsWith(".json")) yield p;
  }
}

/** Every workflow definition of the corpus (files hold one, or an array of them). */
function corpusDefs() {
  const defs = [];
  for (const file of jsonFiles(corpus)) {
    let v;
    try {
      v = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      continue;
    }
    for (const d of Array.isArray(v) ? v : [v]) {
      if (d && typeof d === "object" && Array.isArray(d.tasks) && typeof d.name === "string") defs.push({ file: file.slice(corpus.length + 1), def: d });
    }
  }
  return defs;
}

const S = (v) => JSON.stringify(v);
const t = (ref, extra = {}) => ({ name: ref, taskReferenceName: ref, type: "SIMPLE", ...extra });

test("every workflow of the corpus is drawn whole and comes back unchanged from no-op edits", () => {
  const defs = corpusDefs();
  assert.ok(defs.length >= 60, `only ${defs.length} workflow definitions found under ${corpus}`);
  let tasks = 0, slots = 0;
  for (const { file, def } of defs) {
    const text = S(def);
    const g = M.designGraph(def);
    const ids = new Set(g.nodes.map((n) => n.id));
    assert.equal(ids.size, g.nodes.length, `${file}: node ids repeat`);
    for (const e of g.edges) assert.ok(ids.has(e.source) && ids.has(e.target), `${file}: edge ${e.source} -> ${e.target} dangles`);
    // Every task of the definition is one node, at its path.
    const paths = [];
    M.walkTasks(def, (_t, p) => paths.push(p));
    const taskNodes = g.nodes.filter((n) => n.path);
    assert.deepEqual(taskNodes.map((n) => M.pathKey(n.path)).sort(), paths.map(M.pathKey).sort(), `${file}: tasks drawn`);
    let doc = def;
    for (const n of taskNodes) {
      // A form that changes nothing (a copy of the task put back) and a move onto itself.
      doc = M.replaceTask(doc, n.path, JSON.parse(S(M.getAt(doc, n.path))));
      doc = M.moveTask(doc, n.path, { list: n.path.slice(0, -1), index: n.path.at(-1) });
      tasks++;
    }
    assert.ok(S(doc) === text, `${file}: no-op edits changed the definition`);
    // Adding a task at any slot then deleting it gives the definition back (new branches too).
    for (const s of g.nodes.filter((n) => n.kind === "slot")) {
      const added = M.insertTask(def, s.point, t("__probe"));
      const at = M.findRef(added, "__probe");
      assert.deepEqual(at, [...s.point.list, s.point.index], `${file}: inserted at ${M.pathKey(s.point.list)}#${s.point.index}`);
      let back = M.deleteTask(added, at);
      // A list made by the insert (a new branch, a default case the definition left out) goes too.
      if (M.getAt(def, s.point.list) === undefined) back = M.removeAt(back, s.point.list);
      assert.ok(S(back) === text, `${file}: insert+delete at ${M.pathKey(s.point.list)}#${s.point.index}`);
      slots++;
    }
    assert.equal(S(def), text, `${file}: an edit changed its input`);
  }
  assert.ok(tasks > 300 && slots > tasks, `${tasks} tasks, ${slots} slots`);
});

test("insert in the top level list, a case, the default case, a fork branch, a new branch and a loop", () => {
  const doc = {
    name: "w", x_unknown: { keep: [1, 2.5] }, version: 1,
    tasks: [
      t("a"),
      { name: "sw", taskReferenceName: "sw", type: "SWITCH", evaluatorType: "value-param", expression: "k", decisionCases: { one: [t("c1")] }, defaultCase: [], extra: true },
      { name: "fk", taskReferenceName: "fk", type: "FORK_JOIN", forkTasks: [[t("b1")], []] },
      { name: "jn", taskReferenceName: "jn", type: "JOIN", joinOn: ["b1"] },
      { name: "lp", taskReferenceName: "lp", type: "DO_WHILE", loopCondition: "false", loopOver: [] },
    ],
    outputParameters: {},
  };
  let d = M.insertTask(doc, { list: ["tasks"], index: 1 }, t("top"));
  assert.deepEqual(d.tasks.map((x) => x.taskReferenceName), ["a", "top", "sw", "fk", "jn", "lp"]);
  assert.equal(S(Object.keys(d)), S(["name", "x_unknown", "version", "tasks", "outputParameters"]));
  d = M.insertTask(doc, { list: ["tasks", 1, "decisionCases", "one"], index: 0 }, t("c0"));
  assert.deepEqual(d.tasks[1].decisionCases.one.map((x) => x.taskReferenceName), ["c0", "c1"]);
  assert.equal(d.tasks[1].extra, true);
  assert.equal(d.tasks[0], doc.tasks[0], "tasks not on the path are the same objects");
  d = M.insertTask(doc, { list: ["tasks", 1, "defaultCase"], index: 0 }, t("dflt"));
  assert.deepEqual(d.tasks[1].defaultCase, [t("dflt")]);
  // A task at the end of a fork branch: the JOIN that waited on the branch ends follows.
  d = M.insertTask(doc, { list: ["tasks", 2, "forkTasks", 0], index: 1 }, t("b2"));
  assert.deepEqual(d.tasks[2].forkTasks, [[t("b1"), t("b2")], []]);
  assert.deepEqual(d.tasks[3].joinOn, ["b2"]);
  d = M.insertTask(d, { list: ["tasks", 2, "forkTasks", 1], index: 0 }, t("c"));
  assert.deepEqual(d.tasks[3].joinOn, ["b2", "c"]);
  d = M.insertTask(doc, { list: ["tasks", 2, "forkTasks", 2], index: 0 }, t("nb"));
  assert.deepEqual(d.tasks[2].forkTasks, [[t("b1")], [], [t("nb")]]);
  d = M.insertTask(doc, { list: ["tasks", 4, "loopOver"], index: 0 }, t("body"));
  assert.deepEqual(d.tasks[4], { name: "lp", taskReferenceName: "lp", type: "DO_WHILE", loopCondition: "false", loopOver: [t("body")] });
  // A case and a branch added and named.
  const r = M.addSwitchCase(doc, ["tasks", 1], "one");
  assert.equal(r.name, "one_2");
  assert.deepEqual(Object.keys(r.doc.tasks[1].decisionCases), ["one", "one_2"]);
  const ren = M.renameSwitchCase(r.doc, ["tasks", 1], "one", "first");
  assert.deepEqual(Object.keys(ren.tasks[1].decisionCases), ["first", "one_2"]);
  assert.deepEqual(M.addForkBranch(doc, ["tasks", 2]).tasks[2].forkTasks, [[t("b1")], [], []]);
  // A JOIN written by hand is left alone.
  const custom = M.setAt(doc, ["tasks", 3, "joinOn"], ["elsewhere"]);
  assert.deepEqual(M.insertTask(custom, { list: ["tasks", 2, "forkTasks", 0], index: 1 }, t("b2")).tasks[3].joinOn, ["elsewhere"]);
  assert.equal(S(doc.tasks[2].forkTasks), S([[t("b1")], []]), "the input is not changed");
});

test("move between containers and delete", () => {
  const doc = {
    name: "w", version: 1,
    tasks: [
      t("a"),
      t("b"),
      { name: "sw", taskReferenceName: "sw", type: "SWITCH", decisionCases: { x: [t("x1"), t("x2")] }, defaultCase: [t("d1")] },
      { name: "lp", taskReferenceName: "lp", type: "DO_WHILE", loopCondition: "false", loopOver: [t("l1")] },
      { name: "fk", taskReferenceName: "fk", type: "FORK_JOIN", forkTasks: [[t("f1")], [t("f2")]] },
      { name: "jn", taskReferenceName: "jn", type: "JOIN", joinOn: ["f1", "f2"] },
    ],
  };
  const refs = (l) => l.map((x) => x.taskReferenceName);
  // Down the same list (the point is counted before the move).
  let d = M.moveTask(doc, ["tasks", 0], { list: ["tasks"], index: 2 });
  assert.deepEqual(refs(d.tasks), ["b", "a", "sw", "lp", "fk", "jn"]);
  // Up the same list.
  d = M.moveTask(doc, ["tasks", 3], { list: ["tasks"], index: 0 });
  assert.deepEqual(refs(d.tasks), ["lp", "a", "b", "sw", "fk", "jn"]);
  // From the top level into a later container (its index shifts when the task leaves).
  d = M.moveTask(doc, ["tasks", 0], { list: ["tasks", 3, "loopOver"], index: 1 });
  assert.deepEqual(refs(d.tasks[2].loopOver), ["l1", "a"]);
  assert.deepEqual(refs(d.tasks), ["b", "sw", "lp", "fk", "jn"]);
  // From a case to the default case, and out of a loop to the top.
  d = M.moveTask(doc, ["tasks", 2, "decisionCases", "x", 1], { list: ["tasks", 2, "defaultCase"], index: 0 });
  assert.deepEqual(d.tasks[2], { name: "sw", taskReferenceName: "sw", type: "SWITCH", decisionCases: { x: [t("x1")] }, defaultCase: [t("x2"), t("d1")] });
  d = M.moveTask(doc, ["tasks", 3, "loopOver", 0], { list: ["tasks"], index: 0 });
  assert.deepEqual(refs(d.tasks), ["l1", "a", "b", "sw", "lp", "fk", "jn"]);
  assert.deepEqual(d.tasks[4].loopOver, []);
  // Into a fork branch: the JOIN follows the branch's new end.
  d = M.moveTask(doc, ["tasks", 1], { list: ["tasks", 4, "forkTasks", 1], index: 1 });
  assert.deepEqual(d.tasks[3].forkTasks, [[t("f1")], [t("f2"), t("b")]]);
  assert.deepEqual(d.tasks[4].joinOn, ["f1", "b"]);
  // A container cannot go into itself.
  assert.equal(M.moveTask(doc, ["tasks", 2], { list: ["tasks", 2, "defaultCase"], index: 0 }), doc);
  // Deletes: in a case, in a loop, a whole switch, a fork with its join.
  d = M.deleteTask(doc, ["tasks", 2, "decisionCases", "x", 0]);
  assert.deepEqual(d.tasks[2].decisionCases, { x: [t("x2")] });
  d = M.deleteTask(doc, ["tasks", 3, "loopOver", 0]);
  assert.deepEqual(d.tasks[3].loopOver, []);
  d = M.deleteTask(doc, ["tasks", 4, "forkTasks", 0, 0]);
  assert.deepEqual(d.tasks[4].forkTasks, [[], [t("f2")]]);
  assert.deepEqual(d.tasks[5].joinOn, ["f2"]);
  d = M.deleteTask(doc, ["tasks", 4]);
  assert.deepEqual(refs(d.tasks), ["a", "b", "sw", "lp"]);
  d = M.deleteTask(doc, ["tasks", 2]);
  assert.deepEqual(refs(d.tasks), ["a", "b", "lp", "fk", "jn"]);
});

test("new tasks get reference names not used yet; the server's problem paths find their task", () => {
  const doc = { name: "w", version: 1, tasks: [t("task"), { name: "l", taskReferenceName: "l", type: "DO_WHILE", loopOver: [t("task_2")] }] };
  assert.equal(M.uniqueRef(doc, "task"), "task_3");
  const [fork, join] = M.newTasks(doc, "FORK_JOIN");
  assert.equal(fork.taskReferenceName, "fork_join");
  assert.equal(join.type, "JOIN");
  assert.notEqual(join.taskReferenceName, fork.taskReferenceName);
  for (const { type } of M.TASK_TYPES) {
    const [n] = M.newTasks(doc, type);
    assert.equal(n.type, type);
    assert.ok(!M.allRefs(doc).has(n.taskReferenceName));
  }
  assert.deepEqual(M.taskPathOf(doc, "$.tasks[1].loopOver[0].name"), ["tasks", 1, "loopOver", 0]);
  assert.deepEqual(M.taskPathOf(doc, "$.tasks[1].loopCondition"), ["tasks", 1]);
  assert.equal(M.taskPathOf(doc, "$.name"), undefined);
  assert.deepEqual(M.refsBefore(doc, ["tasks", 1, "loopOver", 0]), ["task", "l"]);
});

test("a SUB_WORKFLOW with its child defined in place is a container: drawn inside, filled, moved into, hints kept apart", () => {
  const doc = {
    name: "w", version: 1,
    tasks: [
      t("first"),
      { name: "sub", taskReferenceName: "sub", type: "SUB_WORKFLOW", x_keep: 1,
        subWorkflowParam: { name: "child", version: 1, workflowDefinition: { name: "child", version: 1, x_inner: true, tasks: [t("c1")] } } },
      t("last"),
    ],
  };
  const inline = ["tasks", 1, "subWorkflowParam", "workflowDefinition", "tasks"];
  // Drawn inside the SUB_WORKFLOW node, with slots before and after the child's task.
  const g = M.designGraph(doc);
  const host = g.nodes.find((n) => n.label === "sub");
  assert.equal(host.expanded, true);
  const c1 = g.nodes.find((n) => n.label === "c1");
  assert.equal(c1.parent, host.id);
  const slots = g.nodes.filter((n) => n.kind === "slot" && n.parent === host.id).map((n) => S(n.point));
  assert.deepEqual(slots, [S({ list: inline, index: 0 }), S({ list: inline, index: 1 })]);
  assert.match(g.nodes.find((n) => n.kind === "slot" && n.parent === host.id).label, /the inline workflow of sub/);
  // Insert, move in and out, delete: only the child's task list changes, unknown fields stay.
  let d = M.insertTask(doc, { list: inline, index: 1 }, t("c2"));
  assert.deepEqual(d.tasks[1].subWorkflowParam.workflowDefinition.tasks.map((x) => x.taskReferenceName), ["c1", "c2"]);
  assert.equal(d.tasks[1].subWorkflowParam.workflowDefinition.x_inner, true);
  assert.equal(d.tasks[1].x_keep, 1);
  d = M.moveTask(d, ["tasks", 0], { list: inline, index: 0 });
  assert.deepEqual(d.tasks.map((x) => x.taskReferenceName), ["sub", "last"]);
  assert.deepEqual(d.tasks[0].subWorkflowParam.workflowDefinition.tasks.map((x) => x.taskReferenceName), ["first", "c1", "c2"]);
  d = M.deleteTask(d, ["tasks", 0, "subWorkflowParam", "workflowDefinition", "tasks", 1]);
  assert.deepEqual(d.tasks[0].subWorkflowParam.workflowDefinition.tasks.map((x) => x.taskReferenceName), ["first", "c2"]);
  // Hints: the child's tasks see only each other; the parent's tasks do not see into the child.
  assert.deepEqual(M.refsBefore(doc, [...inline, 0]).filter((r) => r !== "sub"), []);
  const d2 = M.insertTask(doc, { list: inline, index: 1 }, t("c2"));
  assert.ok(M.refsBefore(d2, [...inline, 1]).includes("c1"));
  assert.ok(!M.refsBefore(d2, [...inline, 1]).includes("first"));
  assert.ok(!M.refsBefore(doc, ["tasks", 2]).includes("c1"));
  assert.ok(M.refsBefore(doc, ["tasks", 2]).includes("sub"));
  // A problem inside the child points at the child's task.
  assert.deepEqual(M.taskPathOf(doc, "$.tasks[1].subWorkflowParam.workflowDefinition.tasks[0].name"), [...inline, 0]);
  // A reference to a stored child has nothing to draw inside.
  const plain = M.designGraph({ name: "w", tasks: [{ name: "s", taskReferenceName: "s", type: "SUB_WORKFLOW", subWorkflowParam: { name: "child" } }] });
  assert.equal(plain.nodes.find((n) => n.label === "s").expanded, undefined);
});

test("numbers a re-write would change are found, and only those", () => {
  const text = '{"name": "n", "a": 1.0, "b": 12345678901234567890, "c": 1e3, "d": 2.5, "e": -7, "s": "1.0 in a string", "f": 0.1}';
  assert.deepEqual(M.lossyNumbers(text), ["1.0", "12345678901234567890", "1e3"]);
  assert.deepEqual(M.lossyNumbers('{"x": [1, 2, 3.25], "y": "\\"2.0\\""}'), []);
});
