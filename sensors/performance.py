"""`performance_sensor`: the champion's live metric on labelled predictions fell below the gate's bound → retrain."""

from __future__ import annotations

import dagster as dg
import polars as pl

from mlops_assets.evaluation.metrics import classification_metrics, higher_is_better
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from mlops_assets.specs.policy import RetrainPolicy
from sensors.retrain import retrain_request, retrain_sensor


def performance_sensor(spec: ModelSpec, policy: RetrainPolicy) -> dg.SensorDefinition:
    name = f"{spec.name}_performance_sensor"

    @retrain_sensor(spec, name, f"Retrains {spec.name} when live {spec.metric} over {policy.live_window_days} days falls {policy.max_live_drop} below its holdout value.")
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource, registry: RegistryResource):
        champion = registry.champion(spec.registered_model)
        if champion is None:
            return dg.SkipReason(f"{spec.name} has no champion yet")
        table = f"{spec.name}/live_performance"
        days = lake.partitions(table)[-policy.live_window_days:]
        if not days:
            return dg.SkipReason("no live performance yet")
        rows = lake.scan_partitions(table, days).filter(pl.col("model_version") == str(champion.version)).collect()
        marker = f"v{champion.version}:{days[-1]}:{rows.height}"
        if context.cursor == marker:
            return dg.SkipReason(f"nothing new since {days[-1]}")
        if rows.height < policy.min_live_labels or rows[spec.label].n_unique() < 2:
            context.update_cursor(marker)
            return dg.SkipReason(f"{rows.height} labelled predictions of v{champion.version} in {days[0]}..{days[-1]}; need {policy.min_live_labels}")
        live = classification_metrics(rows[spec.label].to_numpy(), rows["score"].to_numpy())[spec.metric]
        holdout = float(champion.tags["gate.challenger"])
        drop = (holdout - live) if higher_is_better(spec.metric) else (live - holdout)
        if drop <= policy.max_live_drop:
            context.update_cursor(marker)
            return dg.SkipReason(f"live {spec.metric} {live:.4f} on {rows.height} outcomes vs holdout {holdout:.4f}: within {policy.max_live_drop}")
        return retrain_request(
            context, spec, policy, registry, sensor=name, run_key=f"perf:{marker}",
            reason=f"live {spec.metric} {live:.4f} on {rows.height} outcomes ({days[0]}..{days[-1]}) is {drop:.4f} worse than v{champion.version}'s holdout {holdout:.4f}",
            cursor=marker,
        )

    return _sensor
