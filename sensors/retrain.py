"""From "there is a reason to retrain" to a run request, through the shared `RetrainPolicy`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import dagster as dg
import pandas as pd
import polars as pl

from mlops_assets.provenance import AUTOMATIC_TAG, automatic_tags
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.assets import trained_through
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from sensors.policy import RetrainHistory, Verdict, allow_retrain

UNFINISHED = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


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
    """Automatic retrain runs and unfinished ones from the instance; gate decisions and data windows from the registry."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=spec.retrain_job, tags={AUTOMATIC_TAG: "true"}), limit=100
    )
    starts = [r.create_timestamp.astimezone(timezone.utc) for r in records]
    running = len(instance.get_run_ids(filters=dg.RunsFilter(job_name=spec.retrain_job, statuses=UNFINISHED), limit=10))
    versions = sorted(registry.client().search_model_versions(f"name='{spec.registered_model}'"), key=lambda v: -int(v.version))
    windows = [pd.Timestamp(v.tags["data_window.holdout_end"]) for v in versions if "data_window.holdout_end" in v.tags]
    refused: list[str] = []
    last_refused_at = None
    for version in versions:
        decision = version.tags.get("gate.decision")
        if decision == "promoted":
            break
        if decision == "refused":
            refused.insert(0, str(version.version))
            last_refused_at = last_refused_at or _decided_at(version)
    champion = registry.champion(spec.registered_model)
    return RetrainHistory(retrain_starts=starts, refused_in_a_row=refused, last_refused_at=last_refused_at, running=running,
                          trained_through=max(windows).to_pydatetime() if windows else None,
                          champion_through=_through(champion))


def _through(version) -> datetime | None:
    through = None if version is None else trained_through(version.tags)
    return None if through is None else through.to_pydatetime()


def _decided_at(version) -> datetime:
    """When the gate decided a version (its tag), else when the version was registered."""
    if "gate.decided_at" in version.tags:
        return datetime.fromisoformat(version.tags["gate.decided_at"])
    return datetime.fromtimestamp(version.creation_timestamp / 1000, tz=timezone.utc)


def labelled_through(lake: LakeResource, spec: ModelSpec) -> datetime | None:
    """The newest event time among labelled events: what a retrain started now would train up to."""
    path = lake.path(*spec.events.path, "part.parquet")
    if not path.exists():
        return None
    newest = pl.scan_parquet(path).select(pl.col(spec.event_time).max()).collect().item()
    if newest is None:
        return None
    newest = pd.Timestamp(newest)
    return (newest.tz_localize("UTC") if newest.tzinfo is None else newest).to_pydatetime()


def policy_verdict(instance: dg.DagsterInstance, spec: ModelSpec, lake: LakeResource, registry: RegistryResource,
                   history: RetrainHistory | None = None) -> Verdict:  # fmt: skip
    """The policy's answer for an automatic retrain of ``spec`` now, on the labelled data the lake holds."""
    history = history or retrain_history(instance, spec, registry)
    return allow_retrain(spec.policy, history, datetime.now(timezone.utc), data_through=labelled_through(lake, spec), holdout_days=spec.holdout_days)


def retrain_request(
    context: dg.SensorEvaluationContext,
    spec: ModelSpec,
    registry: RegistryResource,
    lake: LakeResource,
    *,
    sensor: str,
    reason: str,
    run_key: str,
    cursor: str,
) -> dg.RunRequest | dg.SkipReason:
    """A tagged retrain request if ``spec.policy`` allows one now, else the rule that held it back.

    A request moves the sensor's cursor to ``cursor``; one the policy holds back leaves it,
    so the same reason is looked at again on the next tick.
    """
    verdict = policy_verdict(context.instance, spec, lake, registry)
    if not verdict.allowed:
        return dg.SkipReason(f"{reason}, but {verdict.why}")
    context.log.info(f"{sensor}: {reason} ({verdict.why})")
    context.update_cursor(cursor)
    return dg.RunRequest(run_key=run_key, tags=automatic_tags(f"{sensor}: {reason}"))
