#!/usr/bin/env bash
# CI for the Java SDK: resolve Maven artifacts, generate the gRPC stubs from proto/ (part of the
# Maven build: nothing generated is checked in, so there is nothing to drift), compile, run the
# tests against the real server binary (BATON_BIN, default <repo>/target/release/baton; this
# script does not build it), install the SDK locally and compile the example under examples/java.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"
mvn=(mvn -B -q -ntp -Dstyle.color=never)

step() { printf '\n== java sdk: %s\n' "$*"; }

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$tool is not installed (Java 17 and Maven 3.8+ are needed)" >&2
    exit 1
  fi
done

step "generated code"
echo "stubs are generated from proto/ by the Maven build (protobuf-maven-plugin); none are checked in: no drift"

step "version"
# The SDK's version is the workspace's (top-level Cargo.toml), as a Maven snapshot.
workspace_version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$root/Cargo.toml")"
pom_version="$(sed -n '0,/<version>/s/.*<version>\(.*\)<\/version>.*/\1/p' "$here/pom.xml")"
if [ "$pom_version" != "$workspace_version-SNAPSHOT" ]; then
  echo "pom.xml version $pom_version is not the workspace version $workspace_version-SNAPSHOT (Cargo.toml)" >&2
  exit 1
fi
echo "baton-sdk $pom_version"

step "tests (server: $BATON_BIN)"
if [ ! -x "$BATON_BIN" ]; then
  echo "server binary not found at $BATON_BIN (build it with: cargo build --release -p baton)" >&2
  exit 1
fi
rm -rf "$here/target/surefire-reports"
set +e
(cd "$here" && "${mvn[@]}" install -Dbaton.bin="$BATON_BIN")
status=$?
set -e

# Surefire's totals (maven -q hides its own summary), from its XML reports.
reports=("$here"/target/surefire-reports/TEST-*.xml)
if [ -e "${reports[0]}" ]; then
  awk '
    /<testsuite / {
      for (i = 1; i <= NF; i++) {
        if (match($i, /^(tests|failures|errors|skipped)="[0-9]+"/)) {
          split($i, kv, "\""); key = substr($i, 1, index($i, "=") - 1); sum[key] += kv[2]
        }
      }
    }
    END {
      printf "\nTests run: %d, Failures: %d, Errors: %d, Skipped: %d\n",
        sum["tests"], sum["failures"], sum["errors"], sum["skipped"]
    }' "${reports[@]}"
else
  echo "no test reports were written"
fi
if [ "$status" -ne 0 ]; then
  echo "java sdk: FAILED" >&2
  exit "$status"
fi

step "installed artifacts"
# `install` puts the jar, its sources and its javadoc in the local Maven repository.
local_repo="${MAVEN_LOCAL_REPO:-$HOME/.m2/repository}/io/baton/baton-sdk/$pom_version"
for classifier in "" "-sources" "-javadoc"; do
  jar="$local_repo/baton-sdk-$pom_version$classifier.jar"
  if [ ! -s "$jar" ]; then
    echo "not installed: $jar" >&2
    exit 1
  fi
  echo "installed: $(basename "$jar")"
done

step "example (examples/java)"
(cd "$root" && "${mvn[@]}" -f examples/java compile)
echo "java sdk: OK"
