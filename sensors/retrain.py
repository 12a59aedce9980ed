"""From "there is a reason to retrain" to a run request, through the shared `RetrainPolicy`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import dagster as dg

from mlops_assets.provenance import AUTOMATIC_TAG, automatic_tags
from mlops_assets.specs.model import ModelSpec
from resources.mlflow import RegistryResource
from mlops_assets.specs.policy import RetrainPolicy
from sensors.policy import RetrainHistory, allow_retrain


def retrain_sensor(spec: ModelSpec, name: str, description: str) -> Callable[..., dg.SensorDefinition]:
    """The decorator every retrain trigger shares: the model's retrain job, checked each minute, on from the start."""
    return dg.sensor(
        name=name,
        job_name=spec.retrain_job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=description,
    )


def retrain_history(instance: dg.DagsterInstance, spec: ModelSpec, registry: RegistryResource) -> RetrainHistory:
    """Automatic retrain runs from the instance; the gate's recent refusals from the registry."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=spec.retrain_job, tags={AUTOMATIC_TAG: "true"}), limit=100
    )
    starts = [r.create_timestamp.astimezone(timezone.utc) for r in records]
    refused: list[str] = []
    for version in sorted(registry.client().search_model_versions(f"name='{spec.registered_model}'"), key=lambda v: -int(v.version)):
        decision = version.tags.get("gate.decision")
        if decision == "promoted":
            break
        if decision == "refused":
            refused.insert(0, str(version.version))
    return RetrainHistory(retrain_starts=starts, refused_in_a_row=refused)


def retrain_request(
    context: dg.SensorEvaluationContext,
    spec: ModelSpec,
    policy: RetrainPolicy,
    registry: RegistryResource,
    *,
    sensor: str,
    reason: str,
    run_key: str,
    cursor: str,
) -> dg.RunRequest | dg.SkipReason:
    """A tagged retrain request if the policy allows one now, else the rule that held it back.

    A request moves the sensor's cursor to ``cursor``; one the policy holds back leaves it,
    so the same reason is looked at again on the next tick.
    """
    verdict = allow_retrain(policy, retrain_history(context.instance, spec, registry), datetime.now(timezone.utc))
    if not verdict.allowed:
        return dg.SkipReason(f"{reason}, but {verdict.why}")
    context.log.info(f"{sensor}: {reason}")
    context.update_cursor(cursor)
    return dg.RunRequest(run_key=run_key, tags=automatic_tags(f"{sensor}: {reason}"))
