"""`RetrainPolicy`: the thresholds and limits every retraining trigger of one model obeys.

It is part of a model's spec; `sensors.policy.allow_retrain` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetrainPolicy:
    """Reasons to retrain (new labels, drift, a live drop) and limits on how often (cooldown, cap, breaker)."""

    min_new_labels: int = 500
    psi_threshold: float = 0.25
    drifted_features: int = 2
    max_live_drop: float = 0.05
    min_live_labels: int = 200
    live_window_days: int = 7
    cooldown: timedelta = timedelta(hours=6)
    max_retrains_per_day: int = 4
    breaker_after_refusals: int = 3
