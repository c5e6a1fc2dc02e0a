#!/usr/bin/env bash
# Checks that the Go SDK is a module others can use with `go get` from the repository path:
#
#   go get github.com/baton-run/baton/sdks/go@<commit>
#
# without GitHub: the committed HEAD of the repository this script lives in is pushed to a
# temporary bare repository, and git is told (through GIT_CONFIG_* environment variables, not
# the user's configuration) to fetch https://github.com/baton-run/baton from there. The
# github.com/baton-run/* modules are fetched directly (GOPROXY=direct for them through
# GOPRIVATE, so no proxy and no checksum database); every other module comes from the
# machine's module cache, then its usual GOPROXY. A throwaway module outside the repository
# imports the SDK, gets it at the HEAD commit, and must build and vet.
#
# Only committed work is checked: commit first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel)"
commit="$(git -C "$root" rev-parse HEAD)"
module=github.com/baton-run/baton/sdks/go

if ! git -C "$root" cat-file -e "$commit:sdks/go/go.mod" 2>/dev/null; then
  echo "check-go-get: the HEAD commit $commit has no sdks/go/go.mod" >&2
  exit 1
fi
if [ -n "$(git -C "$root" status --porcelain -- sdks/go)" ]; then
  echo "check-go-get: note: sdks/go has uncommitted changes; checking the HEAD commit only" >&2
fi

orig_proxy="$(go env GOPROXY)"
orig_cache="$(go env GOMODCACHE)"
orig_flags="$(go env GOFLAGS)"

tmp="$(mktemp -d)"
cleanup() {
  # The module cache is read-only; go clean empties it.
  GOMODCACHE="$tmp/modcache" GOFLAGS= go clean -modcache >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A bare repository holding the HEAD commit as its default branch.
bare="$tmp/baton.git"
git init -q --bare "$bare"
git -C "$root" push -q "$bare" "$commit:refs/heads/main"
git -C "$bare" symbolic-ref HEAD refs/heads/main

# git fetches the GitHub address from the bare repository instead.
export GIT_CONFIG_COUNT=2
export GIT_CONFIG_KEY_0="url.file://$bare.insteadOf"
export GIT_CONFIG_VALUE_0="https://github.com/baton-run/baton"
export GIT_CONFIG_KEY_1="protocol.file.allow"
export GIT_CONFIG_VALUE_1="always"
export GIT_TERMINAL_PROMPT=0

# A fresh module cache, so that the SDK really comes from git; other modules from the
# machine's cache first (no network when they are there), then the usual proxy.
export GOMODCACHE="$tmp/modcache"
export GOPROXY="file://$orig_cache/cache/download,$orig_proxy"
export GOPRIVATE="github.com/baton-run/*"
export GOFLAGS="-mod=mod${orig_flags:+ $orig_flags}"
export GOWORK=off
export GOPATH="$tmp/gopath"

app="$tmp/app"
mkdir -p "$app"
cat >"$app/main.go" <<'EOF'
// Command app uses the Baton Go SDK as any module outside the repository would.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/baton-run/baton/sdks/go/baton"
)

func main() {
	conn, err := baton.Dial("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	_ = baton.NewClient(conn)
	w := baton.NewWorker(conn, baton.WithMetrics(prometheus.NewRegistry()), baton.Batching(true))
	w.HandleFunc("noop", func(ctx context.Context, t *baton.Task) (any, error) { return nil, nil })
	fmt.Println(w.TaskTypes())
}
EOF

cd "$app"
go mod init example.com/batonuser >/dev/null 2>&1
echo "go get $module@$commit (from $root through $bare)"
go get "$module@$commit"
go get github.com/prometheus/client_golang/prometheus
version="$(go list -m -f '{{.Version}}' "$module")"
case "$version" in
  *"-${commit:0:12}") ;;
  *)
    echo "check-go-get: got $module $version, not the commit $commit" >&2
    exit 1
    ;;
esac
go build -o /dev/null .
go vet .
echo "ok: $module $version builds and vets in a module outside the repository"
