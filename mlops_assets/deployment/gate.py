"""The champion gate's decision: pure functions, so its rules are tested without a registry.

Champion and challenger are compared only on rows neither was trained on: labelled rows
whose event time is after both training windows (`comparison_rows`). A champion refit on
its holdout days has seen them, so a challenger whose holdout overlaps the champion's
training data is compared on the part after it, or, when that is too small to tell two
models apart, the gate *waits* (neither promoted nor refused) for more outcomes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

DECISIONS = ("promoted", "refused", "waiting")


@dataclass(frozen=True)
class ComparisonRows:
    """Which holdout rows the gate may compare on, and why it must wait when they are too few."""

    mask: np.ndarray
    after: pd.Timestamp | None
    wait: str | None

    @property
    def rows(self) -> int:
        return int(self.mask.sum())


def comparison_rows(
    times: pd.Series,
    labels: pd.Series,
    *,
    challenger_through: pd.Timestamp,
    champion_through: pd.Timestamp | None,
    min_rows: int,
    min_per_class: int,
) -> ComparisonRows:
    """Holdout rows after both models' training data; ``wait`` says why there are not enough.

    ``*_through`` is the newest event time a model was fitted on (a refit champion's includes
    its holdout). A challenger trained on nothing newer than the champion's data cannot be
    told apart from it fairly, so the gate waits for a retrain on newer data.
    """
    times = pd.to_datetime(times, utc=True)
    if champion_through is not None and challenger_through <= champion_through:
        wait = (f"the challenger was trained on data through {challenger_through:%Y-%m-%d %H:%M}, no newer than the champion's "
                f"({champion_through:%Y-%m-%d %H:%M}): nothing to compare on that neither has seen")
        return ComparisonRows(np.zeros(len(times), dtype=bool), champion_through, wait)
    after = max(challenger_through, champion_through) if champion_through is not None else challenger_through
    mask = (times > after).to_numpy()
    counts = pd.Series(labels.to_numpy()[mask]).value_counts()
    minority = int(counts.min()) if len(counts) == 2 else 0
    wait = None
    if mask.sum() < min_rows or minority < min_per_class:
        wait = (f"{int(mask.sum())} labelled rows after {after:%Y-%m-%d %H:%M} that neither model was trained on "
                f"({minority} of the rarer outcome); the gate needs {min_rows} rows and {min_per_class} of each outcome "
                "(ModelSpec.gate_min_rows / gate_min_per_class)")
    return ComparisonRows(mask, after, wait)


def rows_fingerprint(ids: pd.Series) -> str:
    """A short hash of the compared rows' ids, recorded with the decision so it can be replayed."""
    return hashlib.sha256("\n".join(sorted(map(str, ids))).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class GateDecision:
    decision: str  # one of DECISIONS
    reason: str
    metric: str
    challenger: float
    reference: float
    reference_name: str
    margin: float
    slice_regressions: tuple[str, ...] = ()
    rows: Mapping[str, str] | None = None  # what the comparison used: count, first and last event time, id hash

    @property
    def promote(self) -> bool:
        return self.decision == "promoted"

    def as_tags(self) -> dict[str, str]:
        """Registry tags recording the decision, the numbers behind it and the rows it used."""
        return {
            "gate.decision": self.decision,
            "gate.reason": self.reason,
            "gate.metric": self.metric,
            "gate.challenger": f"{self.challenger:.6f}",
            "gate.reference": f"{self.reference:.6f}",
            "gate.reference_name": self.reference_name,
            "gate.margin": str(self.margin),
            "gate.slice_regressions": ", ".join(self.slice_regressions),
            **{f"gate.rows.{k}": v for k, v in (self.rows or {}).items()},
        }


def wait(*, reason: str, metric: str, reference_name: str, margin: float, rows: Mapping[str, str] | None = None) -> GateDecision:
    """Neither promote nor refuse: too few fair rows to tell the two models apart yet."""
    nan = float("nan")
    return GateDecision("waiting", reason, metric, nan, nan, reference_name, margin, rows=rows)


def decide(
    *,
    metric: str,
    challenger: float,
    reference: float,
    reference_name: str,
    margin: float,
    higher_is_better: bool,
    slice_deltas: Mapping[str, float] | None = None,
    max_slice_regression: float = 0.05,
    rows: Mapping[str, str] | None = None,
) -> GateDecision:
    """Promote only when the challenger beats the reference by `margin` and no slice falls too far.

    `slice_deltas` are challenger minus reference per slice, in the metric's direction
    (negative is worse for a higher-is-better metric).
    """
    gain = challenger - reference if higher_is_better else reference - challenger
    regressions = tuple(
        sorted(name for name, delta in (slice_deltas or {}).items() if (delta if higher_is_better else -delta) < -max_slice_regression)
    )
    common = {"metric": metric, "challenger": challenger, "reference": reference, "reference_name": reference_name,
              "margin": margin, "slice_regressions": regressions, "rows": rows}
    if gain < margin:
        reason = f"{metric} {challenger:.4f} does not beat {reference_name} {reference:.4f} by the margin {margin} (gain {gain:+.4f})"
        return GateDecision("refused", reason, **common)
    if regressions:
        reason = f"{metric} improves by {gain:+.4f} but slices regress by more than {max_slice_regression}: {', '.join(regressions)}"
        return GateDecision("refused", reason, **common)
    reason = f"{metric} {challenger:.4f} beats {reference_name} {reference:.4f} by {gain:+.4f} (margin {margin})"
    return GateDecision("promoted", reason, **common)
