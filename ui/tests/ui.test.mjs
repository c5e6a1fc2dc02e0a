// Browser tests of the web UI against a real server, seeded through the HTTP API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { browserSuite, results } from "./harness.mjs";
import { seed, api, waitFor } from "./seed.mjs";

let ids, base;
const measurements = {};

const suite = browserSuite(
  async (b) => {
    base = b;
    ids = await seed(base);
  },
  () => writeFileSync(join(results, "measurements.json"), JSON.stringify(measurements, null, 2) + "\n"),
);
const page = (o = {}) => suite.page(o);

const rows = (p) => p.locator("table.executions tbody tr:has(td.sel)");
const statusCells = (p) => p.locator('table.executions tbody td[data-label="Status"]');
const idCells = (p) => p.locator('table.executions tbody td[data-label="Id"]');
/** Waits until the page shows the results of the search in its URL. */
const settled = (p) => p.waitForFunction(() => document.querySelector(".table-wrap")?.getAttribute("aria-busy") === "false");
const count = (p) => p.getByTestId("result-count");

async function getWf(id) {
  return api(base, "GET", `/workflow/${id}?includeTasks=true`);
}

test("the executions page loads and lists runs (load time measured)", async () => {
  // Navigation start to the first frame with the table's rows, by the page's own clock: once
  // in the browser's first page (cold), then in fresh contexts (no cache) a few times.
  const firstRender = async (p, path, rowCount = 1) => {
    await p.goto(base + path, { waitUntil: "commit" });
    const h = await p.waitForFunction(
      (n) => document.querySelectorAll("table.executions tbody tr td.sel").length >= n && Math.round(performance.now()),
      rowCount,
      { polling: "raf" },
    );
    return h.jsonValue();
  };
  let p = await page();
  measurements.executionsFirstRenderColdMs = await firstRender(p, "/executions");
  await p.context().close();
  const warm = [];
  for (let i = 0; i < 5; i++) {
    p = await page();
    warm.push(await firstRender(p, "/executions"));
    if (i < 4) await p.context().close();
  }
  measurements.executionsFirstRenderMs = warm.sort((a, b) => a - b)[2]; // median of 5
  measurements.executionsFirstRenderRunsMs = warm;
  const nav = await p.evaluate(() => {
    const e = performance.getEntriesByType("navigation")[0];
    return { domContentLoaded: Math.round(e.domContentLoadedEventEnd), load: Math.round(e.loadEventEnd) };
  });
  measurements.executionsNavigationTiming = nav;
  await settled(p);
  const total = ids.simple.completed.length + ids.simple.failed.length + ids.simple.running.length + 2 + 2 + 2; // + 2 child runs, the dynamic and the loop runs
  await p.getByText(new RegExp(`of ${total}$`)).waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("status, name, correlation id and raw query filters change the results and the URL", async () => {
  const p = await page();
  await p.goto(base + "/executions");
  await rows(p).first().waitFor();
  await p.locator(".chip", { hasText: "FAILED" }).first().click();
  await p.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/status=FAILED/);
  await settled(p);
  await count(p).getByText(`of ${ids.simple.failed.length + 1}`).waitFor(); // + the dynamic run
  const st = await statusCells(p).allTextContents();
  assert.ok(st.length > 0 && st.every((s) => s === "FAILED"), st.join(","));

  await p.getByRole("button", { name: "Reset" }).click();
  await p.getByLabel("Workflow names").fill("ui_order");
  await p.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/names=ui_order/);
  await count(p).getByText("of 2").waitFor();

  await p.getByLabel("Workflow names").fill("");
  await p.getByLabel("Correlation id").fill("corr-express");
  await p.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/cid=corr-express/);
  // The child run carries its parent's correlation id too.
  await p.waitForFunction((id) => {
    const cids = [...document.querySelectorAll('td[data-label="Correlation"]')].map((e) => e.textContent);
    const ids = [...document.querySelectorAll('td[data-label="Id"]')].map((e) => e.textContent);
    return cids.length > 0 && cids.every((c) => c === "corr-express") && ids.includes(id);
  }, ids.order.express);

  await p.getByRole("button", { name: "Reset" }).click();
  await p.getByLabel(/^Query/).fill("correlationId = 'corr-simple-3'");
  await p.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/query=/);
  await count(p).getByText("1–1 of 1").waitFor();
  assert.equal((await p.locator('td[data-label="Correlation"]').allTextContents())[0], "corr-simple-3");

  // The URL alone reproduces the search.
  await p.goto(base + "/executions?status=COMPLETED&names=ui_simple");
  await count(p).getByText(`of ${ids.simple.completed.length}`).waitFor();
  assert.ok((await statusCells(p).allTextContents()).every((s) => s === "COMPLETED"));
  assert.equal(await p.getByRole("checkbox", { name: "COMPLETED" }).isChecked(), true);
  await p.context().close();
});

test("sorting by a column header orders the rows and is kept in the URL", async () => {
  const p = await page();
  await p.goto(base + "/executions?size=50");
  await rows(p).first().waitFor();
  await p.getByRole("button", { name: "Workflow id" }).click();
  await p.waitForURL(/sort=workflowId%3AASC|sort=workflowId:ASC/);
  await settled(p);
  await p.waitForFunction(() => {
    const ids = [...document.querySelectorAll('td[data-label="Id"]')].map((e) => e.textContent);
    return ids.length > 1 && ids.every((x, i) => i === 0 || ids[i - 1] <= x);
  });
  assert.equal(await p.locator("th[aria-sort]").getAttribute("aria-sort"), "ascending");
  await p.getByRole("button", { name: "Workflow id" }).click();
  await p.waitForURL(/workflowId(%3A|:)DESC/);
  await p.waitForFunction(() => {
    const ids = [...document.querySelectorAll('td[data-label="Id"]')].map((e) => e.textContent);
    return ids.length > 1 && ids.every((x, i) => i === 0 || ids[i - 1] >= x);
  });
  await p.context().close();
});

test("paging moves through the results", async () => {
  const p = await page();
  await p.goto(base + "/executions?size=10&sort=workflowId:ASC");
  await rows(p).first().waitFor();
  await count(p).getByText(/^1–10 of/).waitFor();
  const first = await idCells(p).allTextContents();
  assert.equal(first.length, 10);
  await p.getByRole("button", { name: "Next ›" }).click();
  await p.waitForURL(/start=10/);
  await count(p).getByText(/^11–20 of/).waitFor();
  await p.waitForFunction((prev) => {
    const ids = [...document.querySelectorAll('td[data-label="Id"]')].map((e) => e.textContent);
    return ids.length === 10 && ids[0] > prev;
  }, first[9]);
  await p.getByRole("button", { name: "‹ Previous" }).click();
  await count(p).getByText(/^1–10 of/).waitFor();
  await p.context().close();
});

test("a bulk pause shows each outcome and pauses the runs", async () => {
  const p = await page();
  const [a, b] = ids.simple.running;
  await p.goto(base + `/executions?query=${encodeURIComponent(`workflowId IN (${a},${b})`)}`);
  await count(p).getByText("of 2").waitFor();
  await p.getByLabel("Select all on this page").check();
  await p.getByRole("toolbar", { name: "Bulk actions" }).getByRole("button", { name: "Pause" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Pause" }).click();
  const outcome = p.getByRole("status", { name: "Bulk outcome" });
  await outcome.getByText("Pause: 2 succeeded, 0 failed").waitFor();
  await outcome.getByRole("link", { name: a }).waitFor();
  assert.equal((await getWf(a)).status, "PAUSED");
  assert.equal((await getWf(b)).status, "PAUSED");
  // Resume again, one already running shows as a failure or a success, but shows.
  await p.getByLabel("Select all on this page").check();
  await p.getByRole("toolbar", { name: "Bulk actions" }).getByRole("button", { name: "Resume" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Resume" }).click();
  await outcome.getByText(/^Resume: 2 succeeded/).waitFor();
  assert.equal((await getWf(a)).status, "RUNNING");
  await p.context().close();
});

test("the execution diagram shows the SWITCH case taken, node statuses and loop iterations", async () => {
  const p = await page();
  await p.goto(base + `/execution/${ids.order.express}`);
  const diagram = p.locator('.diagram[data-ready="true"]');
  await diagram.waitFor();
  const node = (id) => p.locator(`.gnode[data-node="${id}"]`);
  await node("ship_express").waitFor();
  assert.equal(await node("prepare").getAttribute("data-status"), "COMPLETED");
  assert.equal(await node("route").getAttribute("data-status"), "COMPLETED");
  assert.equal(await node("ship_express").getAttribute("data-status"), "COMPLETED");
  assert.equal(await node("ship_standard").getAttribute("data-status"), "NOT_REACHED");
  assert.equal(await node("ship_other").getAttribute("data-status"), "NOT_REACHED");
  assert.equal(await node("fan_join").getAttribute("data-status"), "COMPLETED");
  assert.equal(await node("approve").getAttribute("data-status"), "IN_PROGRESS");
  assert.equal(await node("child").getAttribute("data-status"), "COMPLETED");
  // The taken case's edge is drawn as taken; the others are not.
  await p.locator(".react-flow__edge.taken", { hasText: "express" }).waitFor();
  assert.equal(await p.locator(".react-flow__edge.skipped", { hasText: "standard" }).count(), 1);
  // DO_WHILE: two iterations, browsable one by one. The diagram opens at a readable zoom from
  // its top; its "fit view" control brings the loop into sight first.
  await p.getByRole("button", { name: "Fit View" }).click();
  await node("pack").getByText("iteration 2 / 2").waitFor();
  await node("pack").getByRole("button", { name: "Previous iteration" }).click();
  await node("pack").getByText("iteration 1 / 2").waitFor();
  await p.waitForURL(/it=pack(%3A|:)1/);
  await node("pack_box").getByRole("button").click();
  const panel = p.getByRole("complementary", { name: "Task pack_box" });
  await panel.getByText("pack_box__1").first().waitFor();
  // The sub-workflow links to its child run (the page afresh: the panel has moved the view).
  await p.goto(base + `/execution/${ids.order.express}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  await p.getByRole("button", { name: "Fit View" }).click();
  const childId = (await getWf(ids.order.express)).tasks.find((t) => t.referenceTaskName === "child").subWorkflowId;
  await node("child").getByRole("link", { name: /open child run/ }).click();
  await p.waitForURL(new RegExp(`/execution/${childId}`));
  await p.locator('.gnode[data-node="child_step"][data-status="COMPLETED"]').waitFor();
  await p.getByRole("link", { name: ids.order.express }).waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("a dynamic fork shows the branches it spawned, and a TERMINATE task ends the run", async () => {
  const p = await page();
  await p.goto(base + `/execution/${ids.dynamic}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  const node = (id) => p.locator(`.gnode[data-node="${id}"]`);
  for (const r of ["d1", "d2", "d3"]) {
    await node(r).waitFor();
    assert.equal(await node(r).getAttribute("data-status"), "COMPLETED");
  }
  assert.equal(await node("spread_join").getAttribute("data-status"), "COMPLETED");
  assert.equal(await node("end_now").getAttribute("data-status"), "COMPLETED");
  assert.match(await node("end_now").getAttribute("class"), /k-terminate/);
  assert.equal(await node("after").getAttribute("data-status"), "NOT_REACHED");
  assert.equal(await node("__end").getAttribute("data-status"), "FAILED");
  await p.locator("h1").getByText("FAILED").waitFor();
  await p.screenshot({ path: join(results, "execution-dynamic-desktop-light.png") });
  await p.context().close();
});

test("a SWITCH inside a DO_WHILE shows the case each iteration took", async () => {
  const p = await page();
  await p.goto(base + `/execution/${ids.loopSwitch}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  const node = (id) => p.locator(`.gnode[data-node="${id}"]`);
  await node("rounds").getByText("iteration 3 / 3").waitFor();
  const check = async (iter, taken, other) => {
    await node("rounds").getByText(`iteration ${iter} / 3`).waitFor();
    await p.locator(`.gnode[data-node="${taken}"][data-status="COMPLETED"]`).waitFor();
    assert.equal(await node(other).getAttribute("data-status"), "NOT_REACHED");
  };
  await check(3, "on_odd", "on_even");
  await node("rounds").getByRole("button", { name: "Previous iteration" }).click();
  await check(2, "on_even", "on_odd");
  await node("rounds").getByRole("button", { name: "Previous iteration" }).click();
  await check(1, "on_odd", "on_even");
  await node("on_odd").getByRole("button").click();
  await p.getByRole("complementary", { name: "Task on_odd" }).getByText("on_odd__1").first().waitFor();
  await p.screenshot({ path: join(results, "execution-loop-switch-desktop-light.png") });
  await p.context().close();
});

test("the task panel shows a task's output and logs", async () => {
  const p = await page();
  await p.goto(base + `/execution/${ids.order.express}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  await p.getByRole("button", { name: /^Task ship_express/ }).click();
  await p.waitForURL(/task=ship_express/);
  const panel = p.getByRole("complementary", { name: "Task ship_express" });
  await panel.getByText("ui-seed-worker").waitFor();
  await panel.getByRole("tab", { name: "Output" }).click();
  await panel.locator(".cm-content").getByText('"ship_express"').waitFor();
  await panel.getByRole("tab", { name: "Logs" }).click();
  await panel.getByText("worked on ship_express").waitFor();
  // The timeline has a bar per task of the run.
  await p.getByRole("tab", { name: "Timeline" }).click();
  await p.waitForURL(/tab=timeline/);
  const tasks = (await getWf(ids.order.express)).tasks.length;
  assert.equal(await p.getByRole("list", { name: "Timeline of tasks" }).getByRole("listitem").count(), tasks);
  await p.screenshot({ path: join(results, "execution-timeline-desktop-light.png") });
  await p.context().close();
});

test("a waiting WAIT task is completed from its panel, with an output", async () => {
  const p = await page();
  // A fresh run of the order flow, driven to its WAIT task.
  const id = await api(base, "POST", "/workflow", { name: "ui_order", version: 1, input: { kind: "standard" } });
  const { work } = await import("./seed.mjs");
  await waitFor(async () => {
    for (const t of ["ui_task_a", "ui_task_b", "ui_task_c"]) while (await work(base, t)) {}
    const w = await getWf(id);
    return w.tasks.some((t) => t.referenceTaskName === "approve" && t.status === "IN_PROGRESS");
  }, "the run to reach its WAIT task", 30000);
  await p.goto(base + `/execution/${id}?task=approve`);
  const panel = p.getByRole("complementary", { name: "Task approve" });
  await panel.getByRole("tab", { name: "Actions" }).click();
  const editor = panel.getByRole("textbox", { name: "Output to set" });
  await editor.click();
  await p.keyboard.press("Control+a");
  await p.keyboard.type('{"approvedBy": "ui-test"}');
  await panel.getByRole("button", { name: "Complete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await panel.getByText("approve marked COMPLETED").waitFor();
  await waitFor(async () => (await getWf(id)).status === "COMPLETED", "the run to complete");
  const w = await getWf(id);
  assert.equal(w.tasks.find((t) => t.referenceTaskName === "approve").outputData.approvedBy, "ui-test");
  // The page stops refreshing by itself and shows the end state.
  await p.locator("h1").getByText("COMPLETED").waitFor();
  await p.context().close();
});

test("terminate from the execution page makes the run TERMINATED", async () => {
  const p = await page();
  // A run of its own: other tests' workers may have completed the seeded ones.
  const id = await api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input: { terminate: true } });
  await p.goto(base + `/execution/${id}`);
  await p.getByRole("toolbar", { name: "Execution actions" }).getByRole("button", { name: "Terminate" }).click();
  const dialog = p.getByRole("dialog");
  await dialog.getByLabel("Reason").fill("stopped from the UI test");
  await dialog.getByRole("button", { name: "Terminate" }).click();
  await p.locator("h1").getByText("TERMINATED").waitFor();
  const w = await getWf(id);
  assert.equal(w.status, "TERMINATED");
  assert.match(w.reasonForIncompletion ?? "", /stopped from the UI test/);
  await p.context().close();
});

test("retry from the execution page runs a failed run again", async () => {
  const p = await page();
  const id = ids.simple.failed[0];
  await p.goto(base + `/execution/${id}`);
  await p.locator("h1").getByText("FAILED").waitFor();
  await p.getByRole("toolbar", { name: "Execution actions" }).getByRole("button", { name: "Retry" }).click();
  const dialog = p.getByRole("dialog");
  await dialog.getByLabel("Resume sub-workflow tasks").check();
  await dialog.getByRole("button", { name: "Retry" }).click();
  await p.locator("h1").getByText("RUNNING").waitFor();
  assert.equal((await getWf(id)).status, "RUNNING");
  // The retried task shows as a second attempt in its panel.
  await p.goto(base + `/execution/${id}?task=only`);
  const panel = p.getByRole("complementary", { name: "Task only" });
  await panel.getByRole("tab", { name: "Attempts (2)" }).click();
  assert.equal(await panel.locator("tbody tr").count(), 2);
  await p.context().close();
});

test("skip a task, and rerun a finished run from a task with new input, from the task panel", async () => {
  const p = await page();
  const id = await api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input: { skip: true } });
  await p.goto(base + `/execution/${id}?task=only`);
  let panel = p.getByRole("complementary", { name: "Task only" });
  await panel.getByRole("tab", { name: "Actions" }).click();
  await panel.getByRole("button", { name: "Skip this task" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await panel.getByText("only skipped.").waitFor();
  await waitFor(async () => (await getWf(id)).tasks[0].status === "SKIPPED", "the task to be skipped");
  await p.locator('.gnode[data-node="only"][data-status="SKIPPED"]').waitFor();

  const done = ids.simple.completed[1];
  await p.goto(base + `/execution/${done}?task=only`);
  panel = p.getByRole("complementary", { name: "Task only" });
  await panel.getByRole("tab", { name: "Actions" }).click();
  await panel.getByRole("textbox", { name: "New task input" }).click();
  await p.keyboard.press("Control+a");
  await p.keyboard.type('{"again": 7}');
  await panel.getByRole("button", { name: "Rerun from here" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
  await p.locator("h1").getByText("RUNNING").waitFor();
  const w = await getWf(done);
  assert.equal(w.status, "RUNNING");
  assert.equal(w.tasks.find((t) => t.referenceTaskName === "only").inputData.again, 7);
  await p.context().close();
});

test("workflow and task definition pages render", async () => {
  const p = await page();
  await p.goto(base + "/definitions");
  await p.getByRole("link", { name: "ui_order" }).click();
  await p.waitForURL(/\/definitions\/ui_order\/1/);
  await p.locator('.diagram[data-ready="true"] .gnode[data-node="route"]').waitFor();
  await p.locator('.gnode[data-node="pack"]').waitFor();
  assert.equal(await p.locator('.gnode[data-node="ship_standard"]').count(), 1);
  await p.getByRole("button", { name: /^Task route/ }).click();
  await p.getByRole("complementary", { name: "Task route" }).getByText('"decisionCases"').waitFor();
  await p.getByRole("tab", { name: "JSON" }).click();
  await p.waitForURL(/tab=json/);
  await p.locator(".cm-content").getByText('"ui_order"').first().waitFor();

  await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Task definitions" }).click();
  await p.getByRole("link", { name: "ui_task_b" }).click();
  await p.waitForURL(/\/taskdefs\/ui_task_b/);
  await p.locator(".cm-content").getByText('"UI test task ui_task_b"').waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("keyboard: skip link, diagram nodes and tabs work without a mouse", async () => {
  const p = await page();
  await p.goto(base + `/execution/${ids.order.express}`);
  await p.locator('.diagram[data-ready="true"]').waitFor();
  await p.keyboard.press("Tab");
  assert.equal(await p.evaluate(() => document.activeElement?.textContent), "Skip to content");
  await p.getByRole("button", { name: /^Task prepare/ }).focus();
  await p.keyboard.press("Enter");
  const panel = p.getByRole("complementary", { name: "Task prepare" });
  await panel.waitFor();
  await panel.getByRole("tab", { name: "Summary" }).focus();
  await p.keyboard.press("ArrowRight");
  assert.equal(await panel.getByRole("tab", { name: "Input" }).getAttribute("aria-selected"), "true");
  await panel.locator(".cm-content").getByText('"express"').waitFor();
  // A confirmation dialog closes with Escape and changes nothing.
  await p.getByRole("toolbar", { name: "Execution actions" }).getByRole("button", { name: "Pause" }).click();
  await p.getByRole("dialog").waitFor();
  await p.keyboard.press("Escape");
  await p.getByRole("dialog").waitFor({ state: "detached" });
  assert.equal((await getWf(ids.order.express)).status, "RUNNING");
  await p.context().close();
});

test("a page of 100 executions renders (time measured)", async () => {
  for (let i = 0; i < 100; i++) await api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input: { bulk: i } });
  await waitFor(async () => (await api(base, "GET", "/workflow/search?size=0")).totalHits >= 128, "runs to be indexed");
  const p = await page();
  await p.goto(base + "/executions?size=100", { waitUntil: "commit" });
  const h = await p.waitForFunction(
    () => document.querySelectorAll("table.executions tbody tr td.sel").length === 100 && Math.round(performance.now()),
    null,
    { polling: "raf" },
  );
  measurements.page100FirstRenderMs = await h.jsonValue();
  // Client-side: from the page-size change to 100 rows drawn.
  await p.goto(base + "/executions?size=10");
  await count(p).getByText(/^1–10 of/).waitFor();
  const t1 = Date.now();
  await p.getByRole("combobox", { name: "Per page" }).selectOption("100");
  await p.waitForFunction(() => document.querySelectorAll("table.executions tbody tr td.sel").length === 100);
  measurements.page100FromSizeChangeMs = Date.now() - t1;
  const renderMs = await p.evaluate(async () => {
    const s = performance.now();
    document.querySelector("table.executions").getBoundingClientRect();
    return performance.now() - s;
  });
  measurements.page100LayoutMs = Math.round(renderMs * 10) / 10;
  await p.context().close();
});

test("screenshots: desktop and phone, light and dark", async () => {
  const views = [
    ["desktop", 1366, 768],
    ["phone", 390, 844],
  ];
  for (const [name, width, height] of views) {
    for (const scheme of ["light", "dark"]) {
      const p = await page({ width, height, scheme });
      await p.goto(base + "/executions?size=25");
      await rows(p).first().waitFor();
      await p.screenshot({ path: join(results, `executions-${name}-${scheme}.png`) });
      if (name === "phone") {
        // Filters fold away on a phone; the button opens them.
        assert.equal(await p.getByLabel("Workflow id").isVisible(), false);
        await p.getByRole("button", { name: /^Filters/ }).click();
        await p.getByLabel("Workflow id").waitFor();
        await p.screenshot({ path: join(results, `executions-filters-${name}-${scheme}.png`) });
      }
      await p.goto(base + `/execution/${ids.order.express}?task=route`);
      await p.locator('.diagram[data-ready="true"] .gnode[data-node="route"]').waitFor();
      await p.getByRole("complementary", { name: "Task route" }).waitFor();
      await p.screenshot({ path: join(results, `execution-${name}-${scheme}.png`) });
      await p.goto(base + "/definitions/ui_order/1");
      await p.locator('.diagram[data-ready="true"] .gnode[data-node="route"]').waitFor();
      await p.screenshot({ path: join(results, `definition-${name}-${scheme}.png`) });
      assert.deepEqual(p.errors, []);
      await p.context().close();
    }
  }
});
