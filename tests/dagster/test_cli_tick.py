"""`mlops tick` without --sensor evaluates every sensor of the project once (what the daemon does on a timer)."""

from __future__ import annotations

import os
import subprocess
import sys

from domains import MODELS


def test_tick_without_names_evaluates_every_sensor_on_a_fresh_home(tmp_path):
    env = {**os.environ, "MLOPS_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "mlops_assets.cli", "tick"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for spec in MODELS:
        for kind in ("new_labels", "drift", "performance"):
            assert f"{spec.name}_{kind}_sensor: {spec.name} has no champion yet" in done.stdout, done.stdout
        assert f"{spec.source.name}_arrival_sensor:" in done.stdout
    assert "mlflow_run_closer" not in done.stdout
