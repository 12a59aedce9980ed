"""`weekly_retrain_schedule`: the calendar as a backstop against a stale champion, asking the policy like every sensor."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from mlops_assets.provenance import automatic_tags
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.reasons import schedule_reason
from sensors.retrain import policy_verdict, retrain_history

WEEKLY = "0 3 * * 1"  # Mondays 03:00 UTC


def weekly_retrain_schedule(spec: ModelSpec) -> dg.ScheduleDefinition:
    name = f"{spec.name}_weekly_retrain"

    @dg.schedule(
        name=name,
        cron_schedule=WEEKLY,
        job_name=spec.retrain_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Each Monday 03:00 UTC, retrains {spec.name} if its champion's newest training data is "
        f"{spec.policy.scheduled_retrain_age.days} days old or older and its retrain policy allows (new data, breaker, cooldown); "
        "the gate still decides what serves.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext, lake: LakeResource, registry: RegistryResource):
        history = retrain_history(context.instance, spec, registry)
        reason = schedule_reason(spec.policy, champion_through=history.champion_through, now=datetime.now(timezone.utc),
                                 challenged_through=history.trained_through)
        if not reason.fired:
            return dg.SkipReason(f"weekly retrain of {spec.name} not needed: {reason.why}")
        verdict = policy_verdict(context.instance, spec, lake, registry, history)
        if not verdict.allowed:
            return dg.SkipReason(f"weekly retrain of {spec.name} held back: {verdict.why}")
        return dg.RunRequest(tags=automatic_tags(f"{name} schedule ({reason.why}; {verdict.why})"))

    return _schedule
