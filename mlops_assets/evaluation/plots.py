"""Small PNG plots of a holdout evaluation, returned as bytes.

Bytes rather than files because they go both into Dagster metadata (base64) and into the
MLflow artifact folder. Figures are built on the Agg canvas directly, never through pyplot,
so no global figure registry or backend switch is left behind in a long-running process.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from mlops_assets.evaluation.metrics import calibration_table, check_inputs

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# 450 x 297 px: the Dagster asset page shows a plot whole up to 320 px high (ui_metadata.py).
_SIZE = (5.0, 3.3)
_DPI = 90


def roc_curve_png(y_true: ArrayLike, scores: Mapping[str, np.ndarray]) -> bytes:
    """ROC curve per model; AUC in the legend so the picture and the table can be cross-read."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = new_figure()
    for name, score in _checked(y_true, scores):
        fpr, tpr, _ = roc_curve(*score)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(*score):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
    _finish(fig, ax, "ROC curve", "false positive rate", "true positive rate")
    return png_bytes(fig)


def pr_curve_png(y_true: ArrayLike, scores: Mapping[str, np.ndarray]) -> bytes:
    """Precision-recall per model; with ~20% positives it shows what ROC flatters."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = new_figure()
    checked = _checked(y_true, scores)
    for name, score in checked:
        precision, recall, _ = precision_recall_curve(*score)
        ax.step(recall, precision, where="post", label=f"{name} (AP {average_precision_score(*score):.3f})")
    prevalence = float(checked[0][1][0].mean())
    ax.axhline(prevalence, linestyle="--", color="grey", linewidth=1, label=f"prevalence {prevalence:.3f}")
    _finish(fig, ax, "Precision-recall curve", "recall", "precision")
    return png_bytes(fig)


def calibration_png(y_true: ArrayLike, scores: Mapping[str, np.ndarray], bins: int = 10) -> bytes:
    """Reliability diagram: points on the diagonal mean the scores can be read as probabilities."""
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    for name, score in _checked(y_true, scores):
        table = calibration_table(*score, bins=bins)
        ax.plot(table["mean_score"], table["observed_rate"], marker="o", label=name)
    _finish(fig, ax, "Calibration", "mean predicted probability", "observed positive rate")
    return png_bytes(fig)


def slice_bar_png(slices: pd.DataFrame, metric: str = "roc_auc") -> bytes:
    """One bar per slice value; slices whose metric is undefined (NaN) are left out."""
    if metric not in slices.columns:
        raise ValueError(f"metric {metric!r} not in slices; columns are {list(slices.columns)}")
    shown = slices.dropna(subset=[metric])
    height = min(max(_SIZE[1], 0.25 * len(shown) + 1.0), 10.0)
    fig, ax = new_figure((_SIZE[0], height))
    labels = [f"{s}={v}" for s, v in zip(shown["slice"], shown["value"], strict=True)]
    ax.barh(labels, shown[metric].to_numpy(dtype=float))
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"{metric} per slice")
    ax.set_xlabel(metric)
    fig.tight_layout()
    return png_bytes(fig)


def _checked(
    y_true: ArrayLike, scores: Mapping[str, np.ndarray]
) -> list[tuple[str, tuple[np.ndarray, np.ndarray]]]:
    if not scores:
        raise ValueError("scores is empty: pass at least one model name -> score array")
    return [(name, check_inputs(y_true, score)) for name, score in scores.items()]


def new_figure(size: tuple[float, float] = _SIZE) -> tuple[Figure, Axes]:
    """A figure on its own Agg canvas (no pyplot state) with one axes; `size` in inches at 90 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _finish(fig: Figure, ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, the same for the same figure."""
    buffer = io.BytesIO()
    # No Software/date metadata: the same evaluation yields the same bytes.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
