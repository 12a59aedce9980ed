"""Staleness checks on the session pipeline's registry and online store: how many days of data what serves has not seen."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import dagster as dg
import pandas as pd

from domains.access_requests import ACCESS_REQUESTS
from domains.credit import APPLICATIONS, CREDIT_MODEL
from mlops_assets.features.tables import EVENT_TIMESTAMP
from mlops_assets.monitoring.staleness import TRAINED_TO_TAG, online_feature_age, training_data_age, training_data_age_check
from resources import resources_for
from resources.lake import LakeResource
from tests.conftest import Pipeline

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def newest_day_with_rows(pipeline: Pipeline, table: str) -> date:
    folder = pipeline.profile.lake_root / table
    return max(date.fromisoformat(p.name.removeprefix("date=")) for p in folder.glob("date=*") if len(pd.read_parquet(p / "part.parquet")))


def scratch_lake(tmp_path, source, day: date) -> LakeResource:
    """A lake whose newest validated day of ``source`` is ``day`` (one row)."""
    lake = LakeResource(root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))
    lake.write_partition(pd.DataFrame({source.id_column: [1]}), source.key("validated").path[-1], day.isoformat())
    return lake


def test_training_data_age_counts_the_days_the_champion_has_not_seen(pipeline: Pipeline):
    resources = resources_for(pipeline.profile)
    trained_to = datetime.fromisoformat(resources["registry"].champion("credit").tags[TRAINED_TO_TAG]).date()
    newest = newest_day_with_rows(pipeline, "validated_applications")  # other tests may have landed later days
    result = training_data_age(CREDIT_MODEL, resources["lake"], resources["registry"])
    assert result.passed
    shown = {name: value.value for name, value in result.metadata.items()}
    assert shown == {"age_days": (newest - trained_to).days, "trained_to": trained_to.isoformat(), "newest_landed_day": newest.isoformat(),
                     "max_age_days": 60, "champion_version": shown["champion_version"]}  # fmt: skip
    assert trained_to == pipeline.landed["applications"].last_day - timedelta(days=APPLICATIONS.labels.delay_days)  # outcomes trail events


def test_training_data_age_warns_in_dagster_once_data_outgrows_the_limit(pipeline: Pipeline, tmp_path):
    registry = resources_for(pipeline.profile)["registry"]
    trained_to = datetime.fromisoformat(registry.champion("credit").tags[TRAINED_TO_TAG]).date()
    lake = scratch_lake(tmp_path, APPLICATIONS, trained_to + timedelta(days=61))
    check = training_data_age_check(CREDIT_MODEL)
    defs = dg.Definitions(asset_checks=[check], jobs=[dg.define_asset_job("age", selection=dg.AssetSelection.checks(check))],
                          resources={"lake": lake, "registry": registry})  # fmt: skip
    run = defs.resolve_job_def("age").execute_in_process(instance=dg.DagsterInstance.ephemeral(), run_config=QUIET)
    assert run.success  # a warning, not a failed run
    [evaluation] = run.get_asset_check_evaluations()
    assert (evaluation.check_name, evaluation.passed, evaluation.severity) == ("credit_training_data_age", False, dg.AssetCheckSeverity.WARN)
    assert evaluation.metadata["age_days"].value == 61
    assert "limit 60: ModelSpec.max_training_data_age_days" in evaluation.description


def test_online_feature_age_reads_back_the_newest_feature_row(pipeline: Pipeline, tmp_path):
    resources = resources_for(pipeline.profile)
    served = online_feature_age([ACCESS_REQUESTS], resources["lake"], resources["feast"])
    newest = newest_day_with_rows(pipeline, "validated_access_requests")
    tables = served.metadata["tables"].value
    assert served.passed and set(tables) == {t.name for t in ACCESS_REQUESTS.feature_tables}
    for table in ACCESS_REQUESTS.feature_tables:
        rows = pd.read_parquet(pipeline.profile.lake_root / "features" / f"{table.name}.parquet", columns=[EVENT_TIMESTAMP])
        assert tables[table.name]["served_day"] == rows[EVENT_TIMESTAMP].max().date().isoformat()  # the online store holds the newest row
        assert tables[table.name]["newest_landed_day"] == newest.isoformat()

    # a newer row the online store was not given: it still answers with the older one
    later = newest + timedelta(days=5)
    lake = scratch_lake(tmp_path, ACCESS_REQUESTS, later)
    shutil.copytree(pipeline.profile.lake_root / "features", lake.path("features"))
    table = ACCESS_REQUESTS.feature_tables[0]
    path = lake.path(*table.lake_path)
    frame = pd.read_parquet(path)
    newer = frame.sort_values(EVENT_TIMESTAMP).tail(1).assign(**{EVENT_TIMESTAMP: pd.Timestamp(later, tz="UTC")})
    pd.concat([frame, newer]).to_parquet(path, index=False)
    stale = online_feature_age([ACCESS_REQUESTS], lake, resources["feast"])
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.WARN
    assert stale.metadata["oldest_table"].value == table.name
    assert stale.metadata["served_day"].value < later.isoformat() and stale.metadata["age_days"].value > 2
