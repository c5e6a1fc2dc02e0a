#!/usr/bin/env bash
# Checks Baton's HTTP API against its own OpenAPI document with schemathesis: requests
# generated from the document (valid and invalid ones) must never get a 5xx, and every
# answer must conform to the document (a documented status, the documented content type,
# a body that matches its schema, documented headers). Starts `baton server` (BATON_BIN)
# on a temporary data directory and stops it on exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/openapi"
bin="${BATON_BIN:-$root/target/release/baton}"
schemathesis_version="4.32.5"
max_examples="${OPENAPI_MAX_EXAMPLES:-12}"
max_time="${OPENAPI_MAX_TIME:-150}"

if [ ! -x "$bin" ]; then
  echo "no baton binary at $bin (build it with: cargo build --release -p baton)" >&2
  exit 1
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$schemathesis_version" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$schemathesis_version"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Start the server on a free port and read its address from its first line.
mkfifo "$work/out"
"$bin" server --data-dir "$work/data" --listen 127.0.0.1:0 >"$work/out" 2>"$work/server.log" &
server_pid=$!
exec 3<"$work/out"
addr=""
if read -r -t 30 line <&3; then
  addr="${line#baton server listening on }"
fi
if [ -z "$addr" ] || [ "$addr" = "$line" ]; then
  echo "baton server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
# Keep reading the server's output so it never blocks on a full pipe.
cat <&3 >/dev/null &
exec 3<&-
echo "baton server at $addr"

# schemathesis.toml selects the checks (all of them but the two about authentication,
# which the API does not have), says where positive_data_acceptance cannot apply, and
# pins the waits of long polls and synchronous runs. A test run (`/workflow/test`) may
# still wait up to 30 s for its execution to settle, hence the request timeout.
# One worker: with several, schemathesis's generators share hypothesis caches across
# threads, and an unlucky interleaving ends a run with a KeyError inside hypothesis (a
# "Runtime Error" that says nothing about the API).
"$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run "http://$addr/api/openapi.json" \
  --max-examples "$max_examples" \
  --max-time "$max_time" \
  --request-timeout 60 \
  --seed 1 \
  --generation-database none \
  --workers 1 \
  --no-color \
  "$@"
