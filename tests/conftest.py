"""Shared fixtures: the real credit data from ../shared, a quiet environment, one real pipeline run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


TOKEN = "test-admin-token"
DAYS = 60


@dataclass
class Pipeline:
    """One real run of the whole graph on replayed days, shared by the Dagster and integration tiers."""

    profile: Any
    defs: Any
    instance: Any
    result: Any
    days: tuple[str, str]


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory, credit_dir: Path) -> Pipeline:
    """60 real days replayed into a temporary MLOPS_HOME and the `pipeline` job run once over them.

    Real components: a SQLite Dagster instance, an MLflow tracking store and registry, a Feast
    repo (duckdb offline, sqlite online), GE suites.
    """
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance
    from mlops_assets.profile import load_profile
    from mlops_assets.runs import run_job
    from mlops_assets.simulate import load_credit_risk, write_landing

    home = tmp_path_factory.mktemp("mlops_home")
    profile = load_profile({"MLOPS_HOME": str(home), "MLOPS_ADMIN_TOKEN": TOKEN})
    summary = write_landing(load_credit_risk(credit_dir), profile.landing_root, days=DAYS)
    days = (summary.first_day.isoformat(), summary.last_day.isoformat())
    defs = build_definitions(profile)
    instance = ensure_instance(profile)
    result = run_job(defs, instance, "pipeline", days=days, trigger="test")
    return Pipeline(profile, defs, instance, result, days)


@contextmanager
def serving(profile: Any, spec: Any) -> Iterator[Any]:
    """The real app with the real scorer for ``spec``, on a free loopback port, findable as `mlops serve` is."""
    from mlops_assets.serving.app import create_app
    from mlops_assets.serving.scorer import scorer_loader
    from mlops_assets.serving.server import BackgroundServer
    from resources.serving import prediction_log_folder, server_state_file

    app = create_app(
        scorer_loader(profile, spec),
        admin_token=TOKEN,
        log_folder=prediction_log_folder(profile.serving_root, spec.name),
    )
    state = server_state_file(profile.serving_root, spec.name)
    with BackgroundServer(app) as running:
        # what `mlops serve` writes, so the deployment assets find this server
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"pid": os.getpid(), "url": running.url}))
        try:
            yield running
        finally:
            state.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def server(pipeline: Pipeline):
    """The credit champion served for the session."""
    from mlops_assets.credit import CREDIT_MODEL

    with serving(pipeline.profile, CREDIT_MODEL) as running:
        yield running
