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

GENERATOR = Path(__file__).resolve().parents[2] / "docs" / "apidoc.py"


def load_generator() -> ModuleType:
    """docs/ is no package: load the script by its path."""
    spec = importlib.util.spec_from_file_location("apidoc", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_regenerated() -> None:
    apidoc = load_generator()
    expected, committed = apidoc.render(), apidoc.OUTPUT.read_text()
    diff = "".join(difflib.unified_diff(committed.splitlines(True), expected.splitlines(True), "docs/api.md", "rendered now", n=1))
    assert committed == expected, f"docs/api.md is stale: run `make docs` and commit it.\n{diff[:3000]}"
