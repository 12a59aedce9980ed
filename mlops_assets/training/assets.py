"""Training stages of a model: the point-in-time training set and the candidate model."""

from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets import keys
from mlops_assets.errors import DataError
from mlops_assets.features.retrieval import model_inputs
from mlops_assets.handover import TRAINING_SET, read_stage, run_folder, write_stage
from mlops_assets.monitoring.assets import PROFILE_ARTIFACT
from mlops_assets.monitoring.drift import build_profile
from mlops_assets.provenance import git_sha, trigger
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.model_io import log_trained, version_tags
from mlops_assets.training.split import HOLDOUT, SPLIT, TRAIN, frame_fingerprint, recency_weights, time_split
from mlops_assets.training.trainers import trainer_kinds
from resources.feast import FeastResource, feature_columns
from resources.lake import LakeResource
from resources.mlflow import RegistryResource

GROUP = "training"
# The newest event time a version was fitted on: the gate compares only on rows after it.
TRAINED_THROUGH_TAG = "trained_through"


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
        run_id = context.run.run_id
        lake.write_table(frame, *run_folder(spec, run_id), TRAINING_SET)
        write_stage(lake, spec, run_id, "training_set",
                    {"features": features, "window": window.as_tags(), "fingerprint": fingerprint, "rows": len(frame)})
        return dg.MaterializeResult(
            metadata={
                "train_rows": dg.MetadataValue.int(train_rows),
                "holdout_rows": dg.MetadataValue.int(int((frame[SPLIT] == HOLDOUT).sum())),
                "features": dg.MetadataValue.json(features),
                "fingerprint": dg.MetadataValue.text(fingerprint),
                "dagster_run": dg.MetadataValue.text(run_id),
                **{k: dg.MetadataValue.text(v) for k, v in window.as_tags().items()},
            }
        )

    return training_set


def fit_and_register(
    spec: ModelSpec, rows: pd.DataFrame, features: list[str], *, registry: RegistryResource, run_name: str, tags: dict[str, str], baseline: bool
) -> dict[str, Any]:
    """Fit the spec's trainer (and its baseline) on ``rows`` in one nested MLflow run, register it, tag the version.

    Returns the stage record the next stages read: version, run id, model and baseline URIs.
    """
    weights = recency_weights(pd.to_datetime(rows[spec.event_time], utc=True), spec.recency_half_life_days)
    common = {"features": features, "label": spec.label, "categorical": spec.categorical_features, "seed": spec.seed, "weights": weights}
    model = spec.trainer(rows, params=spec.params, **common)
    tags = {**tags, TRAINED_THROUGH_TAG: pd.to_datetime(rows[spec.event_time], utc=True).max().isoformat(), "train_rows": str(len(rows))}
    log = mlflow_module()
    with log.start_run(run_name=run_name, nested=True, tags=tags) as run:  # one child run per fitted model
        log.log_params({f"model.{k}": v for k, v in model.params.items()})
        log.log_metrics({"train_rows": len(rows), "features": len(features)})
        log.log_params({"recency_half_life_days": spec.recency_half_life_days, "holdout_days": spec.holdout_days})
        # drift is measured against this later, without reading the training data again
        log.log_text(build_profile(rows, features, scores=model.predict(rows)).to_json(), PROFILE_ARTIFACT)
        info = log_trained(model, name="model", example=rows, registered_model=spec.registered_model)
        record = {"flavor": model.flavor, "features": features}
        if baseline:
            fitted = spec.baseline(rows, **common)
            baseline_info = log_trained(fitted, name="baseline", example=rows)
            record |= {"baseline_uri": baseline_info.model_uri, "baseline_flavor": fitted.flavor}
    version, run_id = str(info.registered_model_version), run.info.run_id
    registry.tag_version(spec.registered_model, version, {
        **tags, **version_tags(model), "reference_profile": f"runs:/{run_id}/{PROFILE_ARTIFACT}",
        **({"baseline_uri": record["baseline_uri"], "baseline_flavor": record["baseline_flavor"]} if baseline else {}),
    })  # fmt: skip
    return {"version": version, "run_id": run_id, "model_uri": f"models:/{spec.registered_model}/{version}", **record}


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
        meta = read_stage(context, lake, spec, "training_set")
        frame = lake.read_table(*run_folder(spec, meta["run_id_of_stage"]), TRAINING_SET)
        train = frame[frame[SPLIT] == TRAIN]
        features = meta["features"]
        context.log.info(f"training {spec.name} on {len(train)} rows, {len(features)} features")
        tags = {
            "model": spec.name,
            "dagster_run_id": context.run.run_id,
            "git_sha": git_sha(),
            "feature_service": spec.feature_service,
            "training_set_hash": meta["fingerprint"],
            "training_set_run": meta["run_id_of_stage"],
            "trigger": trigger(context),
            **{f"data_window.{k}": v for k, v in meta["window"].items()},
        }
        mlflow.set_tag(f"models.{spec.name}", "trained")  # the Dagster run's MLflow run lists the models it trained
        record = fit_and_register(spec, train, features, registry=registry, run_name=spec.name, tags=tags, baseline=True)
        write_stage(lake, spec, context.run.run_id, "candidate_model", {**record, "training_set_run": meta["run_id_of_stage"]})
        version = record["version"]
        return dg.MaterializeResult(
            metadata={
                "registered_version": dg.MetadataValue.text(version),
                "mlflow_run_id": dg.MetadataValue.text(record["run_id"]),
                "model_uri": dg.MetadataValue.text(record["model_uri"]),
                **registry.links(run_id=record["run_id"], model=spec.registered_model, version=version),
                "train_rows": dg.MetadataValue.int(len(train)),
                **{f"tag.{k}": dg.MetadataValue.text(str(v)) for k, v in tags.items()},
            }
        )

    return candidate_model
