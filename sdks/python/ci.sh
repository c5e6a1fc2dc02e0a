#!/usr/bin/env bash
# CI for the Python SDK: sets up a virtual environment, checks that the generated stubs match
# proto/, type-checks the package, builds the wheel and checks it in a fresh virtual environment,
# and runs the test suite against the baton binary named by
# BATON_BIN (default <repo>/target/release/baton; this script does not build it).
set -euo pipefail

sdk_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$sdk_dir/../.." && pwd)"
cd "$sdk_dir"

python_bin="${PYTHON:-}"
if [[ -z "$python_bin" ]]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
[[ -n "$python_bin" ]] || { echo "error: no python3 found" >&2; exit 1; }

if [[ ! -x .venv/bin/python ]]; then
  "$python_bin" -m venv .venv
fi
export PATH="$sdk_dir/.venv/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
python -m pip install --quiet --upgrade pip
# A real (non-editable) install, so the tests exercise the package as users get it.
python -m pip install --quiet --force-reinstall --no-deps .
python -m pip install --quiet ".[test,codegen]"

command -v buf >/dev/null 2>&1 || { echo "error: buf is not on PATH (npm install -g @bufbuild/buf)" >&2; exit 1; }
tools/gen.sh --check

mypy --config-file pyproject.toml
# The wheel: version equal to the workspace's, installs and imports in a clean environment.
python tools/check_package.py
export BATON_BIN="${BATON_BIN:-$repo_root/target/release/baton}"
python -m pytest -p no:cacheprovider "$@"
