"""Drift of model inputs against a reference profile stored with the model.

The profile (PSI bin edges and shares, missing share, a quantile grid) is computed once
from the training rows and logged as a small JSON artifact, so a daily drift report never
reads the training data again. Missing values count as one more PSI bin: a jump in
missingness (a feed that stopped filling a field) is drift too. KS is computed from the
stored quantiles (the reference CDF interpolated on the grid), which approximates
`scipy.stats.ks_2samp` to within about 1/len(grid) on continuous data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

QUANTILE_GRID = np.linspace(0.0, 1.0, 101)
VERDICTS = ("stable", "moderate", "drift")


@dataclass(frozen=True)
class FeatureProfile:
    name: str
    edges: tuple[float, ...]
    expected: tuple[float, ...]
    missing_share: float
    quantiles: tuple[float, ...]
    count: int


@dataclass(frozen=True)
class ReferenceProfile:
    features: tuple[FeatureProfile, ...]

    def to_json(self) -> str:
        return json.dumps({"features": [asdict(f) for f in self.features]})

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        raw = json.loads(text)["features"]
        return cls(tuple(FeatureProfile(**{k: tuple(v) if isinstance(v, list) else v for k, v in f.items()}) for f in raw))


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    ks: float
    missing_share: float
    reference_missing_share: float
    count: int
    verdict: str


def _column(frame: Any, name: str) -> np.ndarray:
    """A float64 numpy column from a pandas or polars frame (nulls as NaN)."""
    if isinstance(frame, pd.DataFrame):
        return frame[name].to_numpy(dtype="float64", na_value=np.nan)
    return frame.get_column(name).cast(float).to_numpy()


def _shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of sorted values per right-closed bin (-inf, e1], (e1, e2], ..., (ek, inf)."""
    upto = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate(([0], upto, [len(sorted_values)]))) / max(len(sorted_values), 1)


def build_profile(frame: Any, features: Sequence[str], *, bins: int = 10) -> ReferenceProfile:
    """Quantile bins (deduplicated: integer features have fewer) and a quantile grid per feature."""
    profiles = []
    for name in features:
        column = _column(frame, name)
        present = np.sort(column[~np.isnan(column)])
        if len(present):
            edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
            quantiles = np.quantile(present, QUANTILE_GRID)
        else:
            edges, quantiles = np.array([]), np.array([])
        profiles.append(FeatureProfile(
            name=name,
            edges=tuple(float(e) for e in edges),
            expected=tuple(float(s) for s in _shares(present, edges)),
            missing_share=float(1 - len(present) / max(len(column), 1)),
            quantiles=tuple(float(q) for q in quantiles),
            count=len(column),
        ))
    return ReferenceProfile(tuple(profiles))


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index, sum((a - e) * ln(a / e)), with shares clipped at eps."""
    e = np.clip(np.asarray(expected, dtype="float64"), eps, None)
    a = np.clip(np.asarray(actual, dtype="float64"), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _reference_cdf(quantiles: np.ndarray, points: np.ndarray, *, right: bool) -> np.ndarray:
    """The reference CDF from its quantile grid: linear between distinct quantiles, a jump at ties.

    A value repeated over several grid points (an integer feature) is a jump of the CDF:
    its right limit is the last grid probability holding it, its left limit the first.
    """
    order = quantiles[::-1] if right else quantiles
    values, first = np.unique(order, return_index=True)
    probabilities = QUANTILE_GRID[len(quantiles) - 1 - first] if right else QUANTILE_GRID[first]
    return np.interp(points, values, probabilities, left=0.0, right=1.0)


def _ks_from_quantiles(quantiles: np.ndarray, sorted_values: np.ndarray) -> float:
    """sup |F_current - F_reference|, from the reference's quantile grid and the sorted current sample.

    The current ECDF is a right-continuous step and the reference CDF increases between its
    jumps, so the supremum is reached at a sample point: F_current above the reference just
    at or after a point (right limits: (i + 1) / n at the last of its ties), or below it just
    before one (left limits: i / n at the first of its ties). Taking every index i, ties
    included, reaches both extremes without deduplicating: two passes over the sample.
    """
    if not len(quantiles) or not len(sorted_values):
        return 0.0
    n = len(sorted_values)
    rank = np.arange(n, dtype="float64")
    rank /= n
    above = np.max(rank + 1.0 / n - _reference_cdf(quantiles, sorted_values, right=True))
    below = np.max(_reference_cdf(quantiles, sorted_values, right=False) - rank)
    return float(max(above, below, 0.0))


def drift_table(profile: ReferenceProfile, current: Any, *, psi_moderate: float = 0.1, psi_drift: float = 0.25) -> list[FeatureDrift]:
    """PSI (with a missing-value bin), KS and a verdict per profiled feature."""
    columns = set(current.columns)
    missing = [f.name for f in profile.features if f.name not in columns]
    if missing:
        raise ValueError(f"current data lacks profiled features {missing}; it must hold the model's inputs")
    if len(current) == 0:
        raise ValueError("no rows to compare with the reference profile")
    results = []
    for feature in profile.features:
        column = _column(current, feature.name)
        nan = np.isnan(column)
        present = np.sort(column[~nan])
        share_missing = float(nan.mean())
        edges = np.asarray(feature.edges)
        expected = np.append(np.asarray(feature.expected) * (1 - feature.missing_share), feature.missing_share)
        actual = np.append(_shares(present, edges) * (1 - share_missing), share_missing)
        value = psi(expected, actual)
        verdict = VERDICTS[2] if value >= psi_drift else VERDICTS[1] if value >= psi_moderate else VERDICTS[0]
        results.append(FeatureDrift(feature.name, value, _ks_from_quantiles(np.asarray(feature.quantiles), present),
                                    share_missing, feature.missing_share, len(column), verdict))
    return results


def drift_frame(results: Sequence[FeatureDrift]) -> pd.DataFrame:
    return pd.DataFrame([asdict(r) for r in results]).sort_values("psi", ascending=False, ignore_index=True)


def drift_png(results: Sequence[FeatureDrift], *, psi_moderate: float = 0.1, psi_drift: float = 0.25) -> bytes:
    """PSI per feature as horizontal bars, coloured by verdict, with the two thresholds.

    Bars are 0.1-0.15 in high, so up to 23 features the picture stays under the 320 px the
    Dagster asset page shows without "Show more" (docs/decisions/0007); more features grow it.
    """
    from mlops_assets.evaluation.plots import new_figure, png_bytes

    ordered = sorted(results, key=lambda r: r.psi)
    colours = {"stable": "#4c9f70", "moderate": "#e0a030", "drift": "#c8453b"}
    bar = max(0.1, min(0.15, 2.3 / max(len(ordered), 1)))
    figure, axes = new_figure((5.5, bar * len(ordered) + 1.0))
    axes.barh([r.feature for r in ordered], [r.psi for r in ordered], color=[colours[r.verdict] for r in ordered])
    for threshold, style in ((psi_moderate, ":"), (psi_drift, "--")):
        axes.axvline(threshold, color="grey", linestyle=style, linewidth=1)
    axes.set_xlabel("PSI vs training profile")
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    return png_bytes(figure)
