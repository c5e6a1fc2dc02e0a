#!/usr/bin/env bash
# CI for the Go SDK: fetch modules, install the pinned code generators, check that the
# generated code matches proto/, vet, and run the tests against the real server binary
# (BATON_BIN, default <repo>/target/release/baton; this script does not build it).
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
example="$root/examples/go"
export BATON_BIN="${BATON_BIN:-$root/target/release/baton}"

step() { printf '\n== go sdk: %s\n' "$*"; }

step "modules"
(cd "$here" && go mod download)
(cd "$example" && go mod download)

step "code generators"
tools="${BATON_GO_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/baton/go-tools}"
mkdir -p "$tools"
GOBIN="$tools" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
GOBIN="$tools" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
export PATH="$tools:$PATH"

step "generated code is up to date"
if ! command -v buf >/dev/null 2>&1; then
  echo "buf is not installed (npm install -g @bufbuild/buf)" >&2
  exit 1
fi
gen_tmp="$(mktemp -d)"
trap 'rm -rf "$gen_tmp"' EXIT
(cd "$root" && buf generate --template sdks/go/buf.gen.yaml -o "$gen_tmp")
if ! diff -ru "$here/gen" "$gen_tmp/sdks/go/gen"; then
  echo >&2
  echo "sdks/go/gen is out of date with proto/. Regenerate it from the repository root with:" >&2
  echo "  PATH=$tools:\$PATH buf generate --template sdks/go/buf.gen.yaml" >&2
  exit 1
fi
echo "no drift"

step "format and vet"
unformatted="$(cd "$here" && gofmt -l baton bench internal; cd "$example" && gofmt -l .)"
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:" >&2
  echo "$unformatted" >&2
  exit 1
fi
(cd "$here" && go vet ./...)
(cd "$example" && go vet ./...)

step "go get from the repository path (committed HEAD)"
bash "$here/check-go-get.sh"

step "tests (server: $BATON_BIN)"
if [ ! -x "$BATON_BIN" ]; then
  echo "server binary not found at $BATON_BIN (build it with: cargo build --release -p baton)" >&2
  exit 1
fi
race=()
if [ "${BATON_GO_RACE:-0}" = "1" ]; then race=(-race); fi
log="$(mktemp)"
set +e
(cd "$here" && go test "${race[@]}" -count=1 -timeout 10m -v ./... 2>&1) | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "go: $passed passed, $failed failed, $skipped skipped"
exit "$status"
