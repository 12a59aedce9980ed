"""`build_model_assets`: a `ModelSpec` in, that model's Dagster definitions out.

No branch here knows a particular model: the credit model is one spec like any other.
"""

from __future__ import annotations

import dagster as dg

from mlops_assets import keys
from mlops_assets.deployment.assets import champion_gate_asset, deployed_endpoint_asset
from mlops_assets.evaluation.assets import evaluation_report_asset
from mlops_assets.monitoring.prediction_log import prediction_log_asset
from mlops_assets.specs import ModelSpec
from mlops_assets.training.assets import candidate_model_asset, training_set_asset

DELIVERY_STAGES = ("training_set", "candidate_model", "evaluation_report", "champion_gate", "deployed_endpoint")


def mlflow_hooks() -> set[dg.HookDefinition]:
    """Ends the MLflow run a Dagster run opened (dagster-mlflow), on success or failure."""
    from dagster_mlflow import end_mlflow_on_run_finished

    return {end_mlflow_on_run_finished}


def retrain_job_name(spec: ModelSpec) -> str:
    return f"{spec.name}_retrain"


def build_model_assets(spec: ModelSpec) -> dg.Definitions:
    """Training set → candidate → evaluation → gate → endpoint → prediction log, and a retrain job."""
    assets = [
        training_set_asset(spec),
        candidate_model_asset(spec),
        evaluation_report_asset(spec),
        champion_gate_asset(spec),
        deployed_endpoint_asset(spec),
        prediction_log_asset(spec),
    ]
    retrain = dg.define_asset_job(
        retrain_job_name(spec),
        selection=dg.AssetSelection.assets(spec.events, *(keys.model_key(spec.name, s) for s in DELIVERY_STAGES)),
        hooks=mlflow_hooks(),
        description=f"Refresh labelled events, train, evaluate, gate and deploy {spec.name}.",
    )
    collect_log = dg.define_asset_job(
        f"{spec.name}_prediction_log",
        selection=dg.AssetSelection.assets(keys.model_key(spec.name, "prediction_log")),
        description=f"Gather what the {spec.name} endpoint served into the prediction log table.",
    )
    return dg.Definitions(assets=assets, jobs=[retrain, collect_log])
