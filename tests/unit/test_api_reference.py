"""docs/api.md is what docs/apidoc.py renders from today's docstrings.

A docstring or signature changed without `make docs` fails here, so the reference never
drifts from the code. Rendering imports `mlops_assets` only (no Feast, MLflow or Great
Expectations), so this costs about as much as that import.
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[2] / "docs"


def load_script(name: str) -> ModuleType:
    """docs/ is no package: load one of its scripts by its path."""
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_generator() -> ModuleType:
    return load_script("apidoc")


def test_api_reference_is_regenerated() -> None:
    apidoc = load_generator()
    expected, committed = apidoc.render(), apidoc.OUTPUT.read_text()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), expected.splitlines(True), "docs/api.md", "rendered now", n=1))
    assert committed == expected, f"docs/api.md is stale: run `make docs` and commit it.\n{diff[:3000]}"
