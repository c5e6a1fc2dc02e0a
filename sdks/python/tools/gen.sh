#!/usr/bin/env bash
# Regenerates the Python stubs from proto/ into src/baton/v1 (or, with --check, into a
# temporary directory and compares them with the checked-in files).
# Needs buf on PATH and the codegen extra installed in the active Python environment
# (ci.sh sets both up).
set -euo pipefail

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo_root="$(cd "$sdk_dir/../.." && pwd)"
generated_dir="$sdk_dir/src/baton/v1"

run_buf() {
  # mypy-protobuf reports each file it writes on stderr; show that only on failure.
  if ! (cd "$repo_root" && buf generate --template sdks/python/buf.gen.yaml -o "$1") >"$1.log" 2>&1; then
    cat "$1.log" >&2
    exit 1
  fi
}

if [[ "${1:-}" == "--check" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  run_buf "$tmp/gen"
  fresh="$tmp/gen/sdks/python/src/baton/v1"
  if ! diff -r -q <(cd "$fresh" && find . -name '*_pb2*' -type f | sort) \
                  <(cd "$generated_dir" && find . -name '*_pb2*' -type f | sort) >/dev/null \
     || ! diff -r -x '__init__.py' -x '__pycache__' "$fresh" "$generated_dir" >"$tmp/drift.diff"; then
    echo "error: generated Python code in sdks/python/src/baton/v1 does not match proto/." >&2
    echo "Run sdks/python/tools/gen.sh (inside sdks/python/.venv) and commit the result." >&2
    head -40 "$tmp/drift.diff" >&2 || true
    exit 1
  fi
  echo "codegen: sdks/python/src/baton/v1 matches proto/"
else
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  run_buf "$tmp/gen"
  rm -f "$generated_dir"/*_pb2*.py "$generated_dir"/*_pb2*.pyi
  cp "$tmp/gen/sdks/python/src/baton/v1/"*_pb2* "$generated_dir/"
  echo "codegen: wrote $(ls "$generated_dir"/*_pb2* | wc -l) files to $generated_dir"
fi
