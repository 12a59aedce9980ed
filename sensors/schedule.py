"""`weekly_retrain_schedule`: the calendar as one more reason to retrain, asking the policy like every sensor."""

from __future__ import annotations

import dagster as dg

from mlops_assets.provenance import automatic_tags
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.retrain import policy_verdict

WEEKLY = "0 3 * * 1"  # Mondays 03:00 UTC


def weekly_retrain_schedule(spec: ModelSpec) -> dg.ScheduleDefinition:
    name = f"{spec.name}_weekly_retrain"

    @dg.schedule(
        name=name,
        cron_schedule=WEEKLY,
        job_name=spec.retrain_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Retrains {spec.name} every Monday 03:00 UTC if its retrain policy allows (new data, breaker, cooldown); the gate still decides what serves.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext, lake: LakeResource, registry: RegistryResource):
        verdict = policy_verdict(context.instance, spec, lake, registry)
        if not verdict.allowed:
            return dg.SkipReason(f"weekly retrain of {spec.name} held back: {verdict.why}")
        return dg.RunRequest(tags=automatic_tags(f"{name} schedule ({verdict.why})"))

    return _schedule
