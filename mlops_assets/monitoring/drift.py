"""Drift of model inputs and scores against a reference profile stored with the model.

The profile (PSI bin edges and shares, missing share, a quantile grid, the row count) is
computed once from the training rows, and from the model's scores on them, and logged as a
small JSON artifact, so a drift report never reads the training data again.

`assess_drift` judges a window of recent rows (several days: one day of a feature fixed for
the day, a calendar field or a daily price, always looks drifted against a whole training
set). A feature drifted only when the effect is large (PSI ≥ ``psi_threshold``) *and* is no
sampling accident: its two-sample KS p-value, from both sample sizes, is below
``drift_p_value`` after Holm's correction over every test of the window (step-down
Bonferroni: the chance that any feature of a stationary stream is called drifted stays
under ``drift_p_value``, and it rejects at least what plain Bonferroni does). Missing
values count as one more PSI bin and, for KS, as a value above every other, so a feed that
stops filling a field is drift on both. KS is the largest gap between the two CDFs at the
101 stored reference quantiles, where both are known exactly: within about 1/len(grid) of
`scipy.stats.ks_2samp` on continuous data, never above it, and free of the interpolation
error that made discrete features (rounded ages, tree scores) look drifted. Its p-value is
the asymptotic Kolmogorov distribution (`scipy.special.kolmogorov`: slightly larger than
scipy's `kstwo` at finite sizes, so it errs towards not firing, and 10,000 times faster).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mlops_assets.specs.policy import RetrainPolicy

QUANTILE_GRID = np.linspace(0.0, 1.0, 101)
PREDICTION = "prediction"  # the name prediction drift goes by in a report
# why a feature was not tested, as the report and the plot show it
EXEMPT = "exempt in the ModelSpec (drift_exempt)"
CONSTANT_WITHIN_DAY = "constant within each day"
NO_SCORES = "no training scores in the profile (logged before they were)"


@dataclass(frozen=True)
class FeatureProfile:
    """PSI bins and their shares among present values, the missing share, and the quantile grid.

    ``cdf`` and ``cdf_left`` are the shares of present values ≤ and < each quantile, which KS
    compares exactly (empty in profiles logged before they were stored); ``count`` counts
    every row, missing values included.
    """

    name: str
    edges: tuple[float, ...]
    expected: tuple[float, ...]
    missing_share: float
    quantiles: tuple[float, ...]
    count: int
    cdf: tuple[float, ...] = ()
    cdf_left: tuple[float, ...] = ()

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureProfile:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


@dataclass(frozen=True)
class ReferenceProfile:
    """One profile per input feature, and one of the model's training scores (None in profiles logged before them)."""

    features: tuple[FeatureProfile, ...]
    scores: FeatureProfile | None = None

    def to_json(self) -> str:
        scores = None if self.scores is None else asdict(self.scores)
        return json.dumps({"features": [asdict(f) for f in self.features], "scores": scores})

    @classmethod
    def from_json(cls, text: str) -> ReferenceProfile:
        raw = json.loads(text)
        scores = raw.get("scores")
        return cls(tuple(FeatureProfile.from_dict(f) for f in raw["features"]), None if scores is None else FeatureProfile.from_dict(scores))


@dataclass(frozen=True)
class FeatureDrift:
    """One test: PSI, KS, its raw and Holm-adjusted p-values, and whether it counts as drifted."""

    feature: str
    psi: float
    ks: float
    p_value: float
    p_adjusted: float
    drifted: bool
    count: int
    missing_share: float
    reference_missing_share: float


@dataclass(frozen=True)
class DriftAssessment:
    """The verdict on one window: ``fired`` when at least ``policy.drifted_features`` tests drifted.

    ``features`` are the tested features (profile order), ``skipped`` the features not tested
    with why, ``prediction`` the test of the model's scores (None when none were given or the
    profile has none). ``reason`` says in one sentence what drifted or why it did not fire;
    ``psi_threshold`` and ``alpha`` are the rule it was judged by.
    """

    fired: bool
    reason: str
    rows: int
    features: tuple[FeatureDrift, ...]
    skipped: tuple[tuple[str, str], ...]
    prediction: FeatureDrift | None
    psi_threshold: float
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> DriftAssessment:
        prediction = raw["prediction"]
        return cls(**{
            **raw,
            "features": tuple(FeatureDrift(**f) for f in raw["features"]),
            "skipped": tuple((name, why) for name, why in raw["skipped"]),
            "prediction": None if prediction is None else FeatureDrift(**prediction),
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> DriftAssessment:
        return cls.from_dict(json.loads(text))


def _column(frame: Any, name: str) -> np.ndarray:
    """A float64 numpy column from a pandas or polars frame (nulls as NaN)."""
    if isinstance(frame, pd.DataFrame):
        return frame[name].to_numpy(dtype="float64", na_value=np.nan)
    return frame.get_column(name).cast(float).to_numpy()


def _shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of sorted values per right-closed bin (-inf, e1], (e1, e2], ..., (ek, inf)."""
    upto = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate(([0], upto, [len(sorted_values)]))) / max(len(sorted_values), 1)


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)  # plain floats: the profile is JSON


def _profile(name: str, column: np.ndarray, bins: int) -> FeatureProfile:
    """Quantile bins (deduplicated: integer features have fewer) and a quantile grid of one column."""
    present = np.sort(column[~np.isnan(column)])
    if len(present):
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
        quantiles = np.quantile(present, QUANTILE_GRID)
    else:
        edges, quantiles = np.array([]), np.array([])
    return FeatureProfile(
        name=name,
        edges=_floats(edges),
        expected=_floats(_shares(present, edges)),
        missing_share=float(1 - len(present) / max(len(column), 1)),
        quantiles=_floats(quantiles),
        count=len(column),
        cdf=_floats(np.searchsorted(present, quantiles, side="right") / max(len(present), 1)),
        cdf_left=_floats(np.searchsorted(present, quantiles, side="left") / max(len(present), 1)),
    )


def build_profile(frame: Any, features: Sequence[str], *, scores: np.ndarray | None = None, bins: int = 10) -> ReferenceProfile:
    """The reference of every feature of ``frame`` and, given the model's ``scores`` on those rows, of its predictions."""
    profiles = tuple(_profile(name, _column(frame, name), bins) for name in features)
    return ReferenceProfile(profiles, None if scores is None else _profile(PREDICTION, np.asarray(scores, dtype="float64"), bins))


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index, sum((a - e) * ln(a / e)), with shares clipped at eps."""
    e = np.clip(np.asarray(expected, dtype="float64"), eps, None)
    a = np.clip(np.asarray(actual, dtype="float64"), eps, None)
    return float(np.sum((a - e) * np.log(a / e)))


def _reference_cdf(reference: FeatureProfile) -> tuple[np.ndarray, np.ndarray]:
    """The reference CDF at each stored quantile and just before it: shares of present values ≤ and < it.

    Profiles logged before these were stored give grid probabilities instead, the last and the
    first grid point holding the same value: exact on continuous features, within a grid step
    on discrete ones.
    """
    if reference.cdf:
        return np.asarray(reference.cdf), np.asarray(reference.cdf_left)
    quantiles = np.asarray(reference.quantiles)
    return QUANTILE_GRID[np.searchsorted(quantiles, quantiles, side="right") - 1], QUANTILE_GRID[np.searchsorted(quantiles, quantiles, side="left")]


def _ks(reference: FeatureProfile, present: np.ndarray, rows: int) -> float:
    """The largest gap between the two CDFs at the reference's quantiles (both sides of each) and at "missing".

    Both CDFs are exact at those points, so on discrete features (rounded ages, counts, tree
    scores) there is no interpolation error to mistake for drift, and the gap is never more
    than the full KS statistic: its p-value errs towards not firing. A missing value counts as
    one above every other, so both CDFs reach only 1 - missing share before it, and the gap
    there is the difference of the missing shares.
    """
    filled = 1.0 - reference.missing_share
    top = abs(len(present) / rows - filled)
    if not reference.quantiles:
        return top
    quantiles = np.asarray(reference.quantiles)
    at, before = _reference_cdf(reference)
    gap_at = np.abs(np.searchsorted(present, quantiles, side="right") / rows - filled * at)
    gap_before = np.abs(np.searchsorted(present, quantiles, side="left") / rows - filled * before)
    return float(max(top, gap_at.max(), gap_before.max()))


def _test(reference: FeatureProfile, column: np.ndarray) -> FeatureDrift:
    """PSI with a missing-value bin, KS and its asymptotic p-value; the window's correction sets the rest."""
    from scipy.special import kolmogorov

    rows = len(column)
    present = np.sort(column[~np.isnan(column)])
    missing = 1.0 - len(present) / rows
    expected = np.append(np.asarray(reference.expected) * (1 - reference.missing_share), reference.missing_share)
    actual = np.append(_shares(present, np.asarray(reference.edges)) * (1 - missing), missing)
    ks = _ks(reference, present, rows)
    effective = rows * reference.count / (rows + reference.count)  # both samples are random: n·m / (n + m)
    p = float(kolmogorov(ks * np.sqrt(effective)))
    return FeatureDrift(reference.name, psi(expected, actual), ks, p, p, False, rows, missing, reference.missing_share)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values: reject where adjusted < alpha keeps the family-wise error under alpha."""
    p = np.asarray(p_values, dtype="float64")
    order = np.argsort(p, kind="stable")
    steps = len(p) - np.arange(len(p))  # the smallest p is multiplied by m, the next by m - 1, ...
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps * p[order]))
    return adjusted


def _day_codes(frame: Any, name: str) -> np.ndarray:
    """One integer per row, equal for rows of the same day, in the frame's own library (no Python strings)."""
    if isinstance(frame, pd.DataFrame):
        return pd.factorize(frame[name])[0]
    return frame.get_column(name).rank("dense").to_numpy()


def _constant_within_days(columns: Sequence[np.ndarray], codes: np.ndarray) -> list[bool]:
    """Per column: every day holds a value and a single one (missing rows aside); False with fewer than 2 days."""
    ordered = bool(np.all(codes[1:] >= codes[:-1]))  # rows in day order (the usual case) need no reordering
    order = slice(None) if ordered else np.argsort(codes, kind="stable")
    grouped = codes[order]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    if len(starts) < 2:
        return [False] * len(columns)
    constant = []
    for column in columns:
        by_day = column[order]
        # NaN == NaN is False: a day without any value makes the feature not constant (its missing bin judges it)
        constant.append(bool(np.all(np.fmin.reduceat(by_day, starts) == np.fmax.reduceat(by_day, starts))))
    return constant


def _p(value: float) -> str:
    return "p < 1e-16" if value < 1e-16 else f"p {value:.2g}"  # beyond double precision's resolution of 1 - p


def _sentence(policy: RetrainPolicy, rows: int, counted: list[FeatureDrift], tested: int, prediction: FeatureDrift | None) -> str:
    if rows < policy.drift_min_rows:
        return f"not enough rows: {rows:,} in the window, {policy.drift_min_rows:,} needed (drift_min_rows)"
    rule = f"PSI ≥ {policy.psi_threshold} and Holm-adjusted KS p < {policy.drift_p_value}"
    named = ", ".join(f"{d.feature} (PSI {d.psi:.2f}, {_p(d.p_adjusted)})" for d in sorted(counted, key=lambda d: -d.psi))
    if len(counted) >= policy.drifted_features:
        sentence = f"{len(counted)} of {tested} drifted over {rows:,} rows ({rule}): {named}"
    else:
        sentence = f"{len(counted)} of {tested} drifted over {rows:,} rows ({rule}){': ' + named if named else ''}; {policy.drifted_features} needed"
    if prediction is not None and prediction.drifted and not policy.drift_counts_prediction:
        sentence += f"; the prediction drifted too (PSI {prediction.psi:.2f}, {_p(prediction.p_adjusted)}) but does not count (drift_counts_prediction)"
    return sentence


def assess_drift(
    profile: ReferenceProfile,
    window: Any,
    *,
    policy: RetrainPolicy,
    exempt: Collection[str] = (),
    day_column: str | None = None,
    scores: np.ndarray | None = None,
) -> DriftAssessment:
    """Whether a window of recent rows (pandas or polars) drifted from ``profile``, by ``policy``'s rule.

    Exempt features, and with ``day_column`` over at least two days, features holding one
    value within each day, are skipped with the reason and left out of the correction.
    ``scores`` (the champion's on the window's rows) are tested against the profile's
    training scores like a feature; they count towards ``drifted_features`` only with
    ``policy.drift_counts_prediction``, because input features the test skips (a calendar
    field the model reads) move the scores too. Fewer than ``drift_min_rows`` rows never fire;
    an empty window (no columns needed) is not enough rows.
    """
    exempt = set(exempt)
    candidates = [f for f in profile.features if f.name not in exempt]
    rows = len(window)
    present = set(window.columns)
    if rows and (missing := [f.name for f in candidates if f.name not in present]):
        raise ValueError(f"the window lacks profiled features {missing}; it must hold the champion's inputs (or name them in drift_exempt)")
    if rows and day_column is not None and day_column not in present:
        raise ValueError(f"the window has no day column {day_column!r}; pass the column holding each row's day, or day_column=None")
    if scores is not None and len(scores) != rows:
        raise ValueError(f"scores has {len(scores)} values for a window of {rows} rows; pass the champion's score of each window row")
    skipped = [(f.name, EXEMPT) for f in profile.features if f.name in exempt]
    columns = {f.name: _column(window, f.name) for f in candidates} if rows else {}
    if day_column is not None and rows:
        constant = _constant_within_days(list(columns.values()), _day_codes(window, day_column))
        for name in [name for name, fixed in zip(list(columns), constant, strict=True) if fixed]:
            del columns[name]
            skipped.append((name, CONSTANT_WITHIN_DAY))
    tests = [_test(f, columns[f.name]) for f in candidates if f.name in columns]
    trained_scores = profile.scores if scores is not None and rows else None
    if trained_scores is not None:
        tests.append(_test(trained_scores, np.asarray(scores, dtype="float64")))
    elif scores is not None and rows:
        skipped.append((PREDICTION, NO_SCORES))
    enough = rows >= policy.drift_min_rows
    tests = [
        replace(t, p_adjusted=float(q), drifted=bool(enough and t.psi >= policy.psi_threshold and q < policy.drift_p_value))
        for t, q in zip(tests, holm([t.p_value for t in tests]), strict=True)
    ]
    prediction = tests.pop() if trained_scores is not None else None
    counted = [t for t in tests if t.drifted]
    if prediction is not None and prediction.drifted and policy.drift_counts_prediction:
        counted.append(prediction)
    tested = len(tests) + (prediction is not None and policy.drift_counts_prediction)
    return DriftAssessment(
        fired=enough and len(counted) >= policy.drifted_features,
        reason=_sentence(policy, rows, counted, tested, prediction),
        rows=rows,
        features=tuple(tests),
        skipped=tuple(skipped),
        prediction=prediction,
        psi_threshold=policy.psi_threshold,
        alpha=policy.drift_p_value,
    )


def prediction_summary(assessment: DriftAssessment) -> str:
    """One line on the champion's score distribution, for the asset page."""
    prediction = assessment.prediction
    if prediction is None:
        return f"not measured: {dict(assessment.skipped).get(PREDICTION, 'no rows or no scores in the window')}"
    verdict = "drifted" if prediction.drifted else "not drifted"
    return f"{verdict}: PSI {prediction.psi:.3f}, KS {prediction.ks:.3f}, Holm-adjusted {_p(prediction.p_adjusted)} over {prediction.count:,} scores"


def _tests(assessment: DriftAssessment) -> list[FeatureDrift]:
    return [*assessment.features, *([assessment.prediction] if assessment.prediction else [])]


def drift_frame(assessment: DriftAssessment) -> pd.DataFrame:
    """Every test of an assessment, the prediction's included, largest PSI first, for a Markdown table."""
    rows = [asdict(t) for t in _tests(assessment)]
    return pd.DataFrame(rows, columns=list(FeatureDrift.__dataclass_fields__)).sort_values("psi", ascending=False, ignore_index=True)


def drift_png(assessment: DriftAssessment) -> bytes:
    """PSI per test as horizontal bars: red drifted, amber over the PSI threshold but not significant, green stable.

    Skipped features are listed at the bottom in grey with their reason, without a bar: they
    were not tested. Bars are 0.1-0.15 in high, so up to 23 rows the picture stays under the
    320 px the Dagster asset page shows without "Show more" (docs/decisions/0007); more grow it.
    """
    from mlops_assets.evaluation.plots import new_figure, png_bytes

    tests = sorted(_tests(assessment), key=lambda t: t.psi)
    labels = [f"{name}: {why.split(' (')[0]}" for name, why in assessment.skipped] + [t.feature for t in tests]
    colours = ["#c8453b" if t.drifted else "#e0a030" if t.psi >= assessment.psi_threshold else "#4c9f70" for t in tests]
    bar = max(0.1, min(0.15, 2.3 / max(len(labels), 1)))
    figure, axes = new_figure((5.5, bar * len(labels) + 1.0))
    axes.barh(labels, [0.0] * len(assessment.skipped) + [t.psi for t in tests], color=["#999999"] * len(assessment.skipped) + colours)
    for tick in axes.get_yticklabels()[: len(assessment.skipped)]:
        tick.set_color("#999999")
    axes.axvline(assessment.psi_threshold, color="grey", linestyle="--", linewidth=1)
    axes.set_xlabel("PSI vs training profile (red: drifted; amber: not significant)", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    figure.tight_layout()
    return png_bytes(figure)
