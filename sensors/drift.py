"""`drift_sensor`: the newest drift report of the champion fired (see `assess_drift`) → retrain."""

from __future__ import annotations

import json

import dagster as dg

from mlops_assets.monitoring.drift import DriftAssessment
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.retrain import retrain_request, retrain_sensor


def drift_sensor(spec: ModelSpec) -> dg.SensorDefinition:
    """Acts on the verdict the `drift_report` asset stored: the report judged the window by the spec's policy."""
    name = f"{spec.name}_drift_sensor"
    policy = spec.policy

    @retrain_sensor(
        spec, name,
        f"Retrains {spec.name} when the drift report over the latest {policy.drift_window_days} days fired: PSI ≥ "
        f"{policy.psi_threshold} and Holm-adjusted KS p < {policy.drift_p_value} on {policy.drifted_features}+ features.",
    )  # fmt: skip
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource, registry: RegistryResource):
        champion = registry.champion(spec.registered_model)
        if champion is None:
            return dg.SkipReason(f"{spec.name} has no champion yet")
        folder = lake.path(spec.name, "drift_report")
        reports = sorted(folder.glob("date=*.json")) if folder.is_dir() else []
        fresh = [p for p in reports if p.stem.removeprefix("date=") > (context.cursor or "")]
        if not fresh:
            return dg.SkipReason(f"no new drift report since {context.cursor or 'the start'}")
        newest = fresh[-1].stem.removeprefix("date=")
        for path in reversed(fresh):  # newest report of the current champion decides
            report = json.loads(path.read_text())
            if report["champion"] == str(champion.version) and "assessment" in report:
                break
        else:
            context.update_cursor(newest)
            return dg.SkipReason(f"the {len(fresh)} new report(s) are for other versions, or older ones without a windowed assessment")
        day, assessment = report["day"], DriftAssessment.from_dict(report["assessment"])
        if not assessment.fired:
            context.update_cursor(newest)
            return dg.SkipReason(f"window to {day}: {assessment.reason}")
        return retrain_request(
            context, spec, registry, lake, sensor=name, run_key=f"drift:v{champion.version}:{day}",
            reason=f"window {report['window'][0]} to {day} vs v{champion.version}: {assessment.reason}", cursor=newest,
        )

    return _sensor
