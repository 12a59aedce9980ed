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


def schedule_reason(policy: RetrainPolicy, *, champion_through: datetime | None, now: datetime,
                    challenged_through: datetime | None = None) -> Reason:  # fmt: skip
    """The calendar's reason: the champion is ``scheduled_retrain_age`` old (or there is no champion).

    Its age runs from the newest data it was fitted on or, when newer, the newest data a
    challenger learned (``challenged_through``): a challenger the gate refused on recent data
    checked the champion against that data, so the backstop has nothing to add for that long.
    On a stationary stream the schedule otherwise retrained a champion a new-labels challenger
    had just failed to beat.
    """
    if champion_through is None:
        return Reason(True, "no champion has been trained yet")
    checked = max(champion_through, challenged_through) if challenged_through is not None else champion_through
    age = now - checked
    basis = (f"through {champion_through:%Y-%m-%d}" if checked == champion_through
             else f"through {champion_through:%Y-%m-%d}, challenged on data through {checked:%Y-%m-%d}")  # fmt: skip
    if age < policy.scheduled_retrain_age:
        return Reason(False, f"the champion's data is {age.days} days old ({basis}); "
                             f"the schedule retrains at {policy.scheduled_retrain_age.days} days (scheduled_retrain_age)")  # fmt: skip
    return Reason(True, f"the champion's data is {age.days} days old ({basis})")
