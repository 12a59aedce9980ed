"""docs/reliability.md lists exactly the cases this tier runs: regenerate it with `make docs` when a table changes."""

from __future__ import annotations

from tests.unit.test_api_reference import load_script


def test_the_page_of_bad_inputs_is_regenerated() -> None:
    module = load_script("reliability_cases")
    assert module.OUTPUT.read_text() == module.render(), "docs/reliability.md is stale: run `make docs` and commit it"
