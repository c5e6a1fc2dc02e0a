// The UI of a server that asks for credentials (--auth): the sign-in page, who is signed in,
// signing out, API keys made and revoked on the Keys page, the refusals a role gets (its
// message, not the sign-in page), and the audit log; then the same UI with authentication off.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, serverBinary, newDataDir } from "./server.mjs";
import { results } from "./harness.mjs";
import { taskDefs, simpleDef } from "./seed.mjs";

let server;
let browser;
let adminKey;
let viewerKey;

const KEY = /^bk_[0-9a-f]{16}_[0-9a-f]{64}$/;
const idOf = (key) => key.split("_")[1];

/** A call to the server's HTTP API with `key` as the bearer (none when undefined). */
async function call(method, path, body, key) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(server.base + "/api" + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  // The first admin key is made on the data directory before a server runs on it.
  const dataDir = newDataDir();
  const out = execFileSync(serverBinary(), ["auth", "bootstrap", "--data-dir", dataDir], { encoding: "utf8" });
  adminKey = out.trim().split("\n").pop().trim();
  assert.match(adminKey, KEY);
  server = await startServer({ extra: ["--auth"], dataDir });
  for (const [path, body] of [["/metadata/taskdefs", taskDefs], ["/metadata/workflow?overwrite=true", simpleDef]]) {
    const r = await call("POST", path, body, adminKey);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page in a context of its own (its own cookies: one person signed in or not). */
async function open({ width = 1366, height = 768, scheme = "light", base = server.base } = {}) {
  const ctx = await browser.newContext({ viewport: { width, height }, colorScheme: scheme });
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const p = await ctx.newPage();
  p.setDefaultTimeout(15000);
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  p.errors = errors;
  return p;
}

const signInForm = (p) => p.getByRole("form", { name: "Sign in" });
const who = (p) => p.getByRole("group", { name: "Signed in" });

/** Signs in on the sign-in page the page shows. */
async function signIn(p, key) {
  const form = signInForm(p);
  await form.getByLabel("API key").fill(key);
  await form.getByRole("button", { name: "Sign in" }).click();
  await who(p).waitFor();
}

/** Clicks Refresh until `rows` has a match (the audit log is written a moment after the request). */
async function refreshUntil(p, rows, what) {
  const deadline = Date.now() + 10000;
  while ((await rows.count()) === 0) {
    assert.ok(Date.now() < deadline, `no ${what} in the audit log`);
    const answered = p.waitForResponse((r) => new URL(r.url()).pathname === "/api/admin/audit");
    await p.getByRole("button", { name: "Refresh the log" }).click();
    await answered;
    await p.locator('.table-wrap[aria-busy="false"]').waitFor();
  }
}

/**
 * Waits until the audit table shows entries (`count` of them when given) that all have this
 * `outcome` and `actor`, and a seq below `below` or at least `from`, when given.
 */
async function shown(p, { outcome, actor, below, from, count }) {
  await p.waitForFunction(
    (w) => {
      const rows = [...document.querySelectorAll("table.audit tbody tr[data-seq]")];
      const ok = (tr) =>
        (w.outcome === undefined || tr.dataset.outcome === w.outcome) &&
        (w.actor === undefined || tr.querySelector('td[data-label="Actor"]').textContent === w.actor) &&
        (w.below === undefined || Number(tr.dataset.seq) < w.below) &&
        (w.from === undefined || Number(tr.dataset.seq) >= w.from);
      return rows.length > 0 && (w.count === undefined || rows.length === w.count) && rows.every(ok);
    },
    { outcome, actor, below, from, count },
  );
}

let adminPage;

test("the sign-in page asks for a key, shows the server's refusal, then the page asked for", async () => {
  const p = await open();
  await p.goto(server.base + "/executions");
  const form = signInForm(p);
  await form.getByRole("heading", { name: "Sign in" }).waitFor();
  await form.getByText("/executions").waitFor();
  assert.equal(await form.getByLabel("API key").getAttribute("type"), "password");
  // Nothing of the pages behind it: no navigation, no one signed in.
  assert.equal(await p.getByRole("navigation", { name: "Main" }).getByRole("link").count(), 0);
  assert.equal(await who(p).count(), 0);
  await p.screenshot({ path: join(results, "auth-signin.png") });

  // A key the server does not know: its message.
  await form.getByLabel("API key").fill(`bk_0123456789abcdef_${"0".repeat(64)}`);
  await form.getByRole("button", { name: "Sign in" }).click();
  await form.getByRole("alert").getByText("unknown API key 0123456789abcdef").waitFor();
  // Not a key at all.
  await form.getByLabel("API key").fill("bk_nope");
  await form.getByRole("button", { name: "Sign in" }).click();
  await form.getByRole("alert").getByText(/malformed API key/).waitFor();
  await p.screenshot({ path: join(results, "auth-signin-refused.png") });

  await signIn(p, adminKey);
  await p.getByRole("heading", { name: "Executions" }).waitFor();
  assert.match(p.url(), /\/executions$/);
  await who(p).getByText("admin", { exact: true }).first().waitFor();
  assert.equal(await who(p).locator(".badge").textContent(), "admin");
  const nav = p.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Keys" }).waitFor();
  await nav.getByRole("link", { name: "Audit" }).waitFor();

  // The session is a cookie the page cannot read, and it outlives a reload.
  assert.equal(await p.evaluate(() => document.cookie), "");
  const cookie = (await p.context().cookies()).find((c) => c.name === "baton_session");
  assert.ok(cookie?.httpOnly, "an HttpOnly session cookie");
  await p.reload();
  await p.getByRole("heading", { name: "Executions" }).waitFor();
  await who(p).waitFor();
  assert.deepEqual(p.errors, []);
  adminPage = p;
});

test("an admin makes a key on the Keys page and sees its text once", async () => {
  const p = adminPage;
  await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Keys" }).click();
  await p.getByRole("heading", { name: "API keys" }).waitFor();
  const keys = p.getByRole("table", { name: "API keys" });
  await keys.locator(`tr[data-key="${idOf(adminKey)}"]`).getByText("(you)").waitFor();

  const form = p.getByRole("form", { name: "New key" });
  await form.getByLabel("Name").fill("ui-viewer");
  await form.getByLabel("Role").selectOption("viewer");
  await form.getByRole("button", { name: "Create key" }).click();
  const made = p.getByRole("region", { name: "New key" });
  await made.getByText("it will not be shown again").waitFor();
  viewerKey = await made.getByLabel("Key text").inputValue();
  assert.match(viewerKey, KEY);
  await made.getByRole("button", { name: "Copy" }).click();
  await made.getByRole("status").getByText("Copied.").waitFor();
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), viewerKey);

  const row = keys.locator(`tr[data-key="${idOf(viewerKey)}"]`);
  await row.getByText("ui-viewer").waitFor();
  assert.equal(await row.locator('td[data-label="Role"]').textContent(), "viewer");
  await row.locator('td[data-label="Created by"]').getByText(idOf(adminKey)).waitFor();
  assert.equal(await row.locator('td[data-label="Revoked"]').textContent(), "no");
  await p.screenshot({ path: join(results, "auth-keys-new-key-desktop-light.png") });

  // Shown once: not after the page is opened again.
  await p.reload();
  await row.waitFor();
  assert.equal(await p.getByRole("region", { name: "New key" }).count(), 0);
  assert.equal(await p.getByText(viewerKey).count(), 0);
  assert.deepEqual(p.errors, []);
});

let viewerPage;

test("a viewer reads the pages and is told, with its role, what it may not do", async () => {
  const p = adminPage;
  await p.getByRole("button", { name: "Sign out" }).click();
  await signInForm(p).waitFor();
  assert.equal(await who(p).count(), 0);
  assert.equal((await (await p.context().request.get(server.base + "/api/session")).json()).signedIn, false);

  // The page shown was the Keys page: a viewer gets the server's refusal there, not the sign-in page.
  await signIn(p, viewerKey);
  await who(p).getByText("ui-viewer").waitFor();
  assert.equal(await who(p).locator(".badge").textContent(), "viewer");
  await p.getByRole("heading", { name: "API keys" }).waitFor();
  await p.getByRole("alert").getByText(/has the viewer role.*needs the admin role/).waitFor();
  const nav = p.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Definitions", exact: true }).waitFor();
  assert.equal(await nav.getByRole("link", { name: "Keys" }).count(), 0);
  assert.equal(await nav.getByRole("link", { name: "Audit" }).count(), 0);

  // Reading is allowed.
  await nav.getByRole("link", { name: "Definitions", exact: true }).click();
  await p.getByRole("table", { name: "Workflow definitions" }).getByRole("link", { name: "ui_simple" }).click();
  await p.getByRole("heading", { name: /ui_simple/ }).waitFor();

  // Saving a definition needs the admin role: the editor lists the server's message.
  await p.getByRole("tab", { name: "Edit" }).click();
  const actions = p.getByRole("toolbar", { name: "Definition actions" });
  await actions.getByRole("button", { name: "Save as new version" }).click();
  await p.getByRole("alert", { name: "Problems" }).getByText(/viewer role, which may not define: POST \/api\/metadata\/workflow needs the admin role/).waitFor();
  await p.screenshot({ path: join(results, "auth-viewer-save-refused.png") });

  // Starting a run needs the operator role at least: the run dialog says so.
  await p.goto(server.base + "/designer/ui_simple/1");
  await p.locator('.designer-canvas .gnode[data-node="only"]').waitFor();
  await p.getByRole("button", { name: "Run", exact: true }).click();
  const dialog = p.getByRole("dialog", { name: /Run ui_simple v1/ });
  await dialog.getByRole("button", { name: "Start" }).click();
  await dialog.getByRole("alert").getByText(/viewer role, which may not operate: POST \/api\/workflow needs the admin or operator role/).waitFor();
  await p.screenshot({ path: join(results, "auth-viewer-start-refused.png") });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  assert.equal(await signInForm(p).count(), 0);
  assert.deepEqual(p.errors, []);
  viewerPage = p;
});

test("a revoked key is shown revoked, and its session ends at the next call", async () => {
  // The viewer watches the queues (read again every 2 s).
  const v = viewerPage;
  await v.goto(server.base + "/queues");
  await v.getByRole("heading", { name: "Queues and workers" }).waitFor();

  const p = await open();
  await p.goto(server.base + "/keys");
  await signIn(p, adminKey);
  const row = p.getByRole("table", { name: "API keys" }).locator(`tr[data-key="${idOf(viewerKey)}"]`);
  await row.getByRole("button", { name: /Revoke/ }).click();
  const dialog = p.getByRole("dialog", { name: "Revoke key ui-viewer?" });
  await dialog.getByText(/refused from now on/).waitFor();
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await row.locator('td[data-label="Revoked"]').getByText("revoked").waitFor();
  assert.equal(await row.getByRole("button", { name: /Revoke/ }).count(), 0);
  assert.equal(await p.getByRole("dialog").count(), 0);

  // The viewer's page asks for a key again, saying why; the revoked key no longer signs in.
  const form = signInForm(v);
  await form.getByRole("status", { name: "Why" }).getByText(/was revoked/).waitFor();
  await form.getByText("/queues").waitFor();
  await form.getByLabel("API key").fill(viewerKey);
  await form.getByRole("button", { name: "Sign in" }).click();
  await form.getByRole("alert").getByText(/was revoked/).waitFor();
  assert.deepEqual(v.errors, []);
  await v.context().close();
  adminPage = p;
});

test("the audit log lists the refusal and the key's creation, filters them and pages back", async () => {
  // Requests without credentials, refused and recorded as the anonymous caller's.
  for (let i = 0; i < 12; i++) assert.equal((await call("GET", `/workflow/no-run-${i}`)).status, 401);

  const p = adminPage;
  await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await p.getByRole("heading", { name: "Audit log" }).waitFor();
  const log = p.getByRole("table", { name: "Audit log" });
  const refused = log.locator('tr[data-outcome="denied"]', { hasText: "POST /api/metadata/workflow" });
  const created = log.locator('tr[data-outcome="ok"]', { hasText: "POST /api/admin/keys" });
  await refreshUntil(p, log.locator("tr", { hasText: "GET /api/workflow/no-run-11" }), "refusal of the anonymous calls");
  await refused.first().waitFor();
  await created.first().waitFor();
  const r = refused.first();
  assert.equal(await r.locator('td[data-label="Outcome"]').textContent(), "denied");
  await r.locator('td[data-label="Actor"]').getByText("ui-viewer").waitFor();
  assert.equal(await r.locator('td[data-label="Role"]').textContent(), "viewer");
  assert.equal(await r.locator('td[data-label="Status"]').textContent(), "403");
  await r.locator('td[data-label="Reason"]').getByText(/needs the admin role/).waitFor();
  assert.equal(await created.first().locator('td[data-label="Outcome"]').textContent(), "ok");
  await created.first().locator('td[data-label="Actor"]').getByText(idOf(adminKey)).waitFor();
  // The revocation is there too, newest first: above the key's creation.
  const seqs = await log.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
  await log.locator('tr[data-outcome="ok"]', { hasText: `DELETE /api/admin/keys/${idOf(viewerKey)}` }).waitFor();
  await p.screenshot({ path: join(results, "auth-audit-refusal.png") });

  // Only refusals, of the last hour.
  const filters = p.getByRole("form", { name: "Audit filters" });
  await filters.getByLabel("Outcome").selectOption("denied");
  await filters.getByLabel("Since").selectOption("hour");
  await filters.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/outcome=denied/);
  assert.match(p.url(), /since=hour/);
  await shown(p, { outcome: "denied" });
  await refused.first().waitFor();

  // The anonymous caller's entries, ten by ten: "Older" goes on from the last one shown.
  await filters.getByRole("button", { name: "Reset" }).click();
  await p.waitForFunction(() => document.querySelector('#audit-filters select[name="outcome"]').value === "");
  await filters.getByLabel("Actor").fill("anonymous");
  await filters.getByRole("button", { name: "Search" }).click();
  await p.waitForURL(/actor=anonymous/);
  await p.getByRole("navigation", { name: "Pages" }).getByLabel("Per page").selectOption("10");
  await p.waitForURL(/limit=10/);
  await shown(p, { actor: "anonymous", count: 10 });
  const first = await log.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.seq)));
  assert.equal(first.length, 10);
  await p.getByRole("button", { name: "Older ›" }).click();
  await p.waitForURL(new RegExp(`before=${first[9]}`));
  await shown(p, { actor: "anonymous", below: first[9] });
  const older = await log.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.seq)));
  assert.ok(older.length >= 2, `${older.length} older entries`);
  await p.getByRole("button", { name: "« Newest" }).click();
  await shown(p, { actor: "anonymous", from: first[9], count: 10 });
  assert.deepEqual(p.errors, []);
});

test("screenshots: desktop and phone, light and dark", async () => {
  // An operator key to show on the Keys page, made through the API.
  const made = await call("POST", "/admin/keys", { name: "ui-operator", role: "operator" }, adminKey);
  assert.equal(made.status, 200);
  for (const [name, width, height] of [["desktop", 1366, 768], ["phone", 390, 844]]) {
    for (const scheme of ["light", "dark"]) {
      const p = await open({ width, height, scheme });
      await p.goto(server.base + "/keys");
      await signInForm(p).waitFor();
      await p.screenshot({ path: join(results, `auth-signin-${name}-${scheme}.png`) });
      await signIn(p, adminKey);
      const form = p.getByRole("form", { name: "New key" });
      await form.getByLabel("Name").fill(`ui-${name}-${scheme}`);
      await form.getByLabel("Role").selectOption("worker");
      await form.getByRole("button", { name: "Create key" }).click();
      await p.getByRole("region", { name: "New key" }).waitFor();
      await p.getByRole("table", { name: "API keys" }).getByText(`ui-${name}-${scheme}`).waitFor();
      await p.screenshot({ path: join(results, `auth-keys-${name}-${scheme}.png`), fullPage: true });
      // Everything on a laptop, the refusals on a phone.
      await p.goto(server.base + (name === "desktop" ? "/audit?limit=25" : "/audit?outcome=denied&limit=10"));
      await p.getByRole("table", { name: "Audit log" }).locator("tbody tr[data-seq]").first().waitFor();
      await p.screenshot({ path: join(results, `auth-audit-${name}-${scheme}.png`), fullPage: name === "desktop" });
      if (name === "phone") {
        await p.getByRole("button", { name: "Menu" }).click();
        await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).waitFor();
        await p.screenshot({ path: join(results, `auth-menu-${name}-${scheme}.png`) });
      }
      assert.deepEqual(p.errors, []);
      await p.context().close();
    }
  }
});

test("with authentication off nothing of it shows, and the keys and audit pages still work", async () => {
  const plain = await startServer();
  try {
    const p = await open({ base: plain.base });
    await p.goto(plain.base + "/executions");
    await p.getByRole("heading", { name: "Executions" }).waitFor();
    assert.equal(await signInForm(p).count(), 0);
    assert.equal(await who(p).count(), 0);
    assert.equal(await p.getByRole("button", { name: "Sign out" }).count(), 0);

    const nav = p.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Keys" }).click();
    await p.getByText("No keys yet.").waitFor();
    const form = p.getByRole("form", { name: "New key" });
    await form.getByLabel("Name").fill("ui-plain");
    await form.getByRole("button", { name: "Create key" }).click();
    assert.match(await p.getByRole("region", { name: "New key" }).getByLabel("Key text").inputValue(), KEY);
    await p.getByRole("table", { name: "API keys" }).getByText("ui-plain").waitFor();

    await nav.getByRole("link", { name: "Audit" }).click();
    await p.getByText(/No entries\. This server keeps the audit log when it runs with --auth or --audit\./).waitFor();
    assert.deepEqual(p.errors, []);
    await p.context().close();
  } finally {
    await plain.stop();
  }
});
