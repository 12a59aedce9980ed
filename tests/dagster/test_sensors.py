"""Sensors evaluated through Dagster's contexts on the real instance and registry of the pipeline run."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from domains.access_requests import ACCESS_MODEL
from domains.credit import APPLICATIONS, CREDIT_MODEL
from mlops_assets.monitoring.drift import assess_drift, build_profile
from mlops_assets.provenance import AUTOMATIC_TAG
from resources import resources_for
from resources.lake import LakeResource
from sensors.drift import drift_sensor
from sensors.new_labels import new_labels_sensor
from sensors.performance import performance_sensor
from sensors.reasons import new_labels_needed
from mlops_assets.specs.policy import RetrainPolicy
from sensors.arrival import arrival_sensor
from tests.conftest import Pipeline

POLICY = RetrainPolicy(min_new_labels=50, drifted_features=2, min_live_labels=100, cooldown=pd.Timedelta(hours=6).to_pytimedelta())


def under_test_policy(spec=CREDIT_MODEL):
    """The spec with this module's policy: sensors read their thresholds from the spec."""
    return replace(spec, policy=POLICY)


def tick(sensor: dg.SensorDefinition, pipeline: Pipeline, lake: LakeResource, cursor: str | None = None):
    resources = {"lake": lake, "registry": resources_for(pipeline.profile)["registry"]}
    with dg.build_sensor_context(instance=pipeline.instance, cursor=cursor, resources=resources, definitions=pipeline.defs) as context:
        result = sensor.evaluate_tick(context)
    return result, result.cursor


def scratch_lake(tmp_path) -> LakeResource:
    return LakeResource(root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))


def champion(pipeline: Pipeline):
    return resources_for(pipeline.profile)["registry"].champion("credit")


def test_raw_arrival_fires_once_per_batch_and_again_for_a_new_file(pipeline: Pipeline, tmp_path):
    lake = scratch_lake(tmp_path)
    for day in ("2021-03-01", "2021-03-02"):
        folder = tmp_path / "landing" / "applications" / f"date={day}"
        folder.mkdir(parents=True)
        pd.DataFrame({"loan_id": [1]}).to_parquet(folder / "applications.parquet")
    sensor = arrival_sensor(APPLICATIONS, "applications_ingest")
    first, cursor = tick(sensor, pipeline, lake)
    assert len(first.run_requests) == 1
    tags = first.run_requests[0].tags
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == ("2021-03-01", "2021-03-02")
    assert tags["mlops/trigger"].startswith("applications_arrival_sensor")
    again, cursor = tick(sensor, pipeline, lake, cursor)
    assert not again.run_requests and "no new landing files" in again.skip_message
    labels = tmp_path / "landing" / "applications_labels" / "date=2021-03-03"
    labels.mkdir(parents=True)
    pd.DataFrame({"loan_id": [1]}).to_parquet(labels / "labels.parquet")
    third, _ = tick(sensor, pipeline, lake, cursor)
    assert [r.tags["dagster/asset_partition_range_start"] for r in third.run_requests] == ["2021-03-03"]
    assert third.run_requests[0].run_key != first.run_requests[0].run_key


def labelled_events(pipeline: Pipeline, lake: LakeResource, newer: int, spec=CREDIT_MODEL) -> None:
    table = spec.events.path[-1]
    events = pd.read_parquet(pipeline.profile.lake_root / table / "part.parquet")
    since = pd.Timestamp(resources_for(pipeline.profile)["registry"].champion(spec.name).tags["data_window.holdout_end"])
    # later than the champion's data by its holdout, so a challenger would learn something newer (the policy's rule)
    extra = events.tail(newer).assign(**{spec.event_time: since + pd.Timedelta(days=spec.holdout_days, hours=1)})
    lake.write_table(pd.concat([events, extra]), table, "part.parquet")


@pytest.mark.parametrize("spec", [CREDIT_MODEL, ACCESS_MODEL], ids=["credit", "access"])
def test_new_labels_fires_at_the_threshold_and_once_per_batch(pipeline: Pipeline, tmp_path, spec):
    lake = scratch_lake(tmp_path)
    sensor = new_labels_sensor(under_test_policy(spec))
    trained_on = int(resources_for(pipeline.profile)["registry"].champion(spec.name).tags["train_rows"])
    needed = new_labels_needed(POLICY, trained_on)  # relative to what the champion learnt from
    assert needed > POLICY.min_new_labels
    labelled_events(pipeline, lake, newer=needed - 1, spec=spec)
    below, cursor = tick(sensor, pipeline, lake)
    assert not below.run_requests and f"{needed - 1} labelled events" in below.skip_message and f"need {needed}" in below.skip_message
    labelled_events(pipeline, lake, newer=needed, spec=spec)
    fired, cursor = tick(sensor, pipeline, lake, cursor)
    assert len(fired.run_requests) == 1
    assert fired.run_requests[0].tags["mlops/trigger"].startswith(f"{spec.name}_new_labels_sensor: {needed} new labelled events")
    assert fired.run_requests[0].tags[AUTOMATIC_TAG] == "true"
    repeat, _ = tick(sensor, pipeline, lake, cursor)
    assert not repeat.run_requests and "already handled" in repeat.skip_message


DRIFT_FEATURES = ["f0", "f1", "f2"]
DRIFT_PROFILE = build_profile(pd.DataFrame(np.random.default_rng(0).normal(0, 1, (5_000, 3)), columns=DRIFT_FEATURES), DRIFT_FEATURES)


def drift_reports(pipeline: Pipeline, lake: LakeResource, shifted: dict[str, int], *, model: str = "credit", version: str | None = None) -> None:
    """Reports as `drift_report` writes them: `assess_drift` on 1,000 rows with that many of three features shifted by 1 sd."""
    version = version or str(champion(pipeline).version)
    for day, count in shifted.items():
        window = pd.DataFrame(np.random.default_rng(1).normal(0, 1, (1_000, 3)), columns=DRIFT_FEATURES)
        window.iloc[:, :count] += 1.0
        record = {"day": day, "champion": version, "window": [day, day], "assessment": assess_drift(DRIFT_PROFILE, window, policy=POLICY).to_dict()}
        lake.write_json(record, model, "drift_report", f"date={day}.json")


def test_drift_fires_when_the_newest_report_fired(pipeline: Pipeline, tmp_path):
    lake = scratch_lake(tmp_path)
    sensor = drift_sensor(under_test_policy())
    drift_reports(pipeline, lake, {"2021-09-01": 1})
    one, cursor = tick(sensor, pipeline, lake)
    assert not one.run_requests and "1 of 3 drifted" in one.skip_message and "2 needed" in one.skip_message
    drift_reports(pipeline, lake, {"2021-09-02": 2})
    two, cursor = tick(sensor, pipeline, lake, cursor)
    assert len(two.run_requests) == 1
    trigger = two.run_requests[0].tags["mlops/trigger"]
    assert "2021-09-02 vs v" in trigger and "2 of 3 drifted over 1,000 rows" in trigger and "f0 (PSI" in trigger
    again, _ = tick(sensor, pipeline, lake, cursor)
    assert not again.run_requests


def test_drift_skips_reports_without_an_assessment(pipeline: Pipeline, tmp_path):
    """A lake from before windowed drift holds per-day reports with PSI only: they do not fire."""
    lake = scratch_lake(tmp_path)
    old = {"day": "2021-09-01", "champion": str(champion(pipeline).version), "rows": 80, "features": [{"feature": "a", "psi": 1.0}, {"feature": "b", "psi": 1.0}]}
    lake.write_json(old, "credit", "drift_report", "date=2021-09-01.json")
    result, cursor = tick(drift_sensor(under_test_policy()), pipeline, lake)
    assert not result.run_requests and "without a windowed assessment" in result.skip_message and cursor == "2021-09-01"


def live_rows(pipeline: Pipeline, lake: LakeResource, *, informative: bool) -> None:
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 300)
    score = np.clip(label * 0.6 + rng.uniform(0, 0.4, 300), 0, 1) if informative else rng.uniform(0, 1, 300)
    frame = pd.DataFrame({"request_id": [str(i) for i in range(300)], "model_version": str(champion(pipeline).version), "score": score, "loan_status": label})
    lake.write_partition(frame, "credit/live_performance", "2021-09-05")


@pytest.mark.parametrize("informative, fires", [(True, False), (False, True)])
def test_performance_fires_when_live_auc_falls_below_the_bound(pipeline: Pipeline, tmp_path, informative, fires):
    lake = scratch_lake(tmp_path)
    live_rows(pipeline, lake, informative=informative)
    result, _ = tick(performance_sensor(under_test_policy()), pipeline, lake)
    assert bool(result.run_requests) == fires
    if fires:
        assert "worse than v" in result.run_requests[0].tags["mlops/trigger"]
    else:
        assert "within" in result.skip_message


@pytest.mark.parametrize("status, rule", [(dg.DagsterRunStatus.STARTED, "already running"), (dg.DagsterRunStatus.SUCCESS, "cooldown")])
def test_a_running_or_recent_automatic_retrain_holds_every_trigger(pipeline: Pipeline, tmp_path, status, rule):
    lake = scratch_lake(tmp_path)
    drift_reports(pipeline, lake, {"2021-09-03": 3})
    live_rows(pipeline, lake, informative=False)
    job = pipeline.defs.resolve_job_def(CREDIT_MODEL.retrain_job)
    run = pipeline.instance.create_run_for_job(job_def=job, tags={AUTOMATIC_TAG: "true"}, status=status)
    try:
        for sensor in (drift_sensor(under_test_policy()), performance_sensor(under_test_policy())):
            result, _ = tick(sensor, pipeline, lake)
            assert not result.run_requests and rule in result.skip_message
    finally:
        pipeline.instance.delete_run(run.run_id)


def test_circuit_breaker_pauses_retraining_after_refusals(pipeline: Pipeline, tmp_path):
    from sensors.retrain import retrain_history

    registry = resources_for(pipeline.profile)["registry"]
    client = registry.client()
    name = "breaker_demo"
    client.create_registered_model(name)
    source = champion(pipeline).source
    decisions = ["promoted", "refused", "refused", "refused"]
    for decision in decisions:
        version = client.create_model_version(name, source=source)
        client.set_model_version_tag(name, version.version, "gate.decision", decision)
    spec = replace(CREDIT_MODEL, name=name)
    assert retrain_history(pipeline.instance, spec, registry).refused_in_a_row == ["2", "3", "4"]
    client.set_registered_model_alias(name, "champion", "1")
    lake = scratch_lake(tmp_path)
    drift_reports(pipeline, lake, {"2021-09-04": 3}, model=name, version="1")
    result, _ = tick(drift_sensor(replace(spec, policy=POLICY)), pipeline, lake)
    assert not result.run_requests and "circuit breaker open" in result.skip_message and "v2, v3, v4" in result.skip_message


def test_raw_arrival_starts_from_what_dagster_already_ingested(pipeline: Pipeline, tmp_path):
    """A new sensor (no cursor) does not re-ingest history, only days new since the last ingest."""
    import os

    lake = scratch_lake(tmp_path)
    old_day, new_day = pipeline.days[0], "2021-03-05"
    for day in (old_day, new_day):
        folder = tmp_path / "landing" / "applications" / f"date={day}"
        folder.mkdir(parents=True)
        pd.DataFrame({"loan_id": [1]}).to_parquet(folder / "applications.parquet")
    os.utime(tmp_path / "landing" / "applications" / f"date={old_day}" / "applications.parquet", (0, 0))  # landed long ago
    first, _ = tick(arrival_sensor(APPLICATIONS, "applications_ingest"), pipeline, lake)
    [request] = first.run_requests
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) == (new_day, new_day)


def test_triggers_of_one_window_coalesce_no_retrain_without_newer_labelled_data(pipeline: Pipeline, tmp_path):
    """A drift alarm on data the champion's retrain already had starts nothing: one window, at most one retrain."""
    lake = scratch_lake(tmp_path)
    labelled_events(pipeline, lake, newer=0)  # labelled data ends where the champion's training set ended
    drift_reports(pipeline, lake, {"2021-09-06": 3})
    result, _ = tick(drift_sensor(under_test_policy()), pipeline, lake)
    assert not result.run_requests and "no labelled data newer than the last retrain" in result.skip_message


def test_weekly_schedule_asks_the_policy(pipeline: Pipeline, tmp_path):
    from sensors.schedule import weekly_retrain_schedule

    lake = scratch_lake(tmp_path)
    schedule = weekly_retrain_schedule(under_test_policy())
    resources = {"lake": lake, "registry": resources_for(pipeline.profile)["registry"]}

    def evaluate():
        with dg.build_schedule_context(instance=pipeline.instance, resources=resources, scheduled_execution_time=pd.Timestamp("2021-09-06 03:00", tz="UTC")) as context:
            return schedule.evaluate_tick(context)

    labelled_events(pipeline, lake, newer=1)
    [request] = evaluate().run_requests
    assert request.tags[AUTOMATIC_TAG] == "true" and request.tags["mlops/trigger"].startswith("credit_weekly_retrain schedule")
    labelled_events(pipeline, lake, newer=0)
    held = evaluate()
    assert not held.run_requests and "no labelled data newer" in held.skip_message
    labelled_events(pipeline, lake, newer=1)
    schedule = weekly_retrain_schedule(replace(under_test_policy(), policy=replace(POLICY, scheduled_retrain_age=timedelta(days=36500))))
    fresh = evaluate()  # the champion's 2021 data is not a century old: nothing to do
    assert not fresh.run_requests and "scheduled_retrain_age" in fresh.skip_message


def land_days(tmp_path, *days: str, folder: str = "applications") -> None:
    for day in days:
        path = tmp_path / "landing" / folder / day
        path.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"loan_id": [len(day)]}).to_parquet(path / "part.parquet")


def arrival_tick(pipeline: Pipeline, instance: dg.DagsterInstance, lake: LakeResource, cursor: str | None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"lake": lake}, definitions=pipeline.defs) as context:
        result = arrival_sensor(APPLICATIONS, "applications_ingest").evaluate_tick(context)
    return result, result.cursor


def ranges(result) -> list[tuple[str, str]]:
    return [(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"]) for r in result.run_requests]


def test_a_folder_that_is_not_a_day_is_reported_and_loses_no_day(pipeline: Pipeline, tmp_path):
    """Issue 16: a `date=latest` folder crashed `mlops tick`, and the next tick called its days seen."""
    lake, instance = scratch_lake(tmp_path), dg.DagsterInstance.ephemeral()
    land_days(tmp_path, "date=2021-03-01", "date=latest", "date=2021-3-2")
    (tmp_path / "landing" / "applications" / "notes.txt").write_text("stray")
    first, cursor = arrival_tick(pipeline, instance, lake, None)
    assert ranges(first) == [("2021-03-01", "2021-03-01")]
    again, cursor = arrival_tick(pipeline, instance, lake, cursor)
    assert not again.run_requests
    assert "left out applications/date=2021-3-2, applications/date=latest, applications/notes.txt" in again.skip_message
    land_days(tmp_path, "date=2021-03-02")  # the files moved where they belong are ingested
    third, _ = arrival_tick(pipeline, instance, lake, cursor)
    assert ranges(third) == [("2021-03-02", "2021-03-02")]


def test_a_failed_batch_is_retried_day_by_day_so_its_good_days_land(pipeline: Pipeline, tmp_path):
    """Issue 16: after a batch failed on one bad day, only the fixed day was re-run; its good days never landed."""
    from dagster._core.test_utils import create_run_for_test

    lake, instance = scratch_lake(tmp_path), dg.DagsterInstance.ephemeral()
    days = ("2021-03-01", "2021-03-02", "2021-03-03")
    land_days(tmp_path, *(f"date={d}" for d in days))
    first, cursor = arrival_tick(pipeline, instance, lake, None)
    assert ranges(first) == [("2021-03-01", "2021-03-03")]
    waiting, cursor = arrival_tick(pipeline, instance, lake, cursor)  # the batch has not run yet: nothing to retry
    assert not waiting.run_requests

    create_run_for_test(instance, status=dg.DagsterRunStatus.FAILURE, tags={"dagster/run_key": first.run_requests[0].run_key})
    retry, cursor = arrival_tick(pipeline, instance, lake, cursor)
    assert ranges(retry) == [(d, d) for d in days]
    assert all("retry of" in r.tags["mlops/trigger"] for r in retry.run_requests)

    for request in retry.run_requests:  # the bad day fails alone; the others land
        bad = request.tags["dagster/asset_partition_range_start"] == "2021-03-02"
        create_run_for_test(instance, status=dg.DagsterRunStatus.FAILURE if bad else dg.DagsterRunStatus.SUCCESS,
                            tags={"dagster/run_key": request.run_key})  # fmt: skip
    settled, cursor = arrival_tick(pipeline, instance, lake, cursor)
    assert not settled.run_requests, "a day that fails alone waits for new files"
    assert json.loads(cursor)["batches"] == {}

    land_days(tmp_path, "date=2021-03-02")  # fixed and re-landed
    fixed, _ = arrival_tick(pipeline, instance, lake, cursor)
    assert ranges(fixed) == [("2021-03-02", "2021-03-02")]
