"""`performance_sensor`: the champion's live metric on labelled predictions fell below the gate's bound → retrain."""

from __future__ import annotations

import dagster as dg
import polars as pl

from mlops_assets.evaluation.metrics import classification_metrics, higher_is_better
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.reasons import performance_reason
from sensors.retrain import retrain_request, retrain_sensor


def performance_sensor(spec: ModelSpec) -> dg.SensorDefinition:
    name = f"{spec.name}_performance_sensor"
    policy = spec.policy

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
        if rows.height == 0 or rows[spec.label].n_unique() < 2:
            context.update_cursor(marker)
            return dg.SkipReason(f"{rows.height} labelled predictions of v{champion.version} in {days[0]}..{days[-1]}, not both outcomes")
        live = classification_metrics(rows[spec.label].to_numpy(), rows["score"].to_numpy())[spec.metric]
        reason = performance_reason(policy, metric=spec.metric, live=live, holdout=float(champion.tags["gate.challenger"]),
                                    outcomes=rows.height, higher_is_better=higher_is_better(spec.metric), version=str(champion.version))
        if not reason.fired:
            context.update_cursor(marker)
            return dg.SkipReason(reason.why)
        return retrain_request(context, spec, registry, lake, sensor=name, run_key=f"perf:{marker}",
                               reason=f"{reason.why} ({days[0]}..{days[-1]})", cursor=marker)

    return _sensor
