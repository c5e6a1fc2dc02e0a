// Browser tests of the dashboard against a server of its own: the empty state before the
// first sample, then totals and charts of runs worked through the HTTP API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { browserSuite, results } from "./harness.mjs";
import { api, waitFor, work, taskDefs, simpleDef } from "./seed.mjs";

let base;

const suite = browserSuite(async (b) => {
  base = b;
  await api(base, "POST", "/metadata/taskdefs", taskDefs);
  await api(base, "POST", "/metadata/workflow?overwrite=true", simpleDef);
});
const page = (o = {}) => suite.page({ height: 900, ...o });

test("an empty server: each list says there is nothing yet", async () => {
  const p = await page();
  await p.goto(base + "/executions");
  await p.getByText("No executions match.").waitFor();
  await p.getByTestId("result-count").getByText("0 results").waitFor();
  await p.screenshot({ path: join(results, "executions-empty.png") });
  await p.goto(base + "/tasks");
  await p.getByText("No tasks match.").waitFor();
  await p.goto(base + "/eventhandlers");
  await p.getByText("No event handlers.").waitFor();
  await p.goto(base + "/queues");
  await p.locator("main").waitFor();
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

const tile = (p, label) => p.getByTestId(`tile-${label}`).locator(".tile-value");

test("the dashboard charts what the server sampled and follows new samples", async () => {
  const p = await page();
  const reads = [];
  p.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname === "/api/admin/metrics") reads.push(u.searchParams.get("minutes"));
  });
  // Before the server's first sample (ten seconds after it started): the page says so.
  const first = await api(base, "GET", "/admin/metrics");
  if (first.samples.length === 0) {
    await p.goto(base + "/dashboard");
    await p.getByRole("status").getByText(/No samples yet/).waitFor();
    await p.screenshot({ path: join(results, "dashboard-empty.png") });
  }

  // Four runs completed and two failed by a worker over HTTP, one left queued.
  const start = (n) => api(base, "POST", "/workflow", { name: "ui_simple", version: 1, input: { n } });
  for (let i = 0; i < 6; i++) {
    await start(i);
    await waitFor(() => work(base, "ui_task_a", i < 4 ? "COMPLETED" : "FAILED"), "a task to work");
  }
  await start(99);
  // Wait for the sample that holds all of it (the server samples every ten seconds).
  const history = await waitFor(async () => {
    const h = await api(base, "GET", "/admin/metrics");
    const last = h.samples.at(-1);
    const ended = h.samples.reduce((n, s) => n + s.workflowsCompleted + s.workflowsFailed, 0);
    return ended === 6 && last?.queueDepth === 1 ? h : null;
  }, "a sample of the runs", 40000);
  assert.equal(history.sampleEveryMs, 10000);

  await p.goto(base + "/dashboard");
  await tile(p, "Workflows completed").getByText("4", { exact: true }).waitFor();
  assert.equal(await tile(p, "Workflows started").textContent(), "7");
  assert.equal(await tile(p, "Workflows failed").textContent(), "2");
  assert.equal(await tile(p, "Tasks completed").textContent(), "4");
  assert.equal(await tile(p, "Tasks failed").textContent(), "2");
  assert.equal(await tile(p, "Tasks queued now").textContent(), "1");
  // Four charts, each drawn on a canvas with its legend.
  for (const name of ["Throughput", "Failures per interval", "Task latencies", "Queues and workers"]) {
    const fig = p.getByRole("figure", { name });
    await fig.locator("canvas").waitFor();
    assert.ok((await fig.locator("canvas").boundingBox()).width > 300, `${name} is drawn too small`);
  }
  await p.getByRole("figure", { name: "Throughput" }).getByText("tasks completed/s").waitFor();
  // The latency table names the task type; the failures link to their runs.
  await p.locator("table.grid tbody tr", { hasText: "ui_task_a" }).first().waitFor();
  await p.getByRole("link", { name: "ui_simple v1" }).first().waitFor();
  await p.screenshot({ path: join(results, "dashboard.png"), fullPage: true });

  // The range is in the URL and in what is asked of the server.
  await p.getByRole("button", { name: "15 min" }).click();
  await p.waitForURL(/\/dashboard\?minutes=15$/);
  await waitFor(() => reads.includes("15"), "a read of the last 15 minutes");
  assert.equal(await p.getByRole("button", { name: "15 min" }).getAttribute("aria-pressed"), "true");

  // New work shows at the next sample without a reload.
  await waitFor(() => work(base, "ui_task_a", "COMPLETED"), "the queued task");
  await tile(p, "Workflows completed").getByText("5", { exact: true }).waitFor({ timeout: 40000 });
  assert.deepEqual(p.errors, []);
  await p.context().close();
});

test("the dashboard on a phone in the dark theme", async () => {
  const p = await page({ width: 390, height: 844, scheme: "dark" });
  await p.goto(base + "/dashboard?minutes=30");
  await p.getByRole("figure", { name: "Throughput" }).locator("canvas").waitFor();
  // One column: the charts fit the screen.
  const box = await p.getByRole("figure", { name: "Task latencies" }).boundingBox();
  assert.ok(box.width <= 390, `chart ${box.width}px wide on a 390px screen`);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  await p.screenshot({ path: join(results, "dashboard-phone-dark.png"), fullPage: true });
  assert.deepEqual(p.errors, []);
  await p.context().close();
});
