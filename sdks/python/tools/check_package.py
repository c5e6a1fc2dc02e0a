"""Builds the SDK's wheel, installs it into a fresh virtual environment and checks it there.

Checks that the package version (``baton.__version__``, the one place it is written) equals
the workspace version in the repository's top-level Cargo.toml, that the wheel is named
``baton_sdk-<version>-...whl``, and that the installed package imports, reports its version
and distribution name, ships its type information and creates a client and a worker.

Usage: python tools/check_package.py [--keep DIR]   (run from anywhere; needs no network
beyond the package index pip already uses for the wheel's dependencies)
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

SDK_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SDK_DIR.parents[1]

CHECK_INSTALLED = """
import importlib.metadata, importlib.resources, sys
import baton
from baton import BatonClient, Worker, worker_task, TaskRegistry

expected = sys.argv[1]
assert baton.__version__ == expected, (baton.__version__, expected)
assert importlib.metadata.version("baton-sdk") == expected
files = importlib.resources.files("baton")
assert files.joinpath("py.typed").is_file(), "py.typed missing"
assert files.joinpath("v1", "task_pb2.pyi").is_file(), "stubs missing"
assert "site-packages" in baton.__file__, baton.__file__

client = BatonClient("127.0.0.1:1")   # channels connect lazily: no server needed
client.close()
registry = TaskRegistry()

@worker_task("package_check", concurrency=2, registry=registry)
def handler() -> dict:
    return {}

(resolved,) = Worker(server="127.0.0.1:1", registry=registry).tasks
assert resolved.concurrency == 2
# Metrics are an extra: without prometheus_client a worker says how to get it.
from baton.metrics import resolve_metrics
try:
    resolve_metrics(True, None, {})
except ImportError as e:
    assert "baton-sdk[metrics]" in str(e), e
else:
    raise AssertionError("prometheus_client is installed without the metrics extra")
print(f"baton-sdk {baton.__version__} installed and imported from {baton.__file__}")
"""


def workspace_version() -> str:
    """``[workspace.package] version`` of the top-level Cargo.toml."""
    text = (REPO_ROOT / "Cargo.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10: read the one key by hand
        section = re.search(r"^\[workspace\.package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        found = section and re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
        if not found:
            raise SystemExit("no [workspace.package] version in Cargo.toml")
        return found.group(1)
    return str(tomllib.loads(text)["workspace"]["package"]["version"])


def package_version() -> str:
    """``__version__`` as written in src/baton/__init__.py (read, not imported)."""
    tree = ast.parse((SDK_DIR / "src" / "baton" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, str):
                return value
    raise SystemExit("no __version__ in src/baton/__init__.py")


def run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build and install in this directory and keep it")
    args = parser.parse_args()

    expected = workspace_version()
    actual = package_version()
    if actual != expected:
        raise SystemExit(
            f"baton.__version__ is {actual} but the workspace version in Cargo.toml is {expected}; "
            "change src/baton/__init__.py"
        )

    with tempfile.TemporaryDirectory(prefix="baton-wheel-") as scratch:
        work = args.keep or Path(scratch)
        dist = work / "dist"
        run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, SDK_DIR)
        wheels = sorted(dist.glob("baton_sdk-*.whl"))
        if [w.name.split("-")[1] for w in wheels] != [expected]:
            raise SystemExit(f"expected one wheel baton_sdk-{expected}-*.whl, got {[w.name for w in wheels]}")
        env_dir = work / "venv"
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheels[0])
        # Run from the scratch directory so that the source tree cannot be imported instead.
        print("+ checking the installed package", flush=True)
        subprocess.run([str(python), "-c", CHECK_INSTALLED, expected], check=True, cwd=work)
    print(f"wheel {wheels[0].name} checked")


if __name__ == "__main__":
    main()
