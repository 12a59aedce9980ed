"""The evaluation report: one object built once, rendered for Dagster and written for MLflow.

Building and rendering are separate so the same numbers appear in the Dagster UI (images
inlined as base64) and in the MLflow artifact folder (images as files next to report.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlops_assets.evaluation.metrics import (
    METRIC_NAMES,
    calibration_table,
    classification_metrics,
    higher_is_better,
    slice_metrics,
)
from mlops_assets.evaluation.plots import calibration_png, pr_curve_png, roc_curve_png, slice_bar_png
from mlops_assets.ui_metadata import markdown_image


@dataclass(frozen=True)
class EvaluationReport:
    """Everything the gate and the model card need about one model on one holdout."""

    model_name: str
    model_version: str
    metrics: dict[str, dict[str, float]]
    slices: pd.DataFrame
    calibration: pd.DataFrame
    plots: dict[str, bytes]
    holdout: dict[str, str]

    @property
    def challenger(self) -> str:
        """Label of the evaluated model: the first entry of `metrics`, by construction."""
        return next(iter(self.metrics))


def build_report(
    *,
    model_name: str,
    model_version: str,
    holdout: pd.DataFrame,
    label: str,
    scores: Mapping[str, str],
    slices: Sequence[str],
    holdout_window: Mapping[str, str],
) -> EvaluationReport:
    """Score every model on the same holdout rows; the first entry of `scores` is the challenger."""
    if not scores:
        raise ValueError("scores is empty: map at least one model label to its score column")
    missing = [c for c in (label, *scores.values()) if c not in holdout.columns]
    if missing:
        raise ValueError(f"columns {missing} not in holdout; it has {list(holdout.columns)}")
    y = holdout[label].to_numpy()
    arrays = {model: holdout[column].to_numpy(dtype=float) for model, column in scores.items()}
    challenger_column = next(iter(scores.values()))
    slice_table = slice_metrics(holdout, label=label, score=challenger_column, slices=slices)
    return EvaluationReport(
        model_name=model_name,
        model_version=model_version,
        metrics={model: classification_metrics(y, s) for model, s in arrays.items()},
        slices=slice_table,
        calibration=calibration_table(y, holdout[challenger_column]),
        plots={
            "roc.png": roc_curve_png(y, arrays),
            "pr.png": pr_curve_png(y, arrays),
            "calibration.png": calibration_png(y, arrays),
            **({"slices.png": slice_bar_png(slice_table)} if len(slice_table) else {}),  # a model without slices has no such plot
        },
        holdout={**{k: str(v) for k, v in holdout_window.items()}, "rows": str(len(holdout))},
    )


def render_markdown(report: EvaluationReport, *, inline_images: bool) -> str:
    """Model-card style Markdown; inline images for the Dagster UI, file links for MLflow."""
    models = list(report.metrics)
    metric_rows = [
        [f"{name} ({'higher' if higher_is_better(name) else 'lower'} is better)"]
        + [_cell(report.metrics[m][name]) for m in models]
        for name in METRIC_NAMES
    ] + [[name] + [_cell(report.metrics[m][name]) for m in models] for name in ("n", "positive_rate")]
    worst_first = report.slices.sort_values(["roc_auc", "n"], ascending=[True, False], na_position="last")
    worst_first = worst_first.assign(value=worst_first["value"].astype(object).fillna("(missing)"))
    parts = [
        f"# Evaluation: {report.model_name} v{report.model_version}",
        f"Challenger `{report.challenger}` compared with {', '.join(f'`{m}`' for m in models[1:]) or 'no other model'}"
        " on the same time-based holdout.",
        "## Holdout\n\n" + "\n".join(f"- **{k}**: {v}" for k, v in report.holdout.items()),
        "## Metrics\n\n" + _table(["metric", *models], metric_rows),
        f"## Calibration of `{report.challenger}`\n\n" + _frame_table(report.calibration),
        *([f"## Slices of `{report.challenger}` (worst AUC first)\n\n"
           "AUC is blank where a slice has one class or too few rows.\n\n" + _frame_table(worst_first)] if len(report.slices) else []),
        "## Plots\n\n" + "\n\n".join(_image(name, png, inline_images) for name, png in report.plots.items()),
    ]
    return "\n\n".join(parts) + "\n"


def write_report(report: EvaluationReport, folder: Path) -> list[Path]:
    """Write the MLflow artifact folder: report.md linking the PNGs beside it, metrics and slices."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "report.md"]
    paths[0].write_text(render_markdown(report, inline_images=False), encoding="utf-8")
    for name, png in report.plots.items():
        paths.append(folder / name)
        paths[-1].write_bytes(png)
    paths.append(folder / "metrics.json")
    paths[-1].write_text(json.dumps(report.metrics, indent=2, allow_nan=False), encoding="utf-8")
    paths.append(folder / "slices.csv")
    report.slices.to_csv(paths[-1], index=False)
    return paths


def _image(name: str, png: bytes, inline: bool) -> str:
    return markdown_image(name, png) if inline else f"![{Path(name).stem}]({name})"


def _frame_table(frame: pd.DataFrame) -> str:
    return _table(list(frame.columns), [[_cell(v) for v in row] for row in frame.itertuples(index=False)])


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(c).replace("|", "\\|") for c in line) + " |" for line in lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)
