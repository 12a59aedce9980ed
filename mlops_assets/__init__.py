"""mlops-assets: the machine-learning lifecycle as a Dagster asset graph.

A `ModelSpec` in, Dagster definitions out:

    import dagster as dg
    from mlops_assets import ModelSpec, build_model_assets, default_definitions
    defs = dg.Definitions.merge(default_definitions(), build_model_assets(ModelSpec(...)))
"""

from __future__ import annotations

from mlops_assets import keys
from mlops_assets.credit import CREDIT_MODEL
from mlops_assets.definitions import build_definitions, default_definitions
from mlops_assets.errors import ConfigurationError, DataError, MlopsError, ModelNotFoundError
from mlops_assets.factory import build_model_assets
from mlops_assets.profile import Profile, load_profile
from mlops_assets.specs import ModelSpec
from mlops_assets.training.trainers import TrainedModel, train_lightgbm, train_logistic_baseline

__all__ = [
    "CREDIT_MODEL",
    "ConfigurationError",
    "DataError",
    "MlopsError",
    "ModelNotFoundError",
    "ModelSpec",
    "Profile",
    "TrainedModel",
    "build_definitions",
    "build_model_assets",
    "default_definitions",
    "keys",
    "load_profile",
    "train_lightgbm",
    "train_logistic_baseline",
]
