"""The built wheel holds our three packages (the PyPI name `resources` is someone else's)."""

from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_contains_exactly_our_packages_and_the_cli(tmp_path, monkeypatch):
    from hatchling.build import build_wheel

    monkeypatch.chdir(ROOT)
    wheel = tmp_path / build_wheel(str(tmp_path))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"mlops_assets", "resources", "sensors"}
    for module in ("mlops_assets/__init__.py", "mlops_assets/model_factory.py", "mlops_assets/source_factory.py", "mlops_assets/serving/app.py",
                   "resources/__init__.py", "resources/feast.py", "resources/mlflow.py", "sensors/__init__.py"):
        assert module in names, module
    assert not any(n.startswith("tests/") for n in names)
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    entry_points = zipfile.ZipFile(wheel).read(f"{dist_info}/entry_points.txt").decode()
    assert "mlops = mlops_assets.cli:main" in entry_points
    metadata = zipfile.ZipFile(wheel).read(f"{dist_info}/METADATA").decode()
    for pin in ("dagster==1.13.27", "mlflow==3.17.2", "feast[duckdb,postgres,redis]==0.67.0", "great-expectations==1.24.1"):
        assert f"Requires-Dist: {pin}" in metadata, pin
