"""Reasons to retrain, as pure functions of what a sensor reads.

The sensors read the lake and the registry, then ask these; the continuous-training
benchmark asks them the same questions on a replayed stream. (Drift's reason is
`mlops_assets.monitoring.drift.assess_drift`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mlops_assets.specs.policy import RetrainPolicy


@dataclass(frozen=True)
class Reason:
    fired: bool
    why: str


def new_labels_needed(policy: RetrainPolicy, training_rows: int) -> int:
    """Labelled rows newer than the champion's data that make a retrain worth it: a share of what it learnt from."""
    return max(policy.min_new_labels, int(policy.min_new_label_share * training_rows + 0.5))


def new_labels_reason(policy: RetrainPolicy, *, new_rows: int, training_rows: int, version: str) -> Reason:
    """Enough outcomes arrived after v``version``'s training data, relative to how much it was trained on."""
    needed = new_labels_needed(policy, training_rows)
    share = new_rows / max(training_rows, 1)
    if new_rows < needed:
        return Reason(False, f"{new_rows} labelled events newer than v{version}'s data ({share:.1%} of its {training_rows} rows); need {needed}")
    return Reason(True, f"{new_rows} new labelled events since v{version}'s training data ({share:.1%} of its {training_rows} rows)")


def performance_reason(
    policy: RetrainPolicy, *, metric: str, live: float, holdout: float, outcomes: int, higher_is_better: bool, version: str
) -> Reason:
    """The champion's live metric fell more than ``max_live_drop`` below its holdout value, on enough outcomes."""
    if outcomes < policy.min_live_labels:
        return Reason(False, f"{outcomes} labelled predictions of v{version}; need {policy.min_live_labels}")
    drop = (holdout - live) if higher_is_better else (live - holdout)
    if drop <= policy.max_live_drop:
        return Reason(False, f"live {metric} {live:.4f} on {outcomes} outcomes vs holdout {holdout:.4f}: within {policy.max_live_drop}")
    return Reason(True, f"live {metric} {live:.4f} on {outcomes} outcomes is {drop:.4f} worse than v{version}'s holdout {holdout:.4f}")


def schedule_reason(policy: RetrainPolicy, *, champion_through: datetime | None, now: datetime) -> Reason:
    """The calendar's reason: the champion's newest training data is ``scheduled_retrain_age`` old (or there is no champion)."""
    if champion_through is None:
        return Reason(True, "no champion has been trained yet")
    age = now - champion_through
    if age < policy.scheduled_retrain_age:
        return Reason(False, f"the champion's data is {age.days} days old (through {champion_through:%Y-%m-%d}); "
                             f"the schedule retrains at {policy.scheduled_retrain_age.days} days (scheduled_retrain_age)")  # fmt: skip
    return Reason(True, f"the champion's data is {age.days} days old (through {champion_through:%Y-%m-%d})")
