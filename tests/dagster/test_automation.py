"""Declarative automation on the real instance of the session pipeline: a validated day brings its drift report,
a day Great Expectations rejected brings nothing, until it passes."""

from __future__ import annotations

import json

import time
from datetime import timedelta

import pandas as pd

from domains.credit import APPLICATIONS
from mlops_assets import keys
from mlops_assets.automation import follow_upstream, requested_by_conditions
from mlops_assets.conditions import AUTOMATION_SENSOR
from mlops_assets.runs import run_job
from mlops_assets.simulate.landing import landing_path
from tests.conftest import Pipeline

DRIFT = keys.model_key("credit", "drift_report")
VALIDATION = [APPLICATIONS.key(stage) for stage in ("raw", "validated", "quarantined")]  # what an ingest run that stops at validation writes


def land(pipeline: Pipeline, offset: int, *, bad: bool) -> str:
    """40 applications of the last landed day, as a new day ``offset`` days later; a bad one has a quarter of its incomes null."""
    last = pipeline.landed["applications"].last_day
    frame = pd.read_parquet(landing_path(pipeline.profile.landing_root, "applications", last)).head(40).copy()
    frame["loan_id"] += 3_000_000 + 1_000 * offset
    if bad:
        frame["person_income"] = frame["person_income"].astype("float64")
        frame.loc[frame.index[:10], "person_income"] = None
    day = last + timedelta(days=offset)
    for column in ("event_timestamp", "created_timestamp"):  # the events of a day happen on it
        frame[column] += pd.Timedelta(days=offset)
    path = landing_path(pipeline.profile.landing_root, "applications", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return day.isoformat()


def validate(pipeline: Pipeline, day: str) -> bool:
    """The ingest job for one day, up to validation only: as a UI materialization of validated_applications would."""
    return run_job(pipeline.defs, pipeline.instance, "applications_ingest", days=(day, day), trigger="test", assets=VALIDATION).success


def test_a_validated_day_brings_its_drift_report_and_a_rejected_day_nothing(pipeline: Pipeline):
    defs, instance = pipeline.defs, pipeline.instance
    requested_by_conditions(defs, instance)  # the first evaluation only sets the baseline (STACK_NOTES §1)

    good = land(pipeline, 10, bad=False)
    assert validate(pipeline, good)
    started = time.perf_counter()
    outcomes = follow_upstream(defs, instance)  # evaluate, then run what is requested, as `mlops tick` does
    assert [(o.sensor, o.message, o.success) for o in outcomes] == [(AUTOMATION_SENSOR, f"credit/drift_report [{good}..{good}]", True)]
    report = json.loads((pipeline.profile.lake_root / "credit" / "drift_report" / f"date={good}.json").read_text())
    assert report["window"][1] == good and report["assessment"]["rows"] >= 40  # the window ending on the new day holds its 40 rows
    print(f"\nautomation: evaluation and the drift run of {good}: {time.perf_counter() - started:.1f}s")

    bad = land(pipeline, 11, bad=True)
    assert not validate(pipeline, bad)  # the blocking check failed; validated_applications[bad] is written (empty) all the same
    started = time.perf_counter()
    assert requested_by_conditions(defs, instance) == {}  # not the drift report of the rejected day, nor anything else
    print(f"automation: one evaluation {time.perf_counter() - started:.2f}s")

    land(pipeline, 11, bad=False)  # the same day again, fixed
    assert validate(pipeline, bad)
    assert requested_by_conditions(defs, instance) == {DRIFT: {bad}}
