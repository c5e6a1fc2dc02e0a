#!/usr/bin/env bash
# The web UI's checks: a clean install from the lockfile, the type check, a build that must
# equal the committed dist/, then browser tests against a real server (seeded through its
# HTTP API) in headless Chromium.
#
#   BATON_BIN               the server binary (default: target/release/baton of this repo)
#   BATON_UI_DIR_OVERRIDE   serve the UI from this folder (--ui-dir) instead of the embedded one
#   CHROMIUM_PATH           the browser (default /usr/bin/chromium; installed with apt-get when
#                           missing and running as root)
set -euo pipefail
ui="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$ui/.." && pwd)"
cd "$ui"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

echo "== npm ci"
nice -n 19 npm ci --no-audit --no-fund --loglevel=error

echo "== typecheck"
nice -n 19 npm run --silent typecheck

echo "== build (must equal the committed dist/)"
nice -n 19 npm run --silent build >/dev/null
if [ -n "$(git status --porcelain -- dist)" ]; then
  git status --short -- dist
  echo "ui/dist differs from a fresh build of the committed sources: run 'npm run build' in ui/ and commit dist/" >&2
  exit 1
fi

if [ ! -x "$CHROMIUM_PATH" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "no browser at $CHROMIUM_PATH (install Debian's chromium)" >&2
    exit 1
  fi
fi
if [ ! -x "$BATON_BIN" ]; then
  echo "no server binary at $BATON_BIN (build it, or set BATON_BIN)" >&2
  exit 1
fi

echo "== browser tests"
# Screenshots of every page (laptop and phone, light and dark) are kept as the run's artifacts.
rm -rf test-results
nice -n 19 node --test --test-concurrency=1 tests/
echo "screenshots: $ui/test-results ($(ls test-results/*.png | wc -l) files)"
