// Browser tests of the live execution page, the queues and schedules pages and the definition
// editors, against their own server (seeded here with only what they need).
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { browserSuite, results } from "./harness.mjs";
import { api, waitFor, taskDefs, simpleDef } from "./seed.mjs";

let base;

const suite = browserSuite(async (b) => {
  base = b;
  await api(base, "POST", "/metadata/taskdefs", taskDefs);
  await api(base, "POST", "/metadata/workflow?overwrite=true", simpleDef);
});
const page = (o = {}) => suite.page(o);

const startSimple = (input = {}) => api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input });
const updates = (p) => p.getByRole("status", { name: "Updates" });
const title = (p) => p.locator("#wf-title");

test("the execution page follows a run by server push, without polling", async () => {
  const id = await startSimple({ live: 1 });
  const p = await page();
  // Reads of the execution itself (the stream is /watch, not counted).
  const reads = [];
  p.on("request", (r) => {
    const u = new URL(r.url());
    if (r.method() === "GET" && u.pathname === `/api/workflow/${id}`) reads.push(u.search);
  });
  await p.goto(base + `/execution/${id}?tab=tasks`);
  await updates(p).and(p.locator('[data-mode="live"]')).waitFor();
  await title(p).getByText("RUNNING").waitFor();
  await p.locator("table.grid tbody tr", { hasText: "only" }).getByText("SCHEDULED").waitFor();

  await api(base, "POST", `/tasks/${id}/only/COMPLETED`, { by: "test" });
  await title(p).getByText("COMPLETED").waitFor();
  await p.locator("table.grid tbody tr", { hasText: "only" }).getByText("COMPLETED").waitFor();
  await updates(p).getByText(/watching for a retry or restart/).waitFor();

  // After the end the page keeps listening: a restart from elsewhere shows.
  await api(base, "POST", `/workflow/${id}/restart`);
  await title(p).getByText("RUNNING").waitFor();
  assert.deepEqual(reads, [], "the page fetched the execution instead of listening");

  // Deleted elsewhere: the page says so and stops.
  await api(base, "DELETE", `/workflow/${id}/remove`);
  await p.getByRole("alert").getByText("This execution was deleted").waitFor();
  assert.equal(await updates(p).getAttribute("data-mode"), "removed");
  await p.screenshot({ path: join(results, "execution-removed.png") });
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("when the event stream fails the execution page polls and says so", async () => {
  const id = await startSimple({ fallback: 1 });
  const p = await page();
  await p.route("**/watch", (r) => r.fulfill({ status: 500, body: "no" }));
  let reads = 0;
  p.on("request", (r) => {
    if (r.method() === "GET" && new URL(r.url()).pathname === `/api/workflow/${id}`) reads++;
  });
  await p.goto(base + `/execution/${id}`);
  await updates(p).getByText(/polling every 3 s/).waitFor();
  await title(p).getByText("RUNNING").waitFor();
  await api(base, "POST", `/tasks/${id}/only/COMPLETED`, {});
  await title(p).getByText("COMPLETED").waitFor();
  assert.ok(reads >= 2, `polled ${reads} times`);
  await p.context().close();
});

test("leaving the execution page closes its event stream", async () => {
  const id = await startSimple({ leave: 1 });
  const p = await page();
  await p.addInitScript(() => {
    const Native = window.EventSource;
    window.__streams = [];
    window.EventSource = class extends Native {
      constructor(...a) {
        super(...a);
        window.__streams.push(this);
      }
    };
  });
  await p.goto(base + `/execution/${id}`);
  await updates(p).and(p.locator('[data-mode="live"]')).waitFor();
  assert.equal(await p.evaluate(() => window.__streams.filter((s) => s.readyState !== 2).length), 1);
  await p.getByRole("link", { name: "Executions" }).first().click();
  await p.waitForURL(/\/executions/);
  await p.waitForFunction(() => window.__streams.length > 0 && window.__streams.every((s) => s.readyState === 2));
  await p.context().close();
});

test("an unknown execution shows the server's error", async () => {
  const p = await page();
  await p.goto(base + "/execution/no-such-run");
  await p.getByRole("alert").getByText(/404/).waitFor();
  await p.context().close();
});

test("the queues page shows depth by task type and domain, poll data and workers, live", async () => {
  await api(base, "POST", "/metadata/taskdefs", [{ name: "ui_q_task", retryCount: 0, timeoutSeconds: 0, responseTimeoutSeconds: 60, ownerEmail: "ui@example.com" }]);
  await api(base, "POST", "/metadata/workflow?overwrite=true", {
    name: "ui_q", version: 1, schemaVersion: 2, ownerEmail: "ui@example.com",
    tasks: [{ name: "ui_q_task", taskReferenceName: "q", type: "SIMPLE" }],
  });
  const start = (domain) => api(base, "POST", "/workflow", { name: "ui_q", version: 1, input: {}, ...(domain ? { taskToDomain: { ui_q_task: domain } } : {}) });
  for (let i = 0; i < 3; i++) await start();
  await start("blue");
  // A worker polls the blue domain and takes its one task.
  const taken = await waitFor(() => api(base, "GET", "/tasks/poll/ui_q_task?workerid=q-worker-1&domain=blue"), "the blue task");
  assert.ok(taken.taskId);

  const p = await page();
  await p.goto(base + "/queues");
  const row = (q) => p.locator(`table.queues tr[data-queue="${q}"]`);
  await row("ui_q_task/DEFAULT").locator('td[data-label="Waiting"]').getByText("3", { exact: true }).waitFor();
  await row("ui_q_task/blue").locator('td[data-label="Waiting"]').getByText("0", { exact: true }).waitFor();
  await row("ui_q_task/blue").locator('td[data-label="Polled by"]').getByText("q-worker-1").waitFor();
  await row("ui_q_task/blue").locator('td[data-label="Last poll"]').getByText(/s ago/).waitFor();
  const worker = p.locator("table.workers tbody tr", { hasText: "q-worker-1" });
  await worker.locator('td[data-label="Task types"]').getByText("ui_q_task").waitFor();
  await worker.locator('td[data-label="Domain"]').getByText("blue").waitFor();
  await worker.locator('td[data-label="In flight"]').getByText("1", { exact: true }).waitFor();
  await p.getByRole("status", { name: "Refresh" }).getByText(/every 2 s/).waitFor();
  await p.screenshot({ path: join(results, "queues.png"), fullPage: true });

  // Without a reload: two more runs show in the default queue's depth.
  await start();
  await start();
  await row("ui_q_task/DEFAULT").locator('td[data-label="Waiting"]').getByText("5", { exact: true }).waitFor();
  // The filter keeps the matching rows.
  await p.getByLabel("Filter").fill("blue");
  await row("ui_q_task/DEFAULT").waitFor({ state: "detached" });
  await row("ui_q_task/blue").waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("schedules: create with a live preview, list, pause and resume, run now, delete", async () => {
  const p = await page();
  await p.goto(base + "/schedules");
  await p.getByRole("table", { name: "Schedules" }).getByText("No schedules.").waitFor();
  await p.getByRole("link", { name: "New schedule" }).click();
  await p.waitForURL(/\/schedules\/new$/);
  await p.getByLabel("Name", { exact: true }).fill("ui_hourly");
  const preview = p.getByRole("complementary", { name: "Next fire times" });
  // A broken expression: the server's reason shows in the preview.
  await p.getByLabel("Cron expression").fill("not a cron");
  await preview.getByRole("alert").getByText(/cronExpression/).waitFor();
  // A good one in a zone: five times, each on the hour of that zone, as the server computes them.
  await p.getByLabel("Cron expression").fill("0 30 9 * * ?");
  await p.getByLabel("Zone").fill("Asia/Kolkata");
  const expected = await api(base, "GET", "/scheduler/nextFewSchedules?cronExpression=" + encodeURIComponent("0 30 9 * * ?") + "&zoneId=Asia/Kolkata&limit=5");
  await p.waitForFunction(() => {
    const items = [...document.querySelectorAll('[aria-label="Next fire times"] li')].map((e) => e.textContent);
    return items.length === 5 && items.every((t) => / 09:30:00 Asia\/Kolkata/.test(t));
  });
  assert.equal(expected.length, 5);
  await p.getByLabel("Workflow name").fill("ui_simple");
  await p.getByLabel("Workflow input").click();
  await p.keyboard.press("ControlOrMeta+a");
  await p.keyboard.type('{"from": "schedule", "keep": [1, 2]}');
  await p.getByLabel("Overlap policy").selectOption("ALLOW_ALL");
  await p.screenshot({ path: join(results, "schedule-new.png"), fullPage: true });
  await p.getByRole("button", { name: "Create" }).click();

  await p.waitForURL(/\/schedules\/ui_hourly$/);
  await p.locator("#schd-title").getByText("RUNNING").waitFor();
  const saved = await api(base, "GET", "/scheduler/schedules/ui_hourly");
  assert.equal(saved.cronExpression, "0 30 9 * * ?");
  assert.equal(saved.zoneId, "Asia/Kolkata");
  assert.equal(saved.overlapPolicy, "ALLOW_ALL");
  assert.deepEqual(saved.startWorkflowRequest.input, { from: "schedule", keep: [1, 2] });
  await p.getByRole("list", { name: "Next slots" }).getByText(inZoneText(expected[0])).waitFor();

  // Pause and resume.
  const actions = p.getByRole("toolbar", { name: "Schedule actions" });
  await actions.getByRole("button", { name: "Pause" }).click();
  await p.locator("#schd-title").getByText("PAUSED").waitFor();
  assert.equal((await api(base, "GET", "/scheduler/schedules/ui_hourly")).paused, true);
  await p.getByText("None while paused.").waitFor();
  await actions.getByRole("button", { name: "Resume" }).click();
  await p.locator("#schd-title").getByText("RUNNING").waitFor();
  assert.equal((await api(base, "GET", "/scheduler/schedules/ui_hourly")).paused, false);

  // Run now: the run started shows in the history with a link to it.
  await actions.getByRole("button", { name: "Run now" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Run now" }).click();
  const started = await p.getByRole("status").filter({ hasText: /^Started / }).textContent();
  const runId = /Started (\S+)\./.exec(started)[1];
  const history = p.getByRole("table", { name: "Schedule history" });
  await history.getByRole("link", { name: runId }).waitFor();
  assert.equal((await api(base, "GET", `/workflow/${runId}`)).input.from, "schedule");
  await p.screenshot({ path: join(results, "schedule.png"), fullPage: true });

  // The list shows it with its state and next run.
  await p.goto(base + "/schedules");
  const row = p.locator('tr[data-schedule="ui_hourly"]');
  await row.getByText("RUNNING").waitFor();
  await row.locator('td[data-label="Next run"]').getByText(/09:30:00 Asia\/Kolkata/).waitFor();
  await p.screenshot({ path: join(results, "schedules.png") });

  // Edit keeps what the form does not show; delete asks first.
  await api(base, "POST", "/scheduler/schedules", { ...saved, runCatchupScheduleInstances: true, createdBy: "ops", description: "before", startWorkflowRequest: { ...saved.startWorkflowRequest, taskToDomain: { ui_task_a: "blue" } } });
  await p.goto(base + "/schedules/ui_hourly/edit");
  await p.getByLabel("Description").fill("after");
  await p.getByRole("button", { name: "Save" }).click();
  await p.waitForURL(/\/schedules\/ui_hourly$/);
  await waitFor(async () => (await api(base, "GET", "/scheduler/schedules/ui_hourly")).description === "after", "the edit");
  const edited = await api(base, "GET", "/scheduler/schedules/ui_hourly");
  assert.equal(edited.runCatchupScheduleInstances, true);
  assert.equal(edited.createdBy, "ops");
  assert.deepEqual(edited.startWorkflowRequest.taskToDomain, { ui_task_a: "blue" });
  assert.equal(edited.cronExpression, "0 30 9 * * ?");
  await p.getByRole("toolbar", { name: "Schedule actions" }).getByRole("button", { name: "Delete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await p.waitForURL(/\/schedules$/);
  await p.getByText("No schedules.").waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

/** How the pages write a time of Asia/Kolkata. */
function inZoneText(ms) {
  const f = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Kolkata", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const q = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${q.year}-${q.month}-${q.day} ${q.hour}:${q.minute}:${q.second} Asia/Kolkata`;
}

/** Replaces the text of the CodeMirror editor labelled `label`. */
async function setEditor(p, label, text) {
  const ed = p.getByLabel(label);
  await ed.click();
  await p.keyboard.press("ControlOrMeta+a");
  await p.keyboard.press("Delete");
  await p.keyboard.insertText(text);
  await p.waitForFunction(
    ([l, t]) => document.querySelector(`[aria-label="${l}"]`)?.cmView?.view.state.doc.toString() === t || document.querySelector(`[aria-label="${l}"]`)?.textContent.replace(/\s/g, "") === t.replace(/\s/g, ""),
    [label, text],
  );
}

test("workflow definitions: create from JSON, a broken one's problems, save as a new version, overwrite", async () => {
  const p = await page();
  await p.goto(base + "/definitions");
  await p.getByRole("link", { name: "New definition" }).click();
  await p.waitForURL(/\/definitions\/new$/);
  const actions = p.getByRole("toolbar", { name: "Definition actions" });
  const problems = p.getByRole("alert", { name: "Problems" });

  // Not JSON: said before anything is sent.
  await setEditor(p, "Workflow definition JSON", '{"name": "ui_edit",');
  await actions.getByRole("button", { name: "Validate" }).click();
  await problems.getByText(/Not valid JSON/).waitFor();
  // A SWITCH without its reference, evaluator and expression: each problem the server finds.
  await setEditor(p, "Workflow definition JSON", '{"name": "ui_edit", "version": 1, "tasks": [{"name": "pick", "type": "SWITCH"}]}');
  await actions.getByRole("button", { name: "Validate" }).click();
  await problems.getByText("$.tasks[0].taskReferenceName: taskReferenceName is required").waitFor();
  await problems.getByText(/evaluatorType/).waitFor();
  await p.screenshot({ path: join(results, "definition-problems.png") });
  // Creating it fails the same way and stores nothing.
  await actions.getByRole("button", { name: "Create" }).click();
  await problems.getByText(/taskReferenceName is required/).waitFor();
  assert.equal((await fetch(base + "/api/metadata/workflow/ui_edit")).status, 404);

  // A valid one with fields Baton does not know: kept as written.
  const def = '{"name": "ui_edit", "version": 1, "description": "first", "x_custom": {"keep": [1, "a", {"deep": true}]}, "tasks": [{"name": "ui_task_a", "taskReferenceName": "only", "type": "SIMPLE", "x_task": "t"}]}';
  await setEditor(p, "Workflow definition JSON", def);
  await actions.getByRole("button", { name: "Validate" }).click();
  await actions.getByRole("status").getByText("Valid.").waitFor();
  await actions.getByRole("button", { name: "Create" }).click();
  await p.waitForURL(/\/definitions\/ui_edit\/1$/);
  await p.locator('.diagram[data-ready="true"] .gnode[data-node="only"]').waitFor();
  const v1 = await api(base, "GET", "/metadata/workflow/ui_edit?version=1");
  assert.deepEqual(v1.x_custom, { keep: [1, "a", { deep: true }] });
  assert.equal(v1.tasks[0].x_task, "t");

  // Edit: change the description, save as a new version; the version list shows it.
  await p.getByRole("tab", { name: "Edit" }).click();
  const editor = p.getByLabel("Workflow definition JSON");
  await editor.getByText('"first"').waitFor();
  await editor.getByText('"first"').dblclick(); // selects the word first
  await p.keyboard.insertText("second");
  await editor.getByText('"second"').waitFor();
  // Leaving with unsaved changes asks first; staying keeps them.
  await p.getByRole("tab", { name: "Diagram" }).click();
  await p.getByRole("dialog", { name: "Leave without saving?" }).getByRole("button", { name: "Cancel" }).click();
  await p.getByRole("dialog").waitFor({ state: "detached" });
  assert.match(p.url(), /tab=edit/);
  await editor.getByText('"second"').waitFor();
  await actions.getByRole("button", { name: "Save as new version" }).click();
  await p.waitForURL(/\/definitions\/ui_edit\/2$/);
  await p.getByRole("combobox", { name: "Version" }).locator('option[value="2"]').waitFor({ state: "attached" });
  assert.deepEqual(await p.getByRole("combobox", { name: "Version" }).locator("option").allTextContents(), ["v2", "v1"]);
  await p.getByText("second").first().waitFor();
  const v2 = await api(base, "GET", "/metadata/workflow/ui_edit?version=2");
  assert.equal(v2.description, "second");
  assert.deepEqual(v2.x_custom, { keep: [1, "a", { deep: true }] });
  assert.equal((await api(base, "GET", "/metadata/workflow/ui_edit?version=1")).description, "first");

  // Overwrite v2 in place, after a confirmation.
  await p.getByRole("tab", { name: "Edit" }).click();
  await editor.getByText('"second"').dblclick();
  await p.keyboard.insertText("third");
  await actions.getByRole("button", { name: "Overwrite v2" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Overwrite" }).click();
  await p.getByRole("dialog").waitFor({ state: "detached" });
  await waitFor(async () => (await api(base, "GET", "/metadata/workflow/ui_edit?version=2")).description === "third", "the overwrite");
  await p.getByText("third").first().waitFor();
  // Discarding unsaved changes when leaving.
  await p.getByRole("tab", { name: "Edit" }).click();
  await editor.getByText('"third"').dblclick();
  await p.keyboard.insertText("fourth");
  await p.getByRole("link", { name: "Definitions" }).first().click();
  await p.getByRole("dialog", { name: "Leave without saving?" }).getByRole("button", { name: "Discard changes" }).click();
  await p.waitForURL(/\/definitions$/);
  assert.equal((await api(base, "GET", "/metadata/workflow/ui_edit?version=2")).description, "third");
  assert.deepEqual((await api(base, "GET", "/metadata/workflow/names-and-versions")).ui_edit.map((v) => v.version).sort(), [1, 2]);
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("task definitions: create from JSON and edit, unknown fields kept", async () => {
  const p = await page();
  await p.goto(base + "/taskdefs");
  await p.getByRole("link", { name: "New task definition" }).click();
  await p.waitForURL(/\/taskdefs\/new$/);
  const actions = p.getByRole("toolbar", { name: "Definition actions" });
  await setEditor(p, "Task definition JSON", '{"name": "ui_edit_task", "retryCount": 2, "responseTimeoutSeconds": 30, "x_custom": {"a": [1, 2]}}');
  await actions.getByRole("button", { name: "Create" }).click();
  await p.waitForURL(/\/taskdefs\/ui_edit_task$/);
  await p.locator("#tdv-title").getByText("ui_edit_task").waitFor();
  assert.deepEqual((await api(base, "GET", "/metadata/taskdefs/ui_edit_task")).x_custom, { a: [1, 2] });

  await p.getByRole("tab", { name: "Edit" }).click();
  const editor = p.getByLabel("Task definition JSON");
  await editor.getByText('"retryCount"').waitFor();
  await editor.locator(".cm-line", { hasText: '"retryCount"' }).getByText("2").dblclick();
  await p.keyboard.insertText("5");
  await actions.getByRole("button", { name: "Save" }).click();
  await p.getByRole("tab", { name: "Details", selected: true }).waitFor();
  await waitFor(async () => (await api(base, "GET", "/metadata/taskdefs/ui_edit_task")).retryCount === 5, "the edit");
  const saved = await api(base, "GET", "/metadata/taskdefs/ui_edit_task");
  assert.deepEqual(saved.x_custom, { a: [1, 2] });
  await p.getByText(/^5 ·/).waitFor();
  await p.screenshot({ path: join(results, "taskdef.png") });
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("the queues page stops reading while the tab is hidden", async () => {
  const p = await page();
  // The page's timers run on a virtual clock, moved on by the test.
  await p.clock.install();
  await p.goto(base + "/queues");
  const refresh = p.getByRole("status", { name: "Refresh" });
  await refresh.getByText(/every 2 s/).waitFor();
  let reads = 0;
  p.on("request", (r) => {
    if (new URL(r.url()).pathname.startsWith("/api/")) reads++;
  });
  const setHidden = (hidden) =>
    p.evaluate((h) => {
      Object.defineProperty(document, "hidden", { value: h, configurable: true });
      Object.defineProperty(document, "visibilityState", { value: h ? "hidden" : "visible", configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  await setHidden(true);
  await refresh.getByText("Paused while this tab is hidden").waitFor();
  const before = reads;
  // Two refresh periods and more pass on the page's clock at once.
  await p.clock.runFor(4500);
  assert.equal(reads, before, "read while hidden");
  await setHidden(false);
  await refresh.getByText(/every 2 s/).waitFor();
  await waitFor(async () => reads > before, "a read once visible again");
  await p.context().close();
});

test("screenshots of the new pages: phone and dark", async () => {
  await api(base, "POST", "/scheduler/schedules", {
    name: "ui_shot", cronExpression: "*/15 * * * *", zoneId: "Europe/Paris", overlapPolicy: "SKIP",
    startWorkflowRequest: { name: "ui_simple", version: 1, input: { shot: true } },
  });
  for (const [name, width, height] of [["desktop", 1366, 768], ["phone", 390, 844]]) {
    const p = await page({ width, height, scheme: "dark" });
    await p.goto(base + "/queues");
    await p.locator("table.queues tbody tr").first().waitFor();
    await p.screenshot({ path: join(results, `queues-${name}-dark.png`), fullPage: true });
    await p.goto(base + "/schedules");
    await p.locator('tr[data-schedule="ui_shot"]').waitFor();
    await p.screenshot({ path: join(results, `schedules-${name}-dark.png`) });
    await p.goto(base + "/schedules/ui_shot/edit");
    await p.waitForFunction(() => document.querySelectorAll('[aria-label="Next fire times"] li').length === 5);
    await p.screenshot({ path: join(results, `schedule-edit-${name}-dark.png`), fullPage: true });
    await p.goto(base + "/definitions/ui_simple/1?tab=edit");
    await p.getByLabel("Workflow definition JSON").getByText('"ui_simple"').waitFor();
    await p.screenshot({ path: join(results, `definition-edit-${name}-dark.png`) });
    assert.deepEqual(p.errors, []);
    await p.context().close();
  }
});
