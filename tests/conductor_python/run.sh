#!/usr/bin/env bash
# Runs Conductor's official Python client (conductor-python 2.0.0, unchanged) against
# `baton server`: definitions, starts, TaskHandler workers, operator commands, bulk calls,
# task logs, queues. The tests start their own server from BATON_BIN on a temporary data
# directory and stop it when they end.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/conductor_python"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
if [ ! -x "$BATON_BIN" ]; then
  echo "no baton binary at $BATON_BIN (build it with: cargo build --release -p baton)" >&2
  exit 1
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import conductor.client, pytest' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "conductor-python==2.0.0" pytest
fi

# Keep the client's own environment out of the way: the tests point it at their server.
unset CONDUCTOR_AUTH_KEY CONDUCTOR_AUTH_SECRET CONDUCTOR_WORKER_ISOLATION
cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" "$here"
