"""Log a `TrainedModel` to MLflow and load it back, by flavour.

The registry version records its flavour and feature list as tags, so any process can
rebuild a scorer from a version number alone.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from mlops_assets.training.trainers import TrainedModel

FLAVOR_TAG = "flavor"
# MLflow 3 saves sklearn models with skops, which refuses numpy dtypes unless trusted.
FLAVOR_OPTIONS: dict[str, dict[str, Any]] = {"sklearn": {"skops_trusted_types": ["numpy.dtype"]}}
FEATURES_TAG = "features"


def pip_requirements(flavor: str) -> list[str]:
    """Given explicitly: MLflow's inference of them runs the model in a subprocess (5 s a model)."""
    from importlib.metadata import version

    package = {"lightgbm": "lightgbm", "sklearn": "scikit-learn"}[flavor]
    return [f"{package}=={version(package)}", f"numpy=={version('numpy')}", f"pandas=={version('pandas')}"]


def log_trained(model: TrainedModel, *, name: str, example: pd.DataFrame, registered_model: str | None = None) -> Any:
    """Log (and optionally register) with signature and input example; returns MLflow's ModelInfo."""
    import mlflow
    from mlflow.models import infer_signature

    example = example.loc[:, list(model.features)].astype("float64")
    signature = infer_signature(example, model.predict(example))
    flavor = getattr(mlflow, model.flavor)
    return flavor.log_model(
        model.model,
        name=name,
        signature=signature,
        input_example=example.head(3),
        registered_model_name=registered_model,
        pip_requirements=pip_requirements(model.flavor),
        **FLAVOR_OPTIONS.get(model.flavor, {}),
    )


def load_trained(uri: str, *, flavor: str, features: list[str] | tuple[str, ...]) -> TrainedModel:
    """The native model behind a `models:/` or `runs:/` URI (no pyfunc layer: it costs ~1 ms a call)."""
    import mlflow

    native = getattr(mlflow, flavor).load_model(uri)
    return TrainedModel(flavor, native, tuple(features))


def version_tags(model: TrainedModel) -> dict[str, str]:
    return {FLAVOR_TAG: model.flavor, FEATURES_TAG: json.dumps(list(model.features))}
