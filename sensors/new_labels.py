"""`new_labels_sensor`: enough outcomes arrived after the champion's training window → retrain."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import polars as pl

from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from mlops_assets.specs.policy import RetrainPolicy
from sensors.retrain import retrain_request, retrain_sensor


def new_labels_sensor(spec: ModelSpec, policy: RetrainPolicy) -> dg.SensorDefinition:
    name = f"{spec.name}_new_labels_sensor"

    @retrain_sensor(spec, name, f"Retrains {spec.name} once {policy.min_new_labels} labelled events are newer than the champion's training data.")
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource, registry: RegistryResource):
        champion = registry.champion(spec.registered_model)
        if champion is None:
            return dg.SkipReason(f"{spec.name} has no champion yet: the first model comes from the pipeline job")
        path = lake.path(*spec.events.path, "part.parquet")
        if not path.exists():
            return dg.SkipReason(f"no labelled events yet at {path}")
        since = pd.Timestamp(champion.tags["data_window.holdout_end"])
        fresh = pl.scan_parquet(path).filter(pl.col(spec.event_time) > since).select(
            pl.len().alias("n"), pl.col(spec.event_time).max().alias("newest")
        ).collect()
        count, newest = int(fresh["n"][0]), fresh["newest"][0]
        if count < policy.min_new_labels:
            return dg.SkipReason(f"{count} labelled events newer than v{champion.version}'s window ({since:%Y-%m-%d}); need {policy.min_new_labels}")
        marker = f"v{champion.version}:{newest}"
        if context.cursor == marker:
            return dg.SkipReason(f"batch up to {newest} already handled for v{champion.version}")
        return retrain_request(
            context, spec, policy, registry, sensor=name, run_key=f"labels:{marker}",
            reason=f"{count} new labelled events since v{champion.version}'s training window ({since:%Y-%m-%d})", cursor=marker,
        )

    return _sensor
