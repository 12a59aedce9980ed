"""The README's Python example builds: a user's model beside the shipped ones, every model kept."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_python_api_example_builds_every_model(tmp_path, monkeypatch):
    [example] = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    graph = namespace["defs"].resolve_asset_graph()
    models = {key.path[0] for key in graph.get_all_asset_keys() if len(key.path) == 2}
    assert models == {"credit", "access", "access_strict"}
    assert "access_strict_retrain" in {job.name for job in namespace["defs"].resolve_all_job_defs()}
