// Browser tests of the task search and the event handler pages, against a server of their own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { browserSuite, results } from "./harness.mjs";
import { api, waitFor, work, taskDefs, simpleDef, dynDef } from "./seed.mjs";

let base;

const suite = browserSuite(async (b) => {
  base = b;
  await api(base, "POST", "/metadata/taskdefs", taskDefs);
  await api(base, "POST", "/metadata/workflow?overwrite=true", simpleDef);
  await api(base, "POST", "/metadata/workflow?overwrite=true", dynDef);
});
const page = (o = {}) => suite.page({ height: 800, ...o });

async function setEditor(p, label, text) {
  const ed = p.getByLabel(label);
  await ed.click();
  await p.keyboard.press("ControlOrMeta+a");
  await p.keyboard.press("Delete");
  await p.keyboard.insertText(text);
}

test("task search: filters, sorting and paging in the URL, rows link to their runs", async () => {
  // Three runs worked (two completed, one failed) and one left scheduled.
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push(await api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input: { i } }));
    await waitFor(() => work(base, "ui_task_a", i === 2 ? "FAILED" : "COMPLETED"), "a task to work");
  }
  ids.push(await api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input: { i: 3 } }));
  await waitFor(async () => (await api(base, "GET", "/tasks/search?size=0")).totalHits >= 4, "the task index");

  const p = await page();
  await p.goto(base + "/tasks");
  const rows = p.getByRole("table", { name: "Task instances" }).locator("tbody tr");
  await p.getByTestId("result-count").getByText("1–4 of 4").waitFor();
  await rows.filter({ hasText: "SCHEDULED" }).waitFor();

  // Only the failed one, with the worker's reason; the filter is in the URL.
  await p.getByText("FAILED", { exact: true }).first().click();
  await p.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/status=FAILED/);
  await p.getByTestId("result-count").getByText("1–1 of 1").waitFor();
  await rows.first().getByText("seeded failure").waitFor();
  await p.screenshot({ path: join(results, "tasks-failed.png") });

  // A raw query on top of the status filter, then back to everything sorted by queue wait.
  await p.goto(base + "/tasks?query=" + encodeURIComponent("workflowType = 'ui_simple' AND status = COMPLETED"));
  await p.getByTestId("result-count").getByText("1–2 of 2").waitFor();
  await p.goto(base + "/tasks?size=10");
  await p.getByRole("button", { name: "Queue wait" }).click();
  await p.waitForURL(/sort=queueWaitTime%3AASC|sort=queueWaitTime:ASC/);
  assert.equal(await p.getByRole("columnheader", { name: /Queue wait/ }).getAttribute("aria-sort"), "ascending");
  await p.getByTestId("result-count").getByText("1–4 of 4").waitFor();
  // A broken query names the problem.
  await p.goto(base + "/tasks?query=" + encodeURIComponent("nosuchfield = 1"));
  await p.getByRole("alert").getByText(/nosuchfield/).waitFor();

  // A row leads to its execution.
  await p.goto(base + "/tasks?status=SCHEDULED");
  await rows.first().getByRole("link", { name: "ui_simple" }).click();
  await p.waitForURL(new RegExp(`/execution/${ids[3]}`));
  assert.deepEqual(p.errors, []);
  await p.context().close();

  const phone = await page({ width: 390, height: 844, scheme: "dark" });
  await phone.goto(base + "/tasks");
  await phone.getByTestId("result-count").getByText("1–4 of 4").waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  await phone.screenshot({ path: join(results, "tasks-phone-dark.png"), fullPage: true });
  await phone.context().close();
});

test("event handlers: create from the template, refuse a broken one, deactivate, edit, delete", async () => {
  const p = await page();
  await p.goto(base + "/eventhandlers");
  await p.getByText("No event handlers.").waitFor();
  await p.getByRole("link", { name: "New event handler" }).click();
  await p.waitForURL(/\/eventhandlers\/new$/);

  // A handler whose action the server does not know: its problem is shown, nothing saved.
  const broken = JSON.stringify({ name: "ui_broken", event: "conductor:ui_simple:only", actions: [{ action: "launch_rocket" }] });
  await setEditor(p, "Event handler JSON", broken);
  await p.getByRole("button", { name: "Create" }).click();
  await p.getByRole("alert", { name: "Problems" }).waitFor();
  assert.equal((await api(base, "GET", "/event")).length, 0);

  const handler = {
    name: "ui_on_done",
    event: "conductor:ui_simple:only",
    condition: "true",
    evaluatorType: "javascript",
    active: true,
    actions: [{ action: "start_workflow", start_workflow: { name: "ui_simple", input: { from: "event" } } }],
  };
  await setEditor(p, "Event handler JSON", JSON.stringify(handler));
  await p.getByRole("button", { name: "Create" }).click();
  await p.waitForURL(/\/eventhandlers\/ui_on_done$/);
  await p.locator("#ehv-title").getByText("ACTIVE").waitFor();
  await p.getByText("start_workflow").first().waitFor();

  // Deactivate: the server's copy follows, and so does the list.
  await p.getByRole("button", { name: "Deactivate" }).click();
  await p.locator("#ehv-title").getByText("INACTIVE").waitFor();
  const stored = await api(base, "GET", "/event");
  assert.equal(stored.length, 1);
  assert.equal(stored[0].active, false);
  await p.getByRole("link", { name: "Event handlers" }).first().click();
  await p.getByRole("table", { name: "Event handlers" }).locator("tr", { hasText: "ui_on_done" }).getByText("INACTIVE").waitFor();
  await p.screenshot({ path: join(results, "eventhandlers.png") });

  // Edit the condition as JSON.
  await p.goto(base + "/eventhandlers/ui_on_done?tab=edit");
  await setEditor(p, "Event handler JSON", JSON.stringify({ ...handler, active: false, condition: "$.output.done == 'only'" }));
  await p.getByRole("button", { name: "Save" }).click();
  await waitFor(async () => (await api(base, "GET", "/event"))[0].condition === "$.output.done == 'only'", "the edit to be stored");
  await p.getByText("$.output.done == 'only'").first().waitFor();

  // Delete, after a confirmation.
  await p.getByRole("button", { name: "Delete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await p.waitForURL(/\/eventhandlers$/);
  await p.getByText("No event handlers.").waitFor();
  assert.equal((await api(base, "GET", "/event")).length, 0);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("a dynamic fork of 1,000 branches is one group that opens: by status, page by page, or drawn whole", async () => {
  const refs = Array.from({ length: 1000 }, (_, i) => `b${String(i).padStart(4, "0")}`);
  const id = await api(base, "POST", "/workflow", {
    name: "ui_dynamic",
    version: 1,
    input: {
      stop: "no",
      tasks: refs.map((r) => ({ name: "ui_task_b", taskReferenceName: r, type: "SIMPLE" })),
      inputs: Object.fromEntries(refs.map((r, i) => [r, { i }])),
    },
  });
  // 990 branches completed, 10 left scheduled (the run goes on).
  let done = 0;
  while (done < 990) {
    const batch = await api(base, "GET", `/tasks/poll/batch/ui_task_b?workerid=ui-fan&count=${Math.min(100, 990 - done)}&timeout=1000`);
    for (const t of batch ?? []) {
      await api(base, "POST", "/tasks", { workflowInstanceId: id, taskId: t.taskId, status: "COMPLETED", workerId: "ui-fan", outputData: { n: t.inputData.i } });
      done++;
    }
  }
  await waitFor(async () => (await api(base, "GET", `/workflow/${id}?includeTasks=true`)).tasks.filter((t) => t.status === "COMPLETED").length >= 991, "the branches to complete");

  const p = await page({ width: 1366, height: 900 });
  await p.goto(base + `/execution/${id}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  const group = p.locator('.gnode[data-node="spread__group"]');
  await group.getByText("1,000 branches").waitFor();
  await group.getByText("990 completed · 10 scheduled").waitFor();
  assert.equal(await group.getAttribute("data-status"), "IN_PROGRESS");
  assert.equal(await p.locator('.gnode[data-node="b0000"]').count(), 0, "a branch was drawn outside its group");
  await p.screenshot({ path: join(results, "execution-fanout-grouped.png") });

  // Opened: counts by status, pages of 50, a filter; a branch shows in the task panel.
  await group.getByRole("button").click();
  const panel = p.getByRole("complementary", { name: "Group 1,000 branches" });
  await panel.getByTestId("branch-page").getByText("1–50 of 1000").waitFor();
  await panel.getByRole("button", { name: "›" }).click();
  await panel.getByTestId("branch-page").getByText("51–100 of 1000").waitFor();
  await panel.getByRole("button", { name: "scheduled 10" }).click();
  await panel.getByTestId("branch-page").getByText("1–10 of 10").waitFor();
  await panel.getByRole("button", { name: "b0995" }).click();
  const taskPanel = p.getByRole("complementary", { name: "Task b0995" });
  await taskPanel.getByText("SCHEDULED").first().waitFor();
  await p.waitForURL(/task=b0995/);
  await p.screenshot({ path: join(results, "execution-fanout-branch.png") });
  // The task list reaches a branch of the group too.
  await p.goto(base + `/execution/${id}?tab=tasks`);
  await p.getByRole("button", { name: "b0003", exact: true }).click();
  await p.getByRole("complementary", { name: "Task b0003" }).getByText("COMPLETED").first().waitFor();

  // Drawn whole on request, and grouped again.
  await p.goto(base + `/execution/${id}?task=spread__group`);
  await p.getByRole("button", { name: "Draw all 1,000 branches in the diagram" }).click();
  await p.waitForURL(/open=spread/);
  await p.locator('.diagram[data-ready="true"]').waitFor({ timeout: 60000 });
  await p.getByText("Every branch of").waitFor();
  assert.equal(await p.locator('.gnode[data-node="spread__group"]').count(), 0);
  await p.screenshot({ path: join(results, "execution-fanout-open.png") });
  await p.getByRole("button", { name: "Group them again" }).click();
  await p.locator('.gnode[data-node="spread__group"]').waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("a sub-workflow's child run is drawn in place, followed live, and its tasks open in the panel", async () => {
  const child = {
    name: "ui_nested_child", version: 1, schemaVersion: 2, ownerEmail: "ui@example.com", timeoutSeconds: 0,
    tasks: [
      { name: "ui_task_c", taskReferenceName: "inner_one", type: "SIMPLE" },
      { name: "inner_loop", taskReferenceName: "inner_loop", type: "DO_WHILE", loopCondition: "if ($.inner_loop['iteration'] < 1) { true; } else { false; }",
        loopOver: [{ name: "ui_task_c", taskReferenceName: "inner_two", type: "SIMPLE" }] },
    ],
  };
  const parent = {
    name: "ui_nested_parent", version: 1, schemaVersion: 2, ownerEmail: "ui@example.com", timeoutSeconds: 0,
    tasks: [
      { name: "call", taskReferenceName: "call", type: "SUB_WORKFLOW", subWorkflowParam: { name: "ui_nested_child", version: 1 } },
      { name: "ui_task_a", taskReferenceName: "after_call", type: "SIMPLE" },
    ],
  };
  await api(base, "POST", "/metadata/workflow?overwrite=true", child);
  await api(base, "POST", "/metadata/workflow?overwrite=true", parent);
  const id = await api(base, "POST", "/workflow", { name: "ui_nested_parent", version: 1, input: {} });
  const w = await waitFor(async () => {
    const x = await api(base, "GET", `/workflow/${id}?includeTasks=true`);
    return x.tasks.find((t) => t.referenceTaskName === "call" && t.subWorkflowId) ? x : null;
  }, "the child run to start");
  const childId = w.tasks.find((t) => t.referenceTaskName === "call").subWorkflowId;

  const p = await page();
  await p.goto(base + `/execution/${id}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  const node = (nid) => p.locator(`.gnode[data-node="${nid}"]`);
  await node("call").getByRole("button", { name: "▸ expand here" }).click();
  await p.waitForURL(/sub=call/);
  // The child's tasks, inside the SUB_WORKFLOW node, in their own states.
  await node("call/inner_one").waitFor();
  assert.equal(await node("call/inner_one").getAttribute("data-status"), "SCHEDULED");
  await node("call/inner_loop").waitFor();
  const outer = await node("call").boundingBox();
  const inner = await node("call/inner_one").boundingBox();
  assert.ok(inner.y > outer.y && inner.y + inner.height <= outer.y + outer.height + 1, "the child's task is not drawn inside its node");
  await p.screenshot({ path: join(results, "execution-sub-expanded.png") });

  // Pushed live: the child's task completes elsewhere and the nested node follows.
  await api(base, "POST", `/tasks/${childId}/inner_one/COMPLETED`, { by: "test" });
  await p.locator('.gnode[data-node="call/inner_one"][data-status="COMPLETED"]').waitFor();

  // A nested task opens in the panel, with the child run's task.
  await node("call/inner_one").getByRole("button").first().click();
  const panel = p.getByRole("complementary", { name: "Task inner_one" });
  await panel.getByText("COMPLETED").first().waitFor();
  await panel.getByText(childId).or(panel.getByText("inner_one").first()).first().waitFor();

  // Collapsed again.
  await node("call").getByRole("button", { name: "▾ collapse" }).click();
  await p.waitForURL((u) => !u.searchParams.get("sub"));
  await p.locator('.gnode[data-node="call/inner_one"]').waitFor({ state: "detached" });
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("unsaved editor text survives a reload, until saved or discarded", async () => {
  const p = await page();
  await p.goto(base + "/eventhandlers/new");
  const typed = JSON.stringify({ name: "ui_draft", event: "conductor:ui_simple:only", actions: [{ action: "complete_task", complete_task: { workflowId: "x", taskRefName: "y" } }] });
  await setEditor(p, "Event handler JSON", typed);
  await p.waitForFunction(() => Object.keys(localStorage).some((k) => k.startsWith("baton.editor.draft:event:new")));
  p.once("dialog", (d) => d.accept()); // the page asks before a reload drops unsaved text
  await p.reload();
  const draft = p.getByRole("status", { name: "Draft" });
  await draft.getByText(/Unsaved changes from/).waitFor();
  await p.getByLabel("Event handler JSON").getByText('"ui_draft"', { exact: false }).first().waitFor();
  // Discarded: the template is back and the draft gone.
  await draft.getByRole("button", { name: "Discard them" }).click();
  await p.getByLabel("Event handler JSON").getByText('"my_handler"', { exact: false }).first().waitFor();
  assert.equal(await p.evaluate(() => localStorage.getItem("baton.editor.draft:event:new")), null);

  // A task definition's edit: kept across a reload, gone once saved.
  await p.goto(base + "/taskdefs/ui_task_c?tab=edit");
  const td = await api(base, "GET", "/metadata/taskdefs/ui_task_c");
  await setEditor(p, "Task definition JSON", JSON.stringify({ ...td, description: "drafted" }, null, 2));
  p.once("dialog", (d) => d.accept());
  await p.reload();
  await p.getByRole("status", { name: "Draft" }).waitFor();
  await p.getByLabel("Task definition JSON").getByText('"drafted"').waitFor();
  await p.getByRole("toolbar", { name: "Definition actions" }).getByRole("button", { name: "Save" }).click();
  await waitFor(async () => (await api(base, "GET", "/metadata/taskdefs/ui_task_c")).description === "drafted", "the save");
  assert.equal(await p.evaluate(() => localStorage.getItem("baton.editor.draft:task:ui_task_c")), null);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("very long names wrap or cut without pushing the page sideways", async () => {
  const long = "ui_" + "very_long_workflow_name_".repeat(5);
  const ref = "a_reference_name_that_goes_on_" + "and_on_".repeat(8);
  await api(base, "POST", "/metadata/workflow?overwrite=true", {
    name: long, version: 1, schemaVersion: 2, ownerEmail: "ui@example.com", timeoutSeconds: 0,
    tasks: [{ name: "ui_task_a", taskReferenceName: ref, type: "SIMPLE" }],
  });
  const id = await api(base, "POST", "/workflow", { name: long, version: 1, input: {}, correlationId: "c".repeat(120) });
  await waitFor(async () => (await api(base, "GET", `/workflow/search?size=1&query=${encodeURIComponent(`workflowId = '${id}'`)}`)).totalHits === 1, "the index");
  for (const [w, h, scheme] of [[1366, 800, "light"], [390, 844, "dark"]]) {
    const p = await page({ width: w, height: h, scheme });
    for (const path of ["/executions", `/execution/${id}`, "/definitions", `/definitions/${long}/1`]) {
      await p.goto(base + path);
      await p.getByText(long.slice(0, 20)).first().waitFor();
      if (path.startsWith("/execution/")) await p.locator('.diagram[data-ready="true"]').waitFor();
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} at ${w}px scrolls sideways by ${overflow}px`);
    }
    await p.goto(base + `/execution/${id}`);
    await p.locator('.diagram[data-ready="true"]').waitFor();
    await p.screenshot({ path: join(results, `execution-long-names-${w}.png`), fullPage: true });
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});
