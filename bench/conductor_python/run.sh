#!/usr/bin/env bash
# conductor-python's TaskHandler workers against Baton and against Conductor OSS, with the
# same client, the same worker settings and the same script (bench.py, which knows the
# server only by its base URL). Runs the two servers in turn, REPS times each (Baton,
# Conductor, Baton, Conductor, ...), each run on a fresh server; prints one JSON line per
# run and the medians.
#
#   bench/conductor_python/run.sh [--reps 3] [--only baton|conductor] [bench.py options]
#
# Baton: BATON_BIN (default target/release/baton), on a temporary data directory.
# Conductor OSS: CONDUCTOR_JAR (default: conductor-server 3.21.14's boot jar in ~/.m2, fetched
# with `mvn dependency:get` if missing), on Java, with Redis (redis-server on PATH) for
# its store and queues, in memory (no snapshots, no append-only file), no indexing, and
# the Redis workflow-execution lock.
# Ports: BATON_PORT (18091), CONDUCTOR_PORT (18090), REDIS_PORT (16390).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/bench/conductor_python"

reps=3
only=""
bench_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) bench_args+=("$1"); shift ;;
  esac
done

BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
CONDUCTOR_VERSION=3.21.14
CONDUCTOR_JAR="${CONDUCTOR_JAR:-$HOME/.m2/repository/org/conductoross/conductor-server/$CONDUCTOR_VERSION/conductor-server-$CONDUCTOR_VERSION-boot.jar}"
BATON_PORT="${BATON_PORT:-18091}"
CONDUCTOR_PORT="${CONDUCTOR_PORT:-18090}"
REDIS_PORT="${REDIS_PORT:-16390}"

if [ "$only" != conductor ] && [ ! -x "$BATON_BIN" ]; then
  echo "no baton binary at $BATON_BIN (build it with: cargo build --release -p baton)" >&2
  exit 1
fi
if [ "$only" != baton ]; then
  if [ ! -f "$CONDUCTOR_JAR" ]; then
    # The boot jar is self-contained; dependency:get also complains about jars it does not need.
    mvn -q dependency:get -Dartifact="org.conductoross:conductor-server:$CONDUCTOR_VERSION:jar:boot" >/dev/null 2>&1 || true
  fi
  [ -f "$CONDUCTOR_JAR" ] || { echo "no Conductor jar at $CONDUCTOR_JAR" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "redis-server not found (apt-get install -y redis-server)" >&2; exit 1; }
  command -v java >/dev/null || { echo "java not found" >&2; exit 1; }
fi

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import conductor.client' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "conductor-python==2.0.0"
fi
# The client reads worker settings and credentials from the environment: keep it out.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(CONDUCTOR_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(conductor_[A-Za-z0-9_.]*\)=.*/\1/p')

work="$(mktemp -d /tmp/cpbench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  pids=()
}
trap 'cleanup; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() {  # url pid seconds
  local deadline=$((SECONDS + $3))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" = 200 ]; do
    kill -0 "$2" 2>/dev/null || { echo "server exited before it was ready (logs in $work)" >&2; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "server not ready at $1 after $3 s" >&2; return 1; }
    sleep 0.2
  done
}

start_baton() {
  port_free "$BATON_PORT" || { echo "port $BATON_PORT is taken" >&2; return 1; }
  rm -rf "$work/baton-data"
  "$BATON_BIN" server --data-dir "$work/baton-data" --listen "127.0.0.1:$BATON_PORT" \
    >"$work/baton.log" 2>&1 &
  pids+=($!)
  server_pids="$!"
  wait_http "http://127.0.0.1:$BATON_PORT/health" "$!" 60
  url="http://localhost:$BATON_PORT/api"
}

start_conductor() {
  port_free "$REDIS_PORT" || { echo "port $REDIS_PORT is taken" >&2; return 1; }
  port_free "$CONDUCTOR_PORT" || { echo "port $CONDUCTOR_PORT is taken" >&2; return 1; }
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$work" >"$work/redis.log" 2>&1 &
  local redis=$!
  pids+=($redis)
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do
    kill -0 "$redis" 2>/dev/null || { echo "redis-server exited (see $work/redis.log)" >&2; return 1; }
    sleep 0.1
  done
  cat >"$work/conductor.properties" <<EOF
server.port=$CONDUCTOR_PORT
loadSample=false
conductor.db.type=redis_standalone
conductor.queue.type=redis_standalone
conductor.indexing.enabled=false
conductor.redis.hosts=localhost:$REDIS_PORT:us-east-1c
conductor.redis.availabilityZone=us-east-1c
conductor.app.workflow-execution-lock-enabled=true
conductor.workflow-execution-lock.type=redis
conductor.redis-lock.serverType=single
conductor.redis-lock.serverAddress=redis://127.0.0.1:$REDIS_PORT
EOF
  java -jar "$CONDUCTOR_JAR" --spring.config.additional-location="file:$work/conductor.properties" \
    >"$work/conductor.log" 2>&1 &
  pids+=($!)
  server_pids="$!,$redis"
  wait_http "http://127.0.0.1:$CONDUCTOR_PORT/health" "$!" 180
  url="http://localhost:$CONDUCTOR_PORT/api"
}

results="$work/results.jsonl"
: >"$results"
servers=(baton conductor)
[ -n "$only" ] && servers=("$only")
for rep in $(seq 1 "$reps"); do
  for s in "${servers[@]}"; do
    "start_$s"
    echo "# run $rep: $s (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    "$venv/bin/python" "$here/bench.py" --server "$url" --label "$s" --server-pids "$server_pids" \
      "${bench_args[@]}" 2>"$work/bench-$s-$rep.log" | tee -a "$results" \
      || { echo "bench.py failed against $s; its log:" >&2; tail -30 "$work/bench-$s-$rep.log" >&2; exit 1; }
    cleanup
  done
done

"$venv/bin/python" - "$results" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for s in dict.fromkeys(r["server"] for r in runs):
    rs = [r for r in runs if r["server"] == s]
    print(json.dumps({"server": s, "runs": len(rs),
                      "median_tasks_per_s": statistics.median(r["tasks_per_s"] for r in rs),
                      "median_workflows_per_s": statistics.median(r["workflows_per_s"] for r in rs),
                      "median_server_cpu_us_per_task": statistics.median(r.get("server_cpu_us_per_task", 0) for r in rs),
                      "tasks_per_s": [r["tasks_per_s"] for r in rs]}))
EOF
