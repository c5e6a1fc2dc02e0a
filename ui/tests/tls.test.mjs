// The UI served over TLS: the same port answers the pages, the API they call and the live
// updates they watch, and a plain-text request to it is told to use https.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, serverBinary } from "./server.mjs";
import { results } from "./harness.mjs";

let server;
let browser;
let certs;

before(async () => {
  certs = mkdtempSync(join(tmpdir(), "baton-ui-certs-"));
  execFileSync(serverBinary(), ["tls", "init", "--dir", certs]);
  server = await startServer({
    extra: ["--tls-cert", join(certs, "server.pem"), "--tls-key", join(certs, "server-key.pem")],
    scheme: "https",
  });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (certs) rmSync(certs, { recursive: true, force: true });
});

test("the execution page follows a run over TLS", async () => {
  // The test authority is not one the browser knows; trusting it is what this context skips.
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1366, height: 768 } });
  const call = async (method, path, data) => {
    const res = await ctx.request.fetch(server.base + "/api" + path, { method, data });
    assert.ok(res.ok(), `${method} ${path}: ${res.status()} ${await res.text()}`);
    return res.text();
  };
  await call("POST", "/metadata/taskdefs", [{ name: "ui_tls_task", retryCount: 0, responseTimeoutSeconds: 60 }]);
  await call("POST", "/metadata/workflow?overwrite=true", {
    name: "ui_tls",
    version: 1,
    tasks: [{ name: "ui_tls_task", taskReferenceName: "only", type: "SIMPLE" }],
  });
  const id = (await call("POST", "/workflow", { name: "ui_tls", version: 1, input: { over: "tls" } })).trim();

  const p = await ctx.newPage();
  p.setDefaultTimeout(15000);
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  await p.goto(server.base + `/execution/${id}?tab=tasks`);
  assert.match(p.url(), /^https:\/\/localhost:/);
  const title = p.locator("#wf-title");
  await title.getByText("RUNNING").waitFor();
  await p.locator("table.grid tbody tr", { hasText: "only" }).getByText("SCHEDULED").waitFor();

  await call("POST", `/tasks/${id}/only/COMPLETED`, { by: "tls" });
  await title.getByText("COMPLETED").waitFor();
  await p.screenshot({ path: join(results, "tls-execution.png") });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("a plain-text request to the TLS port is told to use https", async () => {
  const res = await fetch(`http://${server.addr}/`);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /https:\/\//);
});
