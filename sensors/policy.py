"""`allow_retrain`: may an automatic retrain start now, under the model's `RetrainPolicy`?

Sensors decide *whether there is a reason* to retrain (labels, drift, live performance);
the policy decides *whether retraining is allowed now* (cooldown, daily cap, circuit
breaker). Keeping the second part in one pure function means every trigger is limited
the same way and the rules are tested without a daemon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mlops_assets.specs.policy import RetrainPolicy


@dataclass(frozen=True)
class RetrainHistory:
    """What the policy needs to know about the past, read from the instance and the registry."""

    retrain_starts: Sequence[datetime]
    refused_in_a_row: Sequence[str]  # versions refused by the gate since the last promotion, newest last


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str


def allow_retrain(policy: RetrainPolicy, history: RetrainHistory, now: datetime) -> Verdict:
    """May an automatic retrain start now? The answer says which rule held it back."""
    refused = list(history.refused_in_a_row)
    if len(refused) >= policy.breaker_after_refusals:
        return Verdict(
            False,
            f"circuit breaker open: the gate refused {len(refused)} challengers in a row "
            f"(v{', v'.join(refused[-policy.breaker_after_refusals:])}); automatic retraining is paused "
            "until a model is promoted (launch the retrain job by hand after fixing the cause)",
        )
    starts = sorted(history.retrain_starts)
    if starts and now - starts[-1] < policy.cooldown:
        wait = policy.cooldown - (now - starts[-1])
        return Verdict(False, f"cooldown: last retrain started {starts[-1]:%Y-%m-%d %H:%M} UTC, next allowed in {_span(wait)}")
    today = [s for s in starts if now - s < timedelta(days=1)]
    if len(today) >= policy.max_retrains_per_day:
        return Verdict(False, f"daily cap: {len(today)} retrains in the last 24 h (max_retrains_per_day={policy.max_retrains_per_day})")
    return Verdict(True, "allowed")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
