"""Holdout metrics of a binary classifier, as pure functions of labels and scores.

Kept free of Dagster and MLflow so the gate, the report and the tests share one
definition of every number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

METRIC_NAMES = ("roc_auc", "pr_auc", "log_loss", "brier", "ece")
_HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "log_loss": False, "brier": False, "ece": False}
_EPS = 1e-15


def check_inputs(
    y_true: ArrayLike, y_score: ArrayLike, *, both_classes: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return labels as 0/1 ints and scores as floats, or raise before sklearn gives a vaguer error."""
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"y_true and y_score must be 1-D, got shapes {y.shape} and {s.shape}")
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} rows but y_score has {len(s)}: pass aligned arrays")
    if len(y) == 0:
        raise ValueError("y_true is empty: there is nothing to evaluate")
    if pd.isna(y).any() or not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_true must hold only 0 and 1, got values {pd.unique(y)[:10].tolist()}")
    if np.isnan(s).any():
        raise ValueError(f"y_score has {int(np.isnan(s).sum())} NaN values: scores must be probabilities")
    if ((s < 0) | (s > 1)).any():
        raise ValueError(
            f"y_score must lie in [0, 1], got min {s.min():.6g} and max {s.max():.6g}: pass probabilities, not logits"
        )
    y = y.astype(int)
    if both_classes and len(np.unique(y)) < 2:
        raise ValueError(
            f"y_true holds only class {int(y[0])} ({len(y)} rows): AUC and PR-AUC need both classes"
        )
    return y, s


def classification_metrics(y_true: ArrayLike, y_score: ArrayLike) -> dict[str, float]:
    """All METRIC_NAMES plus the row count and positive rate that give them context."""
    y, s = check_inputs(y_true, y_score)
    return {**{name: _METRICS[name](y, s) for name in METRIC_NAMES}, "n": len(y), "positive_rate": float(y.mean())}


def metric_value(metric: str, y_true: ArrayLike, y_score: ArrayLike) -> float:
    """One of METRIC_NAMES alone: a search that scores thousands of candidates pays only for the one it ranks by."""
    higher_is_better(metric)  # a clear error for an unknown name
    y, s = check_inputs(y_true, y_score)
    return _METRICS[metric](y, s)


def calibration_table(y_true: ArrayLike, y_score: ArrayLike, bins: int = 10) -> pd.DataFrame:
    """Equal-width score bins with mean score and observed rate; the reliability diagram and ECE read it."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    y, s = check_inputs(y_true, y_score, both_classes=False)
    # floor(score * bins) puts an edge value such as 0.3 in the bin it starts; 1.0 joins the last bin.
    index = np.minimum(np.floor(s * bins).astype(int), bins - 1)
    table = (
        pd.DataFrame({"bin": index, "score": s, "label": y})
        .groupby("bin", sort=True)
        .agg(n=("label", "size"), mean_score=("score", "mean"), observed_rate=("label", "mean"))
        .reset_index()
    )
    table.insert(0, "bin_lower", table["bin"] / bins)
    table.insert(1, "bin_upper", (table["bin"] + 1) / bins)
    return table.drop(columns="bin")


def slice_metrics(
    frame: pd.DataFrame, *, label: str, score: str, slices: Sequence[str], min_rows: int = 30, min_per_class: int = 1
) -> pd.DataFrame:
    """Metrics per value of each slice column, so a gate can refuse a model that fails one segment.

    AUC is NaN where it is undefined (one class) or too noisy to act on: fewer than min_rows
    rows, or fewer than min_per_class of either outcome (an AUC on 2 positives moves by 0.5
    when one of them is ranked differently).
    """
    missing = [c for c in (label, score, *slices) if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} not in frame; it has {list(frame.columns)}")
    check_inputs(frame[label], frame[score], both_classes=False)
    rows = []
    for column in slices:
        for value, group in frame.groupby(column, dropna=False, observed=True, sort=True):
            y, s = group[label].to_numpy().astype(int), group[score].to_numpy(dtype=float)
            defined = len(y) >= min_rows and min(int(y.sum()), len(y) - int(y.sum())) >= max(min_per_class, 1)
            rows.append(
                {
                    "slice": column,
                    "value": value,
                    "n": len(y),
                    "positive_rate": float(y.mean()),
                    "roc_auc": float(_sk().roc_auc_score(y, s)) if defined else float("nan"),
                    "log_loss": _log_loss(y, s),
                    "brier": _brier(y, s),
                }
            )
    columns = ["slice", "value", "n", "positive_rate", "roc_auc", "log_loss", "brier"]
    return pd.DataFrame(rows, columns=columns)


def higher_is_better(metric: str) -> bool:
    """Direction of a metric, so comparisons never hard-code which way is an improvement."""
    try:
        return _HIGHER_IS_BETTER[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; known metrics: {', '.join(METRIC_NAMES)}") from None


def _log_loss(y: np.ndarray, s: np.ndarray) -> float:
    # Clipped so a confident miss costs a large finite loss instead of infinity.
    return float(_sk().log_loss(y, np.clip(s, _EPS, 1 - _EPS), labels=[0, 1]))


def _brier(y: np.ndarray, s: np.ndarray) -> float:
    return float(_sk().brier_score_loss(y, s, labels=[0, 1]))


def _ece(table: pd.DataFrame) -> float:
    weights = table["n"] / table["n"].sum()
    return float((weights * (table["mean_score"] - table["observed_rate"]).abs()).sum())


_METRICS = {
    "roc_auc": lambda y, s: float(_sk().roc_auc_score(y, s)),
    "pr_auc": lambda y, s: float(_sk().average_precision_score(y, s)),
    "log_loss": _log_loss,
    "brier": _brier,
    "ece": lambda y, s: _ece(calibration_table(y, s)),
}


def _sk():
    """sklearn.metrics, imported on first use: loading definitions should not pay 2 s for it."""
    import sklearn.metrics

    return sklearn.metrics
