"""Monitoring assets on a home where outcomes arrive but nothing was served yet (the first ingest under `make dev`)."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from domains.credit import CREDIT_MODEL
from mlops_assets.monitoring.assets import live_performance_asset
from mlops_assets.monitoring.prediction_log import prediction_log_asset
from resources.lake import LakeResource
from resources.serving import EndpointResource


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
