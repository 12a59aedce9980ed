"""Training stages of a model: the point-in-time training set and the candidate model."""

from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets import keys
from mlops_assets.errors import DataError
from mlops_assets.monitoring.drift import build_profile
from mlops_assets.monitoring.assets import PROFILE_ARTIFACT
from mlops_assets.features.retrieval import model_inputs
from mlops_assets.provenance import git_sha, trigger
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.model_io import log_trained, version_tags
from mlops_assets.training.split import HOLDOUT, SPLIT, TRAIN, frame_fingerprint, recency_weights, time_split
from mlops_assets.training.trainers import trainer_kinds
from resources.feast import FeastResource, feature_columns
from resources.lake import LakeResource
from resources.mlflow import RegistryResource

GROUP = "training"


def mlflow_module() -> Any:
    """The mlflow module, imported when a step needs it (it takes seconds to import)."""
    import mlflow

    return mlflow


def events_table(key: dg.AssetKey) -> tuple[str, ...]:
    """Lake location of an unpartitioned asset's table: its key path, then part.parquet."""
    return (*key.path, "part.parquet")


def training_set_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("training_set", GROUP),
        deps=[spec.events, keys.FEATURE_VIEWS],
        kinds={"feast", "parquet"},
        description=f"Point-in-time training set of {spec.name} from Feast service {spec.feature_service}, split by time.",
    )
    def training_set(context: AssetExecutionContext, lake: LakeResource, feast: FeastResource) -> dg.MaterializeResult:
        store = feast.store()
        events = lake.read_table(*events_table(spec.events))
        context.log.info(f"get_historical_features: {len(events)} events from {spec.feature_service}")
        try:
            frame = model_inputs(store, spec, events, extra=[spec.label])
        except DataError as exc:
            raise dg.Failure(f"{spec.events.to_user_string()}: {exc}") from exc
        features = feature_columns(store, spec.feature_service)
        frame, window = time_split(frame, time_column=spec.event_time, holdout_days=spec.holdout_days, min_rows=min(spec.min_training_rows, 100))
        train_rows = int((frame[SPLIT] == TRAIN).sum())
        if train_rows < spec.min_training_rows:
            raise dg.Failure(f"only {train_rows} training rows (ModelSpec.min_training_rows={spec.min_training_rows}): replay more days")
        fingerprint = frame_fingerprint(frame)
        lake.write_table(frame, spec.name, "training_set", "part.parquet")
        lake.write_json(
            {"features": features, "window": window.as_tags(), "fingerprint": fingerprint, "rows": len(frame)},
            spec.name, "training_set.json",
        )
        return dg.MaterializeResult(
            metadata={
                "train_rows": dg.MetadataValue.int(train_rows),
                "holdout_rows": dg.MetadataValue.int(int((frame[SPLIT] == HOLDOUT).sum())),
                "features": dg.MetadataValue.json(features),
                "fingerprint": dg.MetadataValue.text(fingerprint),
                **{k: dg.MetadataValue.text(v) for k, v in window.as_tags().items()},
            }
        )

    return training_set


def candidate_model_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("candidate_model", GROUP),
        deps=[keys.model_key(spec.name, "training_set")],
        kinds={"mlflow", *trainer_kinds(spec.trainer, spec.baseline)},
        description=f"{spec.name} challenger and its baseline, tracked in one MLflow run and registered. {spec.description}".strip(),
    )
    def candidate_model(
        context: AssetExecutionContext, lake: LakeResource, registry: RegistryResource, mlflow: dg.ResourceParam[Any]
    ) -> dg.MaterializeResult:
        registry.client()  # MLflow's registry URI is process-global: register into this profile's store
        meta = lake.read_json(spec.name, "training_set.json")
        frame = lake.read_table(spec.name, "training_set", "part.parquet")
        train = frame[frame[SPLIT] == TRAIN]
        features = meta["features"]
        weights = recency_weights(pd.to_datetime(train[spec.event_time], utc=True), spec.recency_half_life_days)
        common = {"features": features, "label": spec.label, "categorical": spec.categorical_features, "seed": spec.seed, "weights": weights}
        context.log.info(f"training {spec.name} on {len(train)} rows, {len(features)} features")
        model = spec.trainer(train, params=spec.params, **common)
        baseline = spec.baseline(train, **common)
        tags = {
            "model": spec.name,
            "dagster_run_id": context.run.run_id,
            "git_sha": git_sha(),
            "feature_service": spec.feature_service,
            "training_set_hash": meta["fingerprint"],
            "trigger": trigger(context),
            **{f"data_window.{k}": v for k, v in meta["window"].items()},
        }
        mlflow.set_tag(f"models.{spec.name}", "trained")  # the Dagster run's MLflow run lists the models it trained
        with mlflow_module().start_run(run_name=spec.name, nested=True, tags=tags) as run:  # one child run per model
            log = mlflow_module()
            log.log_params({f"model.{k}": v for k, v in model.params.items()})
            log.log_metrics({"train_rows": len(train), "features": len(features)})
            log.log_params({"recency_half_life_days": spec.recency_half_life_days, "holdout_days": spec.holdout_days})
            # drift is measured against this later, without reading the training data again
            log.log_text(build_profile(train, features, scores=model.predict(train)).to_json(), PROFILE_ARTIFACT)
            info = log_trained(model, name="model", example=train, registered_model=spec.registered_model)
            baseline_info = log_trained(baseline, name="baseline", example=train)
        version = str(info.registered_model_version)
        run_id = run.info.run_id
        registry.tag_version(spec.registered_model, version, {
            **tags, **version_tags(model), "baseline_uri": baseline_info.model_uri, "baseline_flavor": baseline.flavor,
            "reference_profile": f"runs:/{run_id}/{PROFILE_ARTIFACT}",
        })
        lake.write_json(
            {"version": version, "run_id": run_id, "model_uri": f"models:/{spec.registered_model}/{version}",
             "flavor": model.flavor, "baseline_uri": baseline_info.model_uri, "baseline_flavor": baseline.flavor, "features": features},
            spec.name, "candidate_model.json",
        )
        return dg.MaterializeResult(
            metadata={
                "registered_version": dg.MetadataValue.text(version),
                "mlflow_run_id": dg.MetadataValue.text(run_id),
                "model_uri": dg.MetadataValue.text(f"models:/{spec.registered_model}/{version}"),
                **registry.links(run_id=run_id, model=spec.registered_model, version=version),
                "train_rows": dg.MetadataValue.int(len(train)),
                **{f"tag.{k}": dg.MetadataValue.text(str(v)) for k, v in tags.items()},
            }
        )

    return candidate_model
