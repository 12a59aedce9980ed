"""The loop closed by the real daemon: files land, sensors fire, a retrain registers a new version."""

from __future__ import annotations

import os
import time

import dagster as dg
import pandas as pd
import pytest

from tests.conftest import TOKEN, Pipeline
from tests.dagster_dev import dagster_dev

DEADLINE_S = 480


def land_next_day_with_outcomes(pipeline: Pipeline, tables) -> str:
    """A new day of applications plus the outcomes of the week before it, as the replay would write them."""
    from domains.credit import APPLICATIONS
    from mlops_assets.simulate import ReplayTables, write_landing

    last = pipeline.landed["applications"].last_day
    # the data ends on the last landed day; shift the week before it forward by 7 days to make a new one
    week = tables.events[(tables.events.event_timestamp.dt.date > last - pd.Timedelta(days=7))].copy()
    week["event_timestamp"] += pd.Timedelta(days=7)
    week["created_timestamp"] += pd.Timedelta(days=7)
    week["loan_id"] += 5_000_000
    shifted = ReplayTables(events=pd.concat([tables.events, week], ignore_index=True), reference=tables.reference)
    write_landing(APPLICATIONS, shifted, pipeline.profile.landing_root, start=last, days=8)
    return (last + pd.Timedelta(days=7)).isoformat()


@pytest.mark.integration
def test_daemon_sensors_ingest_new_files_and_retrain(pipeline: Pipeline, tmp_path, credit_tables):
    from mlflow import MlflowClient

    uri = pipeline.profile.mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # the registry URI is process-global otherwise
    before = {str(v.version) for v in client.search_model_versions("name='credit'")}
    new_day = land_next_day_with_outcomes(pipeline, credit_tables)
    env = {**os.environ, **pipeline.profile.environ(), "MLOPS_ADMIN_TOKEN": TOKEN, "TMPDIR": str(tmp_path)}
    with dagster_dev(env, tmp_path / "dagster_dev.log") as dev:
        started = time.monotonic()
        new_versions: set[str] = set()
        ingested = False
        while time.monotonic() - started < DEADLINE_S and not new_versions:
            assert dev.process.poll() is None, dev.tail()
            time.sleep(5)
            ingested = ingested or (pipeline.profile.lake_root / "validated_applications" / f"date={new_day}" / "part.parquet").exists()
            # a version counts once its training step has tagged it (registration comes first)
            new_versions = {str(v.version) for v in client.search_model_versions("name='credit'") if "trigger" in v.tags} - before
        elapsed = time.monotonic() - started
        assert ingested, f"applications_arrival_sensor did not ingest {new_day} within {elapsed:.0f}s"
        assert new_versions, f"no retrain registered a version within {elapsed:.0f}s"
        version = client.get_model_version("credit", max(new_versions, key=int))
        assert version.tags["trigger"].startswith(("credit_new_labels_sensor", "credit_drift_sensor", "credit_performance_sensor"))
        print(f"\ndaemon: ingest + sensor-triggered retrain registered v{version.version} in {elapsed:.0f}s ({version.tags['trigger']})")
        runs = pipeline.instance.get_run_records(filters=dg.RunsFilter(tags={"mlops/automatic": "true"}))
        assert any(r.dagster_run.job_name == "applications_ingest" for r in runs)
