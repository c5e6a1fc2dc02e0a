// Starts the Baton binary on a temporary data directory and port 0, and stops it.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

const here = dirname(fileURLToPath(import.meta.url));

/** The server binary the tests run. */
export const serverBinary = () => process.env.BATON_BIN || resolve(here, "../../target/release/baton");

/** A fresh temporary data directory (`startServer` removes it when the server stops). */
export const newDataDir = () => mkdtempSync(join(tmpdir(), "baton-ui-test-"));

/**
 * Starts a server with `extra` flags, on `dataDir` when given (one prepared beforehand, e.g.
 * by `baton auth bootstrap`) or else on a new one. With `scheme` "https" (a server given
 * --tls-cert) the base URL names localhost, the name the test certificates are made for.
 */
export async function startServer({ extra = [], scheme = "http", dataDir = newDataDir() } = {}) {
  const bin = serverBinary();
  const args = ["server", "--data-dir", dataDir, "--listen", "127.0.0.1:0", ...extra];
  if (process.env.BATON_UI_DIR_OVERRIDE) args.push("--ui-dir", process.env.BATON_UI_DIR_OVERRIDE);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const stderr = [];
  child.stderr.on("data", (d) => stderr.push(d));
  const addr = await new Promise((resolveAddr, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once("line", (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolveAddr(m[1]);
      else reject(new Error("unexpected first line: " + line));
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code}): ${Buffer.concat(stderr).toString().slice(-2000)}`)));
    child.once("error", reject);
  });
  child.stdout.resume();
  return {
    base: scheme === "https" ? `https://localhost:${addr.split(":").pop()}` : `http://${addr}`,
    addr,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
