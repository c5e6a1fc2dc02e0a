// What every browser test file shares: where screenshots go, a server of its own seeded by the
// file, one Chromium, and pages that record the errors they throw.
import { before, after } from "node:test";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "./server.mjs";

/** The folder screenshots and measurements are written to. */
export const results = join(dirname(fileURLToPath(import.meta.url)), "..", "test-results");
mkdirSync(results, { recursive: true });

/**
 * Starts a server and a browser before the file's tests (after `seed(base)` has run) and stops
 * both after them (after `done()`). The returned object's `base` is the server's URL and
 * `page(options)` opens a fresh page whose `errors` lists what the page threw.
 */
export function browserSuite(seed = async () => {}, done = () => {}) {
  const suite = { base: "", server: undefined, browser: undefined };
  before(async () => {
    suite.server = await startServer();
    suite.base = suite.server.base;
    await seed(suite.base);
    suite.browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: ["--no-sandbox"] });
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
    done();
  });
  suite.page = async ({ width = 1366, height = 768, scheme = "light" } = {}) => {
    const ctx = await suite.browser.newContext({ viewport: { width, height }, colorScheme: scheme });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    const errors = [];
    p.on("pageerror", (e) => errors.push(String(e)));
    p.errors = errors;
    return p;
  };
  return suite;
}
