"""Monitoring assets: drift windows judged in the shared pipeline run, and live performance on a home where
outcomes arrive but nothing was served yet (the first ingest under `make dev`)."""

from __future__ import annotations

import json

import dagster as dg
import mlflow
import pandas as pd
import pytest

from domains import MODELS
from domains.credit import CREDIT_MODEL
from mlops_assets import keys
from mlops_assets.monitoring.assets import live_performance_asset, window_days
from mlops_assets.monitoring.drift import DriftAssessment, ReferenceProfile
from mlops_assets.monitoring.prediction_log import prediction_log_asset
from mlops_assets.runs import run_job
from mlops_assets.source_factory import ingest_job_name
from resources import resources_for
from resources.lake import LakeResource
from resources.serving import EndpointResource
from tests.conftest import Pipeline


@pytest.fixture(scope="module")
def drift_runs(pipeline: Pipeline) -> dict[str, dg.ExecuteInProcessResult]:
    """Each model's drift report over the last 10 days of the shared run, as its source's ingest job runs it."""
    end = pipeline.days[1]
    start = (pd.Timestamp(end) - pd.Timedelta(days=9)).strftime("%Y-%m-%d")
    return {
        spec.name: run_job(pipeline.defs, pipeline.instance, ingest_job_name(spec.source), days=(start, end), trigger="test",
                           assets=[keys.model_key(spec.name, "drift_report")])  # fmt: skip
        for spec in MODELS
    }


@pytest.mark.parametrize("spec", MODELS, ids=[m.name for m in MODELS])
def test_each_day_is_judged_on_the_window_ending_there(pipeline: Pipeline, drift_runs, spec, capsys):
    """Every day's report judges the validated rows of its window, tests or skips every profiled input, and the scores."""
    assert drift_runs[spec.name].success
    lake, registry = resources_for(pipeline.profile)["lake"], resources_for(pipeline.profile)["registry"]
    registry.client()
    champion = registry.champion(spec.registered_model)
    profile = ReferenceProfile.from_json(mlflow.artifacts.load_text(champion.tags["reference_profile"]))
    table = spec.inputs.path[-1]
    for day in window_days(pipeline.days[1], 10):
        report = json.loads(lake.path(spec.name, "drift_report", f"date={day}.json").read_text())
        days = window_days(report["day"], spec.policy.drift_window_days)
        assessment = DriftAssessment.from_dict(report["assessment"])
        assert report["window"] == [days[0], days[-1]] and report["champion"] == str(champion.version)
        assert assessment.rows == sum(len(lake.read_partition(table, d)) for d in days if d in lake.partitions(table))
        judged = [f.feature for f in assessment.features] + [name for name, _ in assessment.skipped]
        assert sorted(judged) == sorted(f.name for f in profile.features)
        assert profile.scores is not None and assessment.prediction is not None and assessment.prediction.count == assessment.rows
    events = drift_runs[spec.name].get_asset_materialization_events()  # one per day, each with the newest window's metadata
    assert len(events) == 10
    metadata = events[-1].materialization.metadata
    assert metadata["reason"].value == assessment.reason and metadata["fired"].value == assessment.fired
    assert metadata["prediction_drift"].value.startswith(("drifted: PSI", "not drifted: PSI"))
    with capsys.disabled():
        print(f"\n{spec.name} drift, window to {report['day']}: {'fired' if assessment.fired else 'quiet'}: {assessment.reason}; skipped {dict(assessment.skipped)}")


def test_live_performance_waits_while_the_prediction_log_is_empty(tmp_path):
    """An empty log has untyped (null) columns; joined with outcomes it failed the whole ingest run."""
    lake = LakeResource(root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))
    labels = CREDIT_MODEL.source.key("labels").path[-1]
    outcome = {CREDIT_MODEL.source.id_column: [1], CREDIT_MODEL.label: [0],
               CREDIT_MODEL.source.labels.time_column: [pd.Timestamp("2021-08-25", tz="UTC")]}  # fmt: skip
    lake.write_partition(pd.DataFrame(outcome), labels, "2021-08-25")
    lake.write_partition(pd.DataFrame({CREDIT_MODEL.source.id_column: [1]}), CREDIT_MODEL.inputs.path[-1], "2021-08-25")  # its event
    result = dg.materialize(
        [prediction_log_asset(CREDIT_MODEL), live_performance_asset(CREDIT_MODEL)],
        resources={"lake": lake, "endpoint": EndpointResource(serving_root=str(tmp_path / "serving"))},
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == "live_performance"]
    assert event.materialization.metadata["status"].value == "no predictions or labels yet"
