"""The project's single `Definitions`: shared assets, the credit model, jobs and resources.

`dagster dev` (workspace.yaml) loads `defs` from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from mlops_assets.credit import CREDIT_MODEL
from mlops_assets.factory import build_model_assets, mlflow_hooks
from mlops_assets.features.assets import feature_views, online_features
from mlops_assets.profile import Profile, load_profile
from mlops_assets.specs import ModelSpec
from mlops_assets.raw.assets import raw_applications, raw_labels, reference_tables
from mlops_assets.validated.assets import validated_applications
from mlops_assets.validated.events import labelled_events
from mlops_assets.provenance import automatic_tags
from resources import resources_for
from sensors.mlflow_runs import mlflow_run_closers
from sensors.raw_arrival import raw_arrival_sensor

INGEST_JOB = "ingest"
PIPELINE_JOB = "pipeline"


def default_definitions(profile: Profile | None = None) -> dg.Definitions:
    """Everything shared by all models: ingestion, validation, features, resources and jobs."""
    profile = profile or load_profile()
    shared = [raw_applications, raw_labels, reference_tables, validated_applications, labelled_events, feature_views, online_features]
    ingest = dg.define_asset_job(
        INGEST_JOB,
        selection=dg.AssetSelection.groups("raw", "validated", "monitoring"),
        description="Copy and validate days of applications and labels, then refresh every model's monitoring.",
    )
    pipeline = dg.define_asset_job(
        PIPELINE_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups("monitoring", "rollout"),
        hooks=mlflow_hooks(),
        description="The whole graph for a range of days: ingest, validate, features, train, gate, deploy.",
    )
    nightly = dg.build_schedule_from_partitioned_job(
        ingest, hour_of_day=2, default_status=dg.DefaultScheduleStatus.RUNNING,
        tags=automatic_tags("nightly_ingest schedule"),
    )
    return dg.Definitions(
        assets=shared,
        jobs=[ingest, pipeline],
        sensors=[raw_arrival_sensor(INGEST_JOB), *mlflow_run_closers()],
        schedules=[nightly],
        resources=resources_for(profile),
        executor=dg.in_process_executor,
    )


def build_definitions(profile: Profile | None = None, models: Sequence[ModelSpec] = (CREDIT_MODEL,)) -> dg.Definitions:
    """The shared graph plus one factory build per model (by default the shipped credit model)."""
    return dg.Definitions.merge(default_definitions(profile), *(build_model_assets(spec) for spec in models))


def __getattr__(name: str) -> dg.Definitions:
    """`defs`, built on first access so importing the package reads no environment and builds nothing."""
    if name == "defs":
        return build_definitions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
