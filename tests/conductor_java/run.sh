#!/usr/bin/env bash
# Runs Conductor's official Java client (org.conductoross:conductor-client 4.0.1, unchanged)
# against `baton server`: definitions, starts, TaskRunnerConfigurer workers through a fork,
# a switch, a sub-workflow and a retried task, operator commands, bulk calls, task logs.
# The tests start their own server from BATON_BIN on a temporary data directory and stop it
# when they end; its stderr is kept in target/baton-server.log.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/conductor_java"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
if [ ! -x "$BATON_BIN" ]; then
  echo "no baton binary at $BATON_BIN (build it with: cargo build --release -p baton)" >&2
  exit 1
fi

# Keep the client's own environment out of the way: the tests point it at their server.
unset CONDUCTOR_SERVER_URL CONDUCTOR_AUTH_KEY CONDUCTOR_AUTH_SECRET
cd "$here"
exec mvn -B -q test "$@"
