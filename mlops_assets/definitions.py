"""The project's single `Definitions`: every source and model of the project, shared assets, jobs and resources.

`dagster dev` (workspace.yaml) loads `defs` from here; the models come from `MLOPS_MODELS`
(default `domains:MODELS`, the two domains this repository ships).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import dagster as dg

from mlops_assets import keys
from mlops_assets.conditions import automation_sensor
from mlops_assets.errors import ConfigurationError
from mlops_assets.features.assets import feature_views_asset, online_features
from mlops_assets.mlflow_run import mlflow_hooks
from mlops_assets.model_factory import build_model_assets
from mlops_assets.monitoring.staleness import online_feature_age_check, training_data_age_key
from mlops_assets.partitions import daily_partitions
from mlops_assets.profile import Profile, load_profile
from mlops_assets.source_factory import build_source_assets, feast_inputs
from mlops_assets.spec_checks import check_against_feature_repo, sources_of
from mlops_assets.specs.model import ModelSpec
from resources import resources_for
from sensors.mlflow_runs import mlflow_run_closers

PIPELINE_JOB = "pipeline"


def project_models(profile: Profile) -> tuple[ModelSpec, ...]:
    """The models named by the profile's `MLOPS_MODELS` (``module:attribute``, a sequence of ModelSpec)."""
    module_name, _, attribute = profile.models.partition(":")
    try:
        models = getattr(importlib.import_module(module_name), attribute or "MODELS")
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(
            f"MLOPS_MODELS={profile.models!r} names no importable sequence of ModelSpec ({exc}); "
            "point it at your module, e.g. MLOPS_MODELS=my_project.models:MODELS"
        ) from exc
    models = tuple(models)
    if not models or not all(isinstance(m, ModelSpec) for m in models):
        raise ConfigurationError(f"MLOPS_MODELS={profile.models!r} must be a non-empty sequence of ModelSpec, got {models!r}")
    return models


def shared_definitions(profile: Profile, models: Sequence[ModelSpec]) -> dg.Definitions:
    """What every source and model share: Feast apply and materialize (with the age of what the online
    store serves), the pipeline job, the sensor that evaluates the automation conditions, resources."""
    sources = sources_of(models)
    featured = [source for source in sources if source.feature_tables]
    online_age = [online_feature_age_check(featured)] if featured else []
    # staleness is measured from the first ingest or retrain on: the replay building a home keeps its
    # own set of checks (tests/dagster/test_pipeline.py holds it)
    staleness = dg.AssetSelection.checks(*online_age, *(training_data_age_key(model) for model in models))
    pipeline = dg.define_asset_job(
        PIPELINE_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.groups("monitoring", "rollout") - staleness,
        hooks=mlflow_hooks(),
        description="The whole graph for a range of days: ingest, validate, features, train, gate, deploy; every domain.",
    )
    shared = [feature_views_asset([key for source in sources for key in feast_inputs(source)]), online_features]
    owners = sorted({owner for source in sources for owner in source.owners})  # every source's team reads these
    return dg.Definitions(
        assets=dg.map_asset_specs(lambda spec: spec.replace_attributes(owners=owners), shared),
        asset_checks=online_age,
        jobs=[pipeline],
        sensors=[*mlflow_run_closers(), automation_sensor()],
        resources=resources_for(profile),
        executor=dg.in_process_executor,
    )


def domain_selection(model: ModelSpec) -> dg.AssetSelection:
    """What the `pipeline` job materializes for one model: its source, the shared Feast assets and its delivery stages."""
    source = model.source
    own = [source.key(stage) for stage in keys.SOURCE_STAGES if stage != "reference"]
    own += [table.key for table in source.feature_tables] + ([source.key("reference")] if source.reference_tables else [])
    return (
        dg.AssetSelection.assets(*own, keys.FEATURE_VIEWS, keys.ONLINE_FEATURES) | dg.AssetSelection.tag("mlops/model", model.name)
    ) - dg.AssetSelection.groups("monitoring", "rollout")


def build_definitions(models: Sequence[ModelSpec] | None = None, *, profile: Profile | None = None) -> dg.Definitions:
    """Every source of ``models`` (default: the profile's project models), every model, and what they share.

    Specs are checked against each other and against the feature repo here, so a bad spec
    fails when the definitions load, with a message that names the fix. Every daily asset
    shares one calendar, starting at the earliest ``first_day`` of the sources: Dagster runs
    no job over assets with different calendars.
    """
    profile = profile or load_profile()
    models = project_models(profile) if models is None else tuple(models)
    sources = sources_of(models)
    check_against_feature_repo(models, profile.feature_repo)
    partitions = daily_partitions(min(source.first_day for source in sources))
    return dg.Definitions.merge(
        shared_definitions(profile, models),
        *(build_source_assets(source, partitions) for source in sources),
        *(build_model_assets(model, partitions) for model in models),
    )


def __getattr__(name: str) -> dg.Definitions:
    """`defs`, built on first access so importing the package reads no environment and builds nothing."""
    if name == "defs":
        return build_definitions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
