"""mlops-assets: the machine-learning lifecycle as a Dagster asset graph.

Specs in, Dagster definitions out: a `SourceSpec` says what lands (events, their late labels,
reference tables, feature tables computed from labelled events), a `ModelSpec` what is learnt
from it, and `build_definitions` turns the models into assets, jobs, sensors and schedules:

    from mlops_assets import ModelSpec, SourceSpec, build_definitions
    defs = build_definitions(models=[ModelSpec(name="churn", source=SourceSpec(...), ...)])
"""

from __future__ import annotations

from mlops_assets import keys
from mlops_assets.definitions import build_definitions, project_models
from mlops_assets.errors import ConfigurationError, DataError, MlopsError, ModelNotFoundError
from mlops_assets.features.tables import label_history
from mlops_assets.model_factory import build_model_assets
from mlops_assets.profile import Profile, load_profile
from mlops_assets.simulate.landing import ReplayTables
from mlops_assets.source_factory import build_source_assets
from mlops_assets.specs import Column, FeatureTable, LabelContract, ModelSpec, ReferenceTable, RetrainPolicy, SampleData, SourceSpec
from mlops_assets.training.trainers import TrainedModel, train_lightgbm, train_logistic_baseline

__all__ = [
    "Column",
    "ConfigurationError",
    "DataError",
    "FeatureTable",
    "LabelContract",
    "MlopsError",
    "ModelNotFoundError",
    "ModelSpec",
    "Profile",
    "ReferenceTable",
    "ReplayTables",
    "RetrainPolicy",
    "SampleData",
    "SourceSpec",
    "TrainedModel",
    "build_definitions",
    "build_model_assets",
    "build_source_assets",
    "keys",
    "label_history",
    "load_profile",
    "project_models",
    "train_lightgbm",
    "train_logistic_baseline",
]
