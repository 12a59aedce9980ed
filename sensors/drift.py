"""`drift_sensor`: the day's inputs drifted on k features against the champion's profile → retrain."""

from __future__ import annotations

import json

import dagster as dg

from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.retrain import retrain_request, retrain_sensor


def drift_sensor(spec: ModelSpec) -> dg.SensorDefinition:
    name = f"{spec.name}_drift_sensor"
    policy = spec.policy

    @retrain_sensor(spec, name, f"Retrains {spec.name} when PSI ≥ {policy.psi_threshold} on {policy.drifted_features}+ features of a day's inputs.")
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
            if report["champion"] == str(champion.version) and report["features"]:
                break
        else:
            context.update_cursor(newest)
            return dg.SkipReason(f"the {len(fresh)} new report(s) are for other versions or empty days")
        day = report["day"]
        drifted = sorted((f["feature"] for f in report["features"] if f["psi"] >= policy.psi_threshold))
        if len(drifted) < policy.drifted_features:
            context.update_cursor(newest)
            return dg.SkipReason(f"{day}: {len(drifted)} feature(s) with PSI ≥ {policy.psi_threshold} ({', '.join(drifted) or 'none'}); need {policy.drifted_features}")
        top = ", ".join(f"{f['feature']} {f['psi']:.2f}" for f in sorted(report["features"], key=lambda f: -f["psi"])[:3])
        return retrain_request(
            context, spec, registry, lake, sensor=name, run_key=f"drift:v{champion.version}:{day}",
            reason=f"{len(drifted)} features drifted on {day} vs v{champion.version} (PSI {top})", cursor=newest,
        )

    return _sensor
