"""`new_labels_sensor`: enough outcomes arrived after the champion's training data, relative to its size → retrain."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import polars as pl

from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.reasons import new_labels_reason
from sensors.retrain import retrain_request, retrain_sensor


def new_labels_sensor(spec: ModelSpec) -> dg.SensorDefinition:
    name = f"{spec.name}_new_labels_sensor"
    policy = spec.policy

    @retrain_sensor(spec, name, f"Retrains {spec.name} once labelled events newer than the champion's training data reach "
                                f"{policy.min_new_label_share:.0%} of its training rows (at least {policy.min_new_labels}).")
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource, registry: RegistryResource):
        champion = registry.champion(spec.registered_model)
        if champion is None:
            return dg.SkipReason(f"{spec.name} has no champion yet: the first model comes from the pipeline job")
        path = lake.path(*spec.events.path, "part.parquet")
        if not path.exists():
            return dg.SkipReason(f"no labelled events yet at {path}")
        since = pd.Timestamp(champion.tags["data_window.holdout_end"])
        counts = pl.scan_parquet(path).select(
            (pl.col(spec.event_time) > since).sum().alias("new"), (pl.col(spec.event_time) <= since).sum().alias("old"),
            pl.col(spec.event_time).max().alias("newest"),
        ).collect()
        new, newest = int(counts["new"][0]), counts["newest"][0]
        trained_on = int(champion.tags.get("train_rows") or counts["old"][0])  # versions older than the tag: what lay before its window
        reason = new_labels_reason(policy, new_rows=new, training_rows=trained_on, version=str(champion.version))
        if not reason.fired:
            return dg.SkipReason(reason.why)
        marker = f"v{champion.version}:{newest}"
        if context.cursor == marker:
            return dg.SkipReason(f"batch up to {newest} already handled for v{champion.version}")
        return retrain_request(context, spec, registry, lake, sensor=name, run_key=f"labels:{marker}", reason=reason.why, cursor=marker)

    return _sensor
