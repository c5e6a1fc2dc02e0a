#!/usr/bin/env bash
# Throughput of one Java worker process completing trivial tasks against a real baton server.
#   sdks/java/bench.sh [tasks] [concurrency] [preload|live]
# The server is BATON_BIN (default <repo>/target/release/baton), started on a temporary
# directory, unless BATON_SERVER names a running one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
cd "$here"
mvn -B -q -ntp -DskipTests test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test
cp="target/classes:target/test-classes:$(cat target/bench-classpath.txt)"
exec java -Djava.util.logging.config.file=src/test/resources/logging.properties \
  -cp "$cp" io.baton.sdk.bench.WorkerBenchmark "$@"
