"""`allow_retrain`: may an automatic retrain start now, under the model's `RetrainPolicy`?

Sensors and the weekly schedule decide *whether there is a reason* to retrain (labels,
drift, live performance, the calendar); the policy decides *whether retraining is allowed
now* (one at a time, new data, breaker, cooldown, daily cap). Keeping the second part in one
pure function means every trigger is limited the same way, the rules are tested without a
daemon, and the continuous-training benchmark replays the very same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from mlops_assets.specs.policy import RetrainPolicy
from mlops_assets.training.split import holdout_start


@dataclass(frozen=True)
class RetrainHistory:
    """What the policy needs to know about the past, read from the instance and the registry.

    ``trained_through`` is the newest event time any earlier retrain's training set held,
    whatever the gate made of it; ``champion_through`` the newest the serving model was fitted
    on; ``running`` counts this model's retrain runs not yet finished.
    """

    retrain_starts: Sequence[datetime]
    refused_in_a_row: Sequence[str]  # versions refused by the gate since the last promotion, newest last
    last_refused_at: datetime | None = None
    running: int = 0
    trained_through: datetime | None = None
    champion_through: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str


def allow_retrain(
    policy: RetrainPolicy, history: RetrainHistory, now: datetime, *, data_through: datetime | None = None, holdout_days: int | None = None
) -> Verdict:
    """May an automatic retrain start now? The answer says which rule held it back.

    ``data_through`` is the newest event time of the labelled data a retrain would read, and
    ``holdout_days`` the model's holdout: a challenger learns only what lies before it.
    """
    if history.running:
        return Verdict(False, f"a retrain of this model is already running ({history.running} queued or in progress)")
    if data_through is not None and history.trained_through is not None and data_through <= history.trained_through:
        return Verdict(
            False,
            f"no labelled data newer than the last retrain's (through {history.trained_through:%Y-%m-%d %H:%M}): "
            "the same data would give the same challenger",
        )
    if data_through is not None and holdout_days and history.champion_through is not None:
        # the challenger must learn at least the whole day after the champion's last one
        learns_until = holdout_start(pd.Timestamp(data_through), holdout_days)
        if learns_until < pd.Timestamp(history.champion_through).normalize() + pd.Timedelta(days=2):
            ready = pd.Timestamp(history.champion_through).normalize() + pd.Timedelta(days=holdout_days + 1)
            return Verdict(
                False,
                f"a challenger trained now would learn only events before {learns_until:%Y-%m-%d} (its holdout is the last "
                f"{holdout_days} days), not a whole day newer than the champion's data (through {history.champion_through:%Y-%m-%d}): "
                f"the gate could not compare them on rows neither saw; worth it once labelled events reach {ready:%Y-%m-%d}",
            )
    refused = list(history.refused_in_a_row)
    half_open = ""
    if len(refused) >= policy.breaker_after_refusals:
        reopens = (history.last_refused_at or now) + policy.breaker_half_open_after
        if now < reopens:
            return Verdict(
                False,
                f"circuit breaker open: the gate refused {len(refused)} challengers in a row "
                f"(v{', v'.join(refused[-policy.breaker_after_refusals:])}); one trial retrain is allowed from "
                f"{reopens:%Y-%m-%d %H:%M} UTC (breaker_half_open_after), or launch the retrain job by hand after fixing the cause",
            )
        half_open = f"circuit breaker half-open after {len(refused)} refusals: one trial"
    starts = sorted(history.retrain_starts)
    if starts and now - starts[-1] < policy.cooldown:
        wait = policy.cooldown - (now - starts[-1])
        return Verdict(False, f"cooldown: last retrain started {starts[-1]:%Y-%m-%d %H:%M} UTC, next allowed in {_span(wait)}")
    today = [s for s in starts if now - s < timedelta(days=1)]
    if len(today) >= policy.max_retrains_per_day:
        return Verdict(False, f"daily cap: {len(today)} retrains in the last 24 h (max_retrains_per_day={policy.max_retrains_per_day})")
    return Verdict(True, half_open or "allowed")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
