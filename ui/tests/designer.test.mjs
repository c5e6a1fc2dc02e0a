// Browser tests of the workflow designer against its own server: a workflow drawn from nothing
// by dragging task types from the palette, saved, checked over HTTP and run to COMPLETED by a
// worker driven from here; then moves, deletes, a problem on its node, drafts over a reload,
// a refused save, a test run with mocked outputs and the screenshots.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { browserSuite, results } from "./harness.mjs";
import { api, waitFor, taskDefs, work } from "./seed.mjs";

let base;

const suite = browserSuite(async (b) => {
  base = b;
  await api(base, "POST", "/metadata/taskdefs", taskDefs);
});
const page = (o = {}) => suite.page(o);

const panel = (p) => p.getByRole("complementary", { name: "Properties" });
const node = (p, ref) => p.locator(`.designer-canvas .gnode[data-node="${ref}"]`);
const slot = (p, id) => p.locator(`[data-slot="slot:${id}"] .slot-btn`);
const ready = (p) => p.locator('.designer-canvas[data-ready="true"]').waitFor();

/** Drags a task type from the palette onto a slot; the new task is selected. */
async function dropType(p, type, slotId) {
  await ready(p);
  await p.locator(".react-flow__controls-fitview").click();
  const before = await p.locator(".designer-canvas .gnode[data-node]").count();
  await p.locator(`.palette-item[data-type="${type}"]`).dragTo(slot(p, slotId));
  await waitFor(async () => (await p.locator(".designer-canvas .gnode[data-node]").count()) > before, `a ${type} dropped on ${slotId}`);
}

/** Names the selected task (a worker task: its task definition's name). */
async function nameTask(p, ref, name) {
  const f = panel(p);
  if (name) await f.getByLabel("Name", { exact: true }).fill(name);
  await f.getByLabel("Reference name").fill(ref);
  await node(p, ref).waitFor();
}

/** The definition the page keeps as its draft. */
const draftOf = (p, key) => p.evaluate((k) => JSON.parse(JSON.parse(localStorage.getItem(k)).text), key);

const refs = (list) => list.map((t) => t.taskReferenceName);

test("a workflow drawn from nothing with a switch, a fork and a loop is saved as drawn and runs to COMPLETED", async () => {
  const p = await page();
  await p.goto(base + "/definitions");
  await p.getByRole("link", { name: "New (designer)" }).click();
  await p.waitForURL(/\/designer\/new$/);
  await ready(p);
  await panel(p).getByLabel("Workflow name").fill("ui_designed");
  await panel(p).getByLabel("Input parameters (names, comma separated)").fill("case");

  await dropType(p, "SIMPLE", "tasks#0");
  await nameTask(p, "first", "ui_task_a");
  await dropType(p, "SWITCH", "tasks#1");
  await nameTask(p, "route");
  await dropType(p, "SIMPLE", "tasks/1/decisionCases/case_a#0");
  await nameTask(p, "in_a", "ui_task_b");
  await dropType(p, "SIMPLE", "tasks/1/decisionCases/case_b#0");
  await nameTask(p, "in_b", "ui_task_b");
  await dropType(p, "FORK_JOIN", "tasks#2");
  await nameTask(p, "fan");
  await dropType(p, "SIMPLE", "tasks/2/forkTasks/0#0");
  await nameTask(p, "left", "ui_task_c");
  await dropType(p, "SIMPLE", "tasks/2/forkTasks/1#0");
  await nameTask(p, "right", "ui_task_c");
  await dropType(p, "DO_WHILE", "tasks#4");
  await nameTask(p, "repeat");
  await panel(p).getByLabel("Loop condition").fill("if ($.repeat['iteration'] < 2) { true; } else { false; }");
  await dropType(p, "SIMPLE", "tasks/4/loopOver#0");
  await nameTask(p, "body", "ui_task_a");
  await p.locator('.validation[data-state="valid"]').waitFor();
  await p.screenshot({ path: join(results, "designer-drawn.png") });

  await p.getByRole("toolbar", { name: "Designer actions" }).getByRole("button", { name: "Save", exact: true }).click();
  await p.waitForURL(/\/designer\/ui_designed\/1$/);
  const saved = await api(base, "GET", "/metadata/workflow/ui_designed?version=1");
  assert.deepEqual(saved.inputParameters, ["case"]);
  assert.deepEqual(refs(saved.tasks), ["first", "route", "fan", "fork_join_join", "repeat"]);
  assert.deepEqual(saved.tasks.map((t) => t.type), ["SIMPLE", "SWITCH", "FORK_JOIN", "JOIN", "DO_WHILE"]);
  assert.equal(saved.tasks[0].name, "ui_task_a");
  assert.deepEqual(Object.keys(saved.tasks[1].decisionCases), ["case_a", "case_b"]);
  assert.deepEqual(refs(saved.tasks[1].decisionCases.case_a), ["in_a"]);
  assert.deepEqual(refs(saved.tasks[1].decisionCases.case_b), ["in_b"]);
  assert.deepEqual(saved.tasks[1].defaultCase ?? [], []);
  assert.deepEqual(saved.tasks[2].forkTasks.map(refs), [["left"], ["right"]]);
  assert.deepEqual(saved.tasks[3].joinOn, ["left", "right"]);
  assert.deepEqual(refs(saved.tasks[4].loopOver), ["body"]);
  assert.match(saved.tasks[4].loopCondition, /iteration'\] < 2/);

  // Run it from the designer, with input sending it down case_b.
  await p.getByRole("button", { name: "Run", exact: true }).click();
  const dialog = p.getByRole("dialog", { name: /Run ui_designed v1/ });
  const input = dialog.getByRole("textbox", { name: "Input" });
  await input.click();
  await p.keyboard.press("Control+A");
  await p.keyboard.type('{"case": "case_b"}');
  await dialog.getByRole("button", { name: "Start" }).click();
  await p.waitForURL(/\/execution\//);
  const id = p.url().split("/execution/")[1].split("?")[0];
  await waitFor(async () => {
    for (const type of ["ui_task_a", "ui_task_b", "ui_task_c"]) while (await work(base, type)) {}
    return (await api(base, "GET", `/workflow/${id}?includeTasks=false`)).status !== "RUNNING";
  }, "the designed run to end", 30000);
  await p.locator("#wf-title").getByText("COMPLETED").waitFor();
  const run = await api(base, "GET", `/workflow/${id}`);
  assert.equal(run.status, "COMPLETED");
  const ran = new Set(run.tasks.map((t) => t.referenceTaskName.replace(/__\d+$/, "")));
  for (const r of ["first", "route", "in_b", "fan", "left", "right", "repeat", "body"]) assert.ok(ran.has(r), `${r} ran`);
  assert.ok(!ran.has("in_a"), "case_a was not taken");
  await p.screenshot({ path: join(results, "designer-run.png") });
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("move, delete, add from the keyboard, a problem on its node, a draft across a reload, a refused save", async () => {
  const p = await page();
  const key = "baton.designer.draft:ui_designed:1";
  await p.goto(base + "/definitions/ui_designed/1");
  await p.getByRole("link", { name: "Design" }).click();
  await p.waitForURL(/\/designer\/ui_designed\/1$/);
  await ready(p);
  await p.locator('.validation[data-state="valid"]').waitFor();

  // Move in_b from case_b to the default case.
  await p.locator(".react-flow__controls-fitview").click();
  await node(p, "in_b").dragTo(slot(p, "tasks/1/defaultCase#0"));
  await waitFor(async () => {
    const d = await draftOf(p, key).catch(() => null);
    return d && d.tasks[1].defaultCase?.[0]?.taskReferenceName === "in_b";
  }, "in_b to move to the default case");
  let d = await draftOf(p, key);
  assert.deepEqual(d.tasks[1].decisionCases.case_b, []);
  // Move body out of the loop, to the top.
  await node(p, "body").dragTo(slot(p, "tasks#0"));
  await waitFor(async () => (await draftOf(p, key)).tasks[0].taskReferenceName === "body", "body to move to the top");
  d = await draftOf(p, key);
  assert.deepEqual(d.tasks[5].loopOver, []);

  // Delete the left branch's task with the Delete key: the JOIN follows.
  await node(p, "left").locator(".gn-main").click();
  await panel(p).getByRole("heading", { name: /left/ }).waitFor();
  await p.keyboard.press("Delete");
  await node(p, "left").waitFor({ state: "detached" });
  d = await draftOf(p, key);
  assert.deepEqual(d.tasks[3].forkTasks, [[], [d.tasks[3].forkTasks[1][0]]]);
  assert.deepEqual(d.tasks[4].joinOn, ["right"]);
  // Undone and done again (keys and buttons).
  await p.keyboard.press("Control+Z");
  await node(p, "left").waitFor();
  assert.deepEqual((await draftOf(p, key)).tasks[4].joinOn, ["left", "right"]);
  await p.getByRole("button", { name: "Redo" }).click();
  await node(p, "left").waitFor({ state: "detached" });
  await p.getByRole("button", { name: "Undo" }).click();
  await node(p, "left").waitFor();
  await p.keyboard.press("Control+Shift+Z");
  await node(p, "left").waitFor({ state: "detached" });
  assert.deepEqual((await draftOf(p, key)).tasks[4].joinOn, ["right"]);

  // Add a task from a slot's menu with the keyboard only.
  await p.locator(".react-flow__controls-fitview").click();
  await slot(p, "tasks/3/forkTasks/0#0").focus();
  await p.keyboard.press("Enter");
  const menu = p.getByRole("menu");
  await menu.getByRole("menuitem").first().waitFor();
  await p.keyboard.press("ArrowDown"); // HTTP
  await p.keyboard.press("Enter");
  await node(p, "http").waitFor();
  d = await draftOf(p, key);
  assert.equal(d.tasks[3].forkTasks[0][0].type, "HTTP");

  // Move without dragging: "Move…", then a slot named by where it is.
  await node(p, "right").locator(".gn-main").click();
  await panel(p).getByRole("button", { name: "Move…" }).click();
  await p.getByRole("status", { name: "Moving" }).getByText("right").waitFor();
  await p.getByRole("button", { name: "Move here: case case_b of route, empty" }).click();
  await p.getByRole("status", { name: "Moving" }).waitFor({ state: "detached" });
  d = await draftOf(p, key);
  assert.deepEqual(refs(d.tasks[2].decisionCases.case_b), ["right"]);
  assert.deepEqual(d.tasks[3].forkTasks.map(refs), [["http"], []]);
  assert.deepEqual(d.tasks[4].joinOn, ["http"]);

  // A task dropped on the fork's "new branch" slot makes a third branch; the JOIN waits for it.
  await p.locator(".react-flow__controls-fitview").click();
  await p.locator('.palette-item[data-type="NOOP"]').dragTo(p.locator('[data-slot="slot:tasks/3/forkTasks/2#0+"] .slot-btn'));
  await node(p, "noop").waitFor();
  d = await draftOf(p, key);
  assert.deepEqual(d.tasks[3].forkTasks.map(refs), [["http"], [], ["noop"]]);
  assert.deepEqual(d.tasks[4].joinOn, ["http", "noop"]);

  // The loop without its body: the server's problem shows on the loop's node.
  await p.locator('.designer-canvas .gnode[data-node="repeat"][data-error="true"]').waitFor();
  await p.getByRole("region", { name: "Validation" }).getByText(/DO_WHILE needs loopOver tasks/).waitFor();
  await p.screenshot({ path: join(results, "designer-problem.png") });
  // Saving is refused with the server's reason.
  await p.getByRole("button", { name: "Save as new version" }).click();
  await p.getByRole("alert", { name: "Save refused" }).getByText(/loopOver/).waitFor();

  // The draft survives a reload, and can be discarded.
  await p.reload();
  await ready(p);
  await p.getByRole("status", { name: "Draft" }).getByText(/Restored unsaved changes/).waitFor();
  await node(p, "http").waitFor();
  assert.equal(await node(p, "left").count(), 0);
  await p.getByRole("status", { name: "Draft" }).getByRole("button", { name: "Discard the draft" }).click();
  await node(p, "left").waitFor();
  assert.equal(await p.evaluate((k) => localStorage.getItem(k), key), null);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("the JSON text and the canvas follow each other; a bad text keeps what was typed", async () => {
  const p = await page();
  await p.goto(base + "/designer/ui_designed/1");
  await ready(p);
  await p.getByRole("tab", { name: "JSON" }).click();
  const editor = p.getByRole("textbox", { name: "Definition JSON" });
  await editor.getByText('"first"').first().waitFor();
  // A rename in the text shows on the canvas.
  await editor.getByText('"first"').first().dblclick();
  await p.keyboard.type("start_here");
  await node(p, "start_here").waitFor();
  // A broken text: the error shows, the text stays, the canvas keeps the last valid definition.
  await editor.click();
  await p.keyboard.press("Control+End");
  await p.keyboard.type(",,,");
  await p.getByRole("alert").getByText(/Not valid JSON/).waitFor();
  assert.match(await editor.textContent(), /,,,/);
  await node(p, "start_here").waitFor();
  for (let i = 0; i < 3; i++) await p.keyboard.press("Backspace");
  await p.locator(".designer-panel .field-error").waitFor({ state: "detached" });
  // A canvas edit rewrites the text.
  await node(p, "route").locator(".gn-main").click();
  await p.getByRole("tab", { name: "JSON" }).click();
  await p.getByRole("tab", { name: "Task" }).click();
  await panel(p).getByRole("button", { name: "Add case" }).click();
  await p.getByRole("tab", { name: "JSON" }).click();
  await editor.getByText('"case"').first().waitFor();
  // Expression hints in a task's input: the workflow's inputs and the tasks that run before it.
  await p.getByRole("tab", { name: "Workflow" }).click().catch(() => {});
  await p.locator(".react-flow__controls-fitview").click();
  await node(p, "right").locator(".gn-main").click();
  await p.getByRole("tab", { name: "Task" }).click();
  const inputEditor = panel(p).getByRole("textbox", { name: "Input parameters" });
  await inputEditor.click();
  await p.keyboard.press("Control+A");
  await p.keyboard.type('{"who": "${');
  const hints = p.locator(".cm-tooltip-autocomplete");
  await hints.getByText("workflow.input.case").waitFor();
  await hints.getByText("route.output").waitFor();
  await hints.getByText("start_here.output").waitFor();
  assert.equal(await hints.getByText("body.output").count(), 0, "a task after this one is not offered");
  await p.keyboard.type("workflow.input.c");
  await p.keyboard.press("Enter");
  await p.keyboard.type('"}');
  await waitFor(async () => /"who": "\$\{workflow\.input\.case\}"/.test(await inputEditor.textContent()), "the hint to be applied");
  await p.getByRole("tab", { name: "JSON" }).click();
  await editor.getByText("${workflow.input.case}").first().waitFor();
  // The changes against the saved version.
  await p.getByRole("tab", { name: "Changes" }).click();
  await p.locator(".diff-add", { hasText: "start_here" }).first().waitFor();
  await p.locator(".diff-del", { hasText: '"first"' }).first().waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("a test run with mocked task outputs shows its result", async () => {
  const p = await page();
  await p.goto(base + "/designer/ui_designed/1");
  await ready(p);
  await p.getByRole("button", { name: "Discard changes" }).isDisabled();
  await p.getByRole("button", { name: "Test run" }).click();
  const dialog = p.getByRole("dialog", { name: /Test run/ });
  await dialog.getByRole("textbox", { name: "Input" }).click();
  await p.keyboard.press("Control+A");
  await p.keyboard.type('{"case": "case_b"}');
  await dialog.getByRole("button", { name: "Run test" }).click();
  const result = dialog.getByRole("region", { name: "Test run result" });
  await result.getByText(/Result:\s*COMPLETED/).waitFor();
  // The run drawn over the definition: the case taken and the one not.
  const drawn = result.getByRole("figure", { name: "Diagram of the test run" });
  await drawn.locator('.gnode[data-node="in_b"][data-status="COMPLETED"]').waitFor();
  await drawn.locator('.gnode[data-node="in_a"][data-status="NOT_REACHED"]').waitFor();
  await p.screenshot({ path: join(results, "designer-test-run.png") });
  for (const ref of ["first", "in_b", "left", "right", "body__2"]) await result.getByRole("cell", { name: ref, exact: true }).waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("save as a new version, overwrite it, and compare two versions on the definition page", async () => {
  const p = await page();
  await p.goto(base + "/designer/ui_designed/1");
  await ready(p);
  await node(p, "first").locator(".gn-main").click();
  await panel(p).getByLabel("Description").fill("described");
  await p.locator('.validation[data-state="valid"]').waitFor();
  await p.getByRole("button", { name: "Save as new version" }).click();
  await p.waitForURL(/\/designer\/ui_designed\/2$/);
  assert.equal((await api(base, "GET", "/metadata/workflow/ui_designed?version=2")).tasks[0].description, "described");
  assert.equal((await api(base, "GET", "/metadata/workflow/ui_designed?version=1")).tasks[0].description, undefined);

  await ready(p);
  await node(p, "first").locator(".gn-main").click();
  await panel(p).getByLabel("Description").fill("again");
  await p.getByRole("button", { name: "Overwrite v2" }).click();
  await p.getByRole("dialog", { name: "Overwrite version 2?" }).getByRole("button", { name: "Overwrite" }).click();
  await waitFor(async () => (await api(base, "GET", "/metadata/workflow/ui_designed?version=2")).tasks[0].description === "again", "v2 to be overwritten");
  await p.getByRole("button", { name: "Discard changes" }).and(p.locator(":disabled")).waitFor();

  await p.goto(base + "/definitions/ui_designed/2?tab=compare");
  const diff = p.getByLabel("Changes from v1 to v2");
  await diff.locator(".diff-add", { hasText: '"description": "again"' }).waitFor();
  assert.equal(await p.getByLabel("Version to compare with").inputValue(), "1");
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("designer screenshots: laptop and phone, light and dark", async () => {
  for (const [w, h, tag] of [[1366, 768, "laptop"], [390, 844, "phone"]]) {
    for (const scheme of ["light", "dark"]) {
      const p = await page({ width: w, height: h, scheme });
      await p.goto(base + "/designer/ui_designed/1");
      await ready(p);
      await p.locator('.validation[data-state="valid"]').waitFor();
      await node(p, "route").locator(".gn-main").click();
      await panel(p).getByLabel("Expression").waitFor();
      await p.screenshot({ path: join(results, `designer-${tag}-${scheme}.png`), fullPage: tag === "phone" });
      assert.deepEqual(p.errors, []);
      await p.context().close();
    }
  }
});

test("a sub-workflow defined in place is filled by dropping tasks into it, saved, and runs", async () => {
  const p = await page();
  await p.goto(base + "/designer/new");
  await ready(p);
  await panel(p).getByLabel("Workflow name").fill("ui_inline_parent");
  await dropType(p, "SUB_WORKFLOW", "tasks#0");
  await nameTask(p, "call");
  await panel(p).getByLabel(/Define the child workflow here/).check();
  // The node opens into a container with its own slot; a task dropped there goes into the child.
  const inner = "tasks/0/subWorkflowParam/workflowDefinition/tasks";
  await slot(p, `${inner}#0`).waitFor();
  await dropType(p, "SIMPLE", `${inner}#0`);
  await nameTask(p, "inside", "ui_task_a");
  const host = await node(p, "call").boundingBox();
  const child = await node(p, "inside").boundingBox();
  assert.ok(child.y > host.y && child.y + child.height <= host.y + host.height + 1, "the child's task is not drawn inside its SUB_WORKFLOW");
  await p.screenshot({ path: join(results, "designer-inline-sub.png") });
  const draft = await draftOf(p, "baton.designer.draft:new");
  assert.deepEqual(refs(draft.tasks), ["call"]);
  assert.deepEqual(refs(draft.tasks[0].subWorkflowParam.workflowDefinition.tasks), ["inside"]);

  // Saved and run: the child runs the task drawn inside.
  await p.locator('.validation[data-state="valid"]').waitFor();
  await p.getByRole("toolbar", { name: "Designer actions" }).getByRole("button", { name: "Save", exact: true }).click();
  await p.waitForURL(/\/designer\/ui_inline_parent\/1$/);
  const stored = await api(base, "GET", "/metadata/workflow/ui_inline_parent?version=1");
  assert.deepEqual(refs(stored.tasks[0].subWorkflowParam.workflowDefinition.tasks), ["inside"]);
  const id = await api(base, "POST", "/workflow", { name: "ui_inline_parent", version: 1, input: {} });
  const t = await waitFor(() => work(base, "ui_task_a"), "the child's task");
  assert.equal(t.referenceTaskName, "inside");
  await waitFor(async () => (await api(base, "GET", `/workflow/${id}`)).status === "COMPLETED", "the parent to complete");
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("a definition whose numbers a re-write would change says so before anything is saved", async () => {
  // Sent as text so that the number is written as 1.0.
  const res = await fetch(base + "/api/metadata/workflow?overwrite=true", {
    method: "POST", headers: { "content-type": "application/json" },
    body: '{"name": "ui_numbers", "version": 1, "schemaVersion": 2, "ownerEmail": "ui@example.com", "timeoutSeconds": 0, "tasks": [{"name": "ui_task_a", "taskReferenceName": "n", "type": "SIMPLE", "inputParameters": {"ratio": 1.0}}]}',
  });
  assert.ok(res.ok, await res.text());
  const stored = await (await fetch(base + "/api/metadata/workflow/ui_numbers?version=1")).text();
  assert.match(stored, /1\.0/, "the server kept the number as written");
  const p = await page();
  await p.goto(base + "/designer/ui_numbers/1");
  await ready(p);
  await p.getByRole("note", { name: "Numbers" }).getByText("1.0").waitFor();
  // A definition without such numbers shows no note.
  await p.goto(base + "/designer/ui_designed/1");
  await ready(p);
  assert.equal(await p.getByRole("note", { name: "Numbers" }).count(), 0);
  await p.context().close();
});
