#!/usr/bin/env bash
# Cross-language end-to-end test: builds the Go and Java test workers, then runs the Python
# driver that starts `baton server` (BATON_BIN) and one workflow through all three.
# Expects the SDK suites to have run first (they install the Java SDK into the local Maven
# repository and create the Python SDK's venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
here="$root/tests/cross_language"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== building the Go worker"
(cd "$here/go_worker" && go build -o "$work/go_worker" .)
export XL_GO_WORKER="$work/go_worker"

echo "== building the Java worker"
mvn -B -q -f "$root/sdks/java/pom.xml" install -DskipTests
mvn -B -q -f "$here/java_worker/pom.xml" package dependency:build-classpath -Dmdep.outputFile="$work/java.cp"
export XL_JAVA_WORKER="java -cp $here/java_worker/target/classes:$(cat "$work/java.cp") io.baton.crosslang.JavaWorker"

echo "== Python driver"
venv="$root/sdks/python/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -e "$root/sdks/python[test]"
fi
"$venv/bin/python" -m pytest -q "$here"
