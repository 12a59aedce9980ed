"""Shared fixtures: the real credit data from ../shared and a quiet, isolated environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CREDIT_DIR = Path(os.environ.get("MLOPS_CREDIT_DATA", ROOT.parent / "shared" / "datasets" / "credit_risk"))

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def credit_dir() -> Path:
    """The real loan data; a missing folder is an error, not a skip."""
    if not (CREDIT_DIR / "loan_table.parquet").exists():
        raise FileNotFoundError(
            f"credit data not found at {CREDIT_DIR}: clone next to ../shared or set MLOPS_CREDIT_DATA"
        )
    return CREDIT_DIR
