"""The package's version comes from one place and matches the Baton workspace."""

from __future__ import annotations

import builtins
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import baton

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def load_check_package() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_package", TOOLS / "check_package.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_version_matches_the_workspace_and_the_distribution() -> None:
    check = load_check_package()
    version = check.workspace_version()
    assert check.package_version() == version
    assert baton.__version__ == version
    assert importlib.metadata.version("baton-sdk") == version


def test_workspace_version_without_tomllib(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback reader (Python 3.10 has no tomllib) finds the same version."""
    check = load_check_package()
    expected = check.workspace_version()
    real_import = builtins.__import__

    def no_tomllib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "tomllib":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "tomllib", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_tomllib)
    assert check.workspace_version() == expected
