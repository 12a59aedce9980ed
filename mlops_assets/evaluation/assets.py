"""Evaluation stage: the candidate and its baseline on the recent holdout, as a report."""

import statistics
import time

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from mlops_assets import keys
from mlops_assets.evaluation.metrics import METRIC_NAMES
from mlops_assets.handover import read_stage, read_training_set, run_folder, write_stage
from mlops_assets.evaluation.report import build_report, render_markdown, write_report
from mlops_assets.training.native_model import NativeModel
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.model_io import load_trained
from mlops_assets.training.split import HOLDOUT, SPLIT
from mlops_assets.training.trainers import TrainedModel
from mlops_assets.ui_metadata import plot_columns
from resources.lake import LakeResource
from resources.mlflow import RegistryResource

GROUP = "evaluation"
LATENCY_CALLS = 200


def holdout_frame(lake: LakeResource, spec: ModelSpec, training_set_run: str) -> pd.DataFrame:
    """The holdout rows of the training set one run built."""
    frame = read_training_set(lake, spec, training_set_run)
    return frame[frame[SPLIT] == HOLDOUT].reset_index(drop=True)


def single_row_latency_ms(model: TrainedModel, frame: pd.DataFrame) -> float:
    """Median time of one-row predictions, the way the endpoint calls the model."""
    rows = frame.loc[:, list(model.features)].to_numpy(dtype="float64")[:LATENCY_CALLS]
    native = NativeModel(model)
    timings = []
    for row in rows:
        start = time.perf_counter()
        native.predict_one(row.tolist())
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def evaluation_report_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("evaluation_report", GROUP),
        deps=[keys.model_key(spec.name, "candidate_model")],
        kinds={"mlflow", "matplotlib", "markdown"},
        description=f"{spec.name} challenger vs baseline on the holdout: metrics, calibration, slices, plots.",
    )
    def evaluation_report(context: AssetExecutionContext, lake: LakeResource, registry: RegistryResource) -> dg.MaterializeResult:
        candidate = read_stage(context, lake, spec, "candidate_model")
        window = lake.read_json(*run_folder(spec, candidate["training_set_run"]), "training_set.json")["window"]
        holdout = holdout_frame(lake, spec, candidate["training_set_run"])
        registry.client()  # points mlflow at the profile's store before loading
        challenger = load_trained(candidate["model_uri"], flavor=candidate["flavor"], features=candidate["features"])
        baseline = load_trained(candidate["baseline_uri"], flavor=candidate["baseline_flavor"], features=candidate["features"])
        scored = holdout.assign(challenger=challenger.predict(holdout), baseline=baseline.predict(holdout))
        report = build_report(
            model_name=spec.name,
            model_version=candidate["version"],
            holdout=scored,
            label=spec.label,
            scores={"challenger": "challenger", "baseline": "baseline"},
            slices=[s for s in spec.slices if s in scored.columns],
            holdout_window={"start": window["holdout_start"], "end": window["holdout_end"]},
        )
        latency = single_row_latency_ms(challenger, holdout)
        folder = lake.path(spec.name, "evaluation", f"v{candidate['version']}")
        write_report(report, folder)
        client = registry.client()
        client.log_artifacts(candidate["run_id"], str(folder), "evaluation")
        for label, metrics in report.metrics.items():
            for name in METRIC_NAMES:
                client.log_metric(candidate["run_id"], f"holdout_{label}_{name}", metrics[name])
        client.log_metric(candidate["run_id"], "single_row_predict_ms", latency)
        write_stage(lake, spec, context.run.run_id, "evaluation_report", {
            "version": candidate["version"], "candidate_run": candidate["run_id_of_stage"], "metrics": report.metrics,
            "slices": report.slices.to_dict("records"), "latency_ms": latency,
        })  # fmt: skip
        challenger_metrics = report.metrics["challenger"]
        context.log.info(f"{spec.name} v{candidate['version']}: holdout {spec.metric}={challenger_metrics[spec.metric]:.4f}")
        return dg.MaterializeResult(
            metadata={
                **{name: dg.MetadataValue.float(float(challenger_metrics[name])) for name in METRIC_NAMES},
                **{f"baseline_{name}": dg.MetadataValue.float(float(report.metrics["baseline"][name])) for name in METRIC_NAMES},
                "single_row_predict_ms": dg.MetadataValue.float(latency),
                "model_version": dg.MetadataValue.text(candidate["version"]),
                "report_folder": dg.MetadataValue.path(str(folder)),
                "report": dg.MetadataValue.md(render_markdown(report, inline_images=True)),
                **registry.links(run_id=candidate["run_id"], model=spec.registered_model, version=candidate["version"]),
                **plot_columns(report.plots),  # shown on the asset page itself; the Markdown above needs a click
            }
        )

    return evaluation_report
