"""docs/reliability.md lists exactly the cases this tier runs: regenerate it with `make docs` when a table changes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[2] / "docs" / "reliability_cases.py"


def test_the_page_of_bad_inputs_is_regenerated() -> None:
    spec = importlib.util.spec_from_file_location("reliability_cases", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OUTPUT.read_text() == module.render(), "docs/reliability.md is stale: run `make docs` and commit it"
