"""`RetrainPolicy`: the thresholds and limits every retraining trigger of one model obeys.

It is part of a model's spec; `sensors.policy.allow_retrain` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetrainPolicy:
    """Reasons to retrain (new labels, drift, a live drop) and limits on how often (cooldown, cap, breaker).

    Each retrain sensor looks for one reason: ``min_new_labels`` labelled events newer than the
    champion's training data; a day's drift report with PSI at least ``psi_threshold`` on
    ``drifted_features`` inputs; or the champion's live metric, over the latest
    ``live_window_days`` days with outcomes and on at least ``min_live_labels`` of them, more
    than ``max_live_drop`` below its holdout value.

    A reason becomes a run only if the limits allow it: none within ``cooldown`` of the last
    automatic retrain, at most ``max_retrains_per_day`` in 24 hours, and none once
    ``breaker_after_refusals`` challengers in a row were refused by the gate, until one is
    promoted. The weekly schedule asks no permission; its runs count toward the cooldown and
    the cap like the sensors' own.
    """

    min_new_labels: int = 500
    psi_threshold: float = 0.25
    drifted_features: int = 2
    max_live_drop: float = 0.05
    min_live_labels: int = 200
    live_window_days: int = 7
    cooldown: timedelta = timedelta(hours=6)
    max_retrains_per_day: int = 4
    breaker_after_refusals: int = 3
