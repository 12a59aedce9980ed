"""Monitoring stages of a model: drift of each day's window against the champion's reference, and live performance."""

import json

import dagster as dg
import numpy as np
import pandas as pd
import polars as pl
from dagster import AssetExecutionContext

from mlops_assets import keys
from mlops_assets.evaluation.metrics import classification_metrics
from mlops_assets.features.retrieval import model_inputs
from mlops_assets.monitoring.drift import ReferenceProfile, assess_drift, drift_frame, drift_png, prediction_summary
from mlops_assets.partitions import single_run
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.model_io import FEATURES_TAG, FLAVOR_TAG, load_trained
from mlops_assets.ui_metadata import markdown_image, plot_columns
from resources.feast import FeastResource
from resources.lake import LakeResource
from resources.mlflow import RegistryResource

GROUP = "monitoring"
PROFILE_ARTIFACT = "reference_profile.json"


def window_days(day: str, days: int) -> list[str]:
    """The partition keys of the ``days`` days ending on ``day``, oldest first."""
    end = pd.Timestamp(day)
    return [(end - pd.Timedelta(days=back)).strftime("%Y-%m-%d") for back in range(days - 1, -1, -1)]


def drift_report_asset(spec: ModelSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    policy = spec.policy

    @dg.asset(
        **spec.asset_attributes("drift_report", GROUP),
        deps=[spec.inputs, keys.model_key(spec.name, "deployed_endpoint")],
        partitions_def=partitions,
        backfill_policy=single_run,
        kinds={"feast", "mlflow", "numpy", "matplotlib"},
        description=(
            f"Whether {spec.name}'s inputs and scores over the {policy.drift_window_days} days up to each day drifted from the "
            "champion's training profile: PSI and a Holm-corrected KS test per feature, skipped features with why."
        ),
    )
    def drift_report(context: AssetExecutionContext, lake: LakeResource, feast: FeastResource, registry: RegistryResource) -> dg.MaterializeResult:
        """One window per partition; the days of every window are read, joined with Feast and scored once."""
        from mlflow.artifacts import load_text

        champion = registry.champion(spec.registered_model)
        if champion is None:
            return dg.MaterializeResult(metadata={"status": dg.MetadataValue.text("no champion yet: nothing to compare with")})
        registry.client()
        profile = ReferenceProfile.from_json(load_text(champion.tags["reference_profile"]))
        model = load_trained(f"models:/{spec.registered_model}/{champion.version}", flavor=champion.tags[FLAVOR_TAG],
                             features=json.loads(champion.tags[FEATURES_TAG]))  # fmt: skip
        table = spec.inputs.path[-1]
        windows = {day: window_days(day, policy.drift_window_days) for day in context.partition_keys}
        wanted = {d for days in windows.values() for d in days}
        present = [d for d in lake.partitions(table) if d in wanted]
        rows = pd.concat([lake.read_partition(table, d).assign(_day=d) for d in present], ignore_index=True) if present else pd.DataFrame()
        current = model_inputs(feast.store(), spec, rows, extra=["_day"]) if len(rows) else rows
        absent = [f for f in model.features if f not in current.columns] if len(current) else []
        if absent:
            raise dg.Failure(f"champion v{champion.version} reads {absent}, which {spec.feature_service} no longer serves: retrain or retire it")
        scores = model.predict(current) if len(current) else np.array([])
        for day, days in windows.items():
            inside = current["_day"].isin(days).to_numpy() if len(current) else np.zeros(0, dtype=bool)
            assessment = assess_drift(profile, current[inside], policy=policy, exempt=spec.drift_exempt, day_column="_day", scores=scores[inside])
            record = {"day": day, "champion": str(champion.version), "window": [days[0], day], "assessment": assessment.to_dict()}
            lake.write_json(record, spec.name, "drift_report", f"date={day}.json")
        # the metadata shows the newest window: the one the drift sensor acts on
        frame = drift_frame(assessment)
        png = drift_png(assessment)
        skipped = "".join(f"\n- {name}: {why}" for name, why in assessment.skipped)
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(assessment.rows),
                "champion": dg.MetadataValue.text(str(champion.version)),
                "latest_day": dg.MetadataValue.text(day),
                "window": dg.MetadataValue.text(f"{days[0]} to {day}"),
                "fired": dg.MetadataValue.bool(assessment.fired),
                "reason": dg.MetadataValue.text(assessment.reason),
                "drifted_features": dg.MetadataValue.json([f.feature for f in assessment.features if f.drifted]),
                "skipped": dg.MetadataValue.json(dict(assessment.skipped)),
                "prediction_drift": dg.MetadataValue.text(prediction_summary(assessment)),
                "max_psi": dg.MetadataValue.float(float(frame["psi"].max()) if len(frame) else 0.0),
                "report": dg.MetadataValue.md(
                    f"### Drift over {days[0]} to {day} vs v{champion.version}\n\n{assessment.reason}\n\n{markdown_image('psi.png', png)}\n\n"
                    + frame.to_markdown(index=False, floatfmt=".4g") + (f"\n\nNot tested:{skipped}" if skipped else "")
                ),
                **plot_columns({"psi.png": png}),  # shown on the asset page itself (docs/decisions/0007)
            }
        )

    return drift_report


def outcomes(lake: LakeResource, spec: ModelSpec) -> pl.DataFrame:
    """Every known outcome keyed like the prediction log (request_id = the id column as text); the latest label wins."""
    table, labelled_at = spec.source.key("validated_labels").path[-1], spec.source.labels.time_column
    if not lake.partitions(table):
        return pl.DataFrame(schema={"request_id": pl.String, spec.label: pl.Int64, labelled_at: pl.Datetime("us", "UTC")})
    return (
        lake.scan_partitions(table).select(pl.col(spec.id_column).cast(pl.String).alias("request_id"), pl.col(spec.label), labelled_at)
        .sort(labelled_at).unique("request_id", keep="last").collect()
    )


def live_performance_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("live_performance", GROUP),
        deps=[keys.model_key(spec.name, "prediction_log"), spec.source.key("validated_labels"), spec.inputs],
        kinds={"polars", "parquet"},
        description=f"Served {spec.name} predictions joined with outcomes as they arrive: AUC, log loss, calibration per event day.",
    )
    def live_performance(lake: LakeResource) -> dg.MaterializeResult:
        """Recomputed over every day each time: outcomes of old events keep arriving."""
        log_path = lake.path(spec.name, "prediction_log", "part.parquet")
        log = pl.read_parquet(log_path, columns=["request_id", "ts", "model_version", "score"]) if log_path.exists() else None
        # an empty log (nothing served yet) has untyped columns that no join accepts
        if log is None or not log.height or not lake.partitions(spec.source.key("validated_labels").path[-1]):
            return dg.MaterializeResult(metadata={"status": dg.MetadataValue.text("no predictions or labels yet")})
        log = log.sort("ts").unique("request_id", keep="last")
        labels = outcomes(lake, spec)
        summary = {}
        for day in lake.partitions(spec.inputs.path[-1]):
            ids = pl.from_pandas(lake.read_partition(spec.inputs.path[-1], day)[[spec.id_column]]).select(pl.col(spec.id_column).cast(pl.String).alias("request_id"))
            served = ids.join(log, on="request_id", how="inner")
            known = served.join(labels, on="request_id", how="inner")
            if not known.height:  # nothing served that day, or its outcomes are still due
                continue
            lake.write_partition(known.to_pandas(), f"{spec.name}/live_performance", day)
            record = {"day": day, "served": served.height, "labelled": known.height, "metrics": None}
            if known.height and known[spec.label].n_unique() == 2:
                record["metrics"] = classification_metrics(known[spec.label].to_numpy(), known["score"].to_numpy())
            lake.write_json(record, spec.name, "live_performance", f"date={day}", "summary.json")
            summary[day] = record
        scored = [r for r in summary.values() if r["metrics"]]
        metadata = {"days": dg.MetadataValue.int(len(summary)), "labelled": dg.MetadataValue.int(sum(r["labelled"] for r in summary.values()))}
        if scored:
            metadata["daily"] = dg.MetadataValue.md(
                pd.DataFrame([{"day": r["day"], "served": r["served"], "labelled": r["labelled"], **{k: r["metrics"][k] for k in ("roc_auc", "log_loss", "ece")}} for r in scored]).to_markdown(index=False, floatfmt=".4f")
            )
        return dg.MaterializeResult(metadata=metadata)

    return live_performance
