"""`RetrainPolicy`: the thresholds and limits every retraining trigger of one model obeys.

It is part of a model's spec; `sensors.policy.allow_retrain` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mlops_assets.errors import ConfigurationError


@dataclass(frozen=True)
class RetrainPolicy:
    """Reasons to retrain (new labels, drift, a live drop, the calendar) and limits on how often.

    Each retrain sensor looks for one reason: labelled events newer than the champion's
    training data numbering at least ``min_new_label_share`` of the rows it was trained on
    (and at least ``min_new_labels``, so a tiny first model does not retrain on every label);
    a drift report that fired (see the drift fields); or the champion's live metric, over the
    latest ``live_window_days`` days with outcomes and on at least ``min_live_labels`` of them,
    more than ``max_live_drop`` below its holdout value. The weekly schedule is a backstop,
    not a cron job: it asks for a retrain only when the champion's newest training data, or
    the newest data a challenger was compared with it on, is ``scheduled_retrain_age`` old or
    older (``timedelta(0)``: every week), and goes through the same limits as every other reason.

    A reason becomes a run only if the limits allow it: one retrain of a model at a time;
    none unless labelled data newer than the last retrain's (promoted, refused or waiting)
    has arrived, so the triggers of one window coalesce into one retrain and a refused
    challenger is not trained again on the same data; none within ``cooldown`` of the last
    automatic retrain; at most ``max_retrains_per_day`` in 24 hours; and once
    ``breaker_after_refusals`` challengers in a row were refused by the gate, none until one
    is promoted, except one trial each ``breaker_half_open_after`` after the last refusal
    (the breaker half-opens instead of waiting for someone to act).

    Drift is judged on a window of the latest ``drift_window_days`` days of inputs, never on
    fewer than ``drift_min_rows`` rows: a feature drifted when its PSI is at least
    ``psi_threshold`` and its KS p-value, Holm-corrected over the features tested, is below
    ``drift_p_value`` (`mlops_assets.monitoring.drift.assess_drift`). The champion's score
    distribution is tested the same way and counts as one of the ``drifted_features`` only
    with ``drift_counts_prediction``: a calendar field the test skips moves the scores too.
    """

    min_new_labels: int = 200
    min_new_label_share: float = 1.0
    psi_threshold: float = 0.25
    drifted_features: int = 2
    max_live_drop: float = 0.05
    min_live_labels: int = 200
    live_window_days: int = 7
    cooldown: timedelta = timedelta(hours=6)
    max_retrains_per_day: int = 4
    breaker_after_refusals: int = 3
    breaker_half_open_after: timedelta = timedelta(days=7)
    drift_window_days: int = 7
    drift_min_rows: int = 500
    drift_p_value: float = 0.01
    drift_counts_prediction: bool = False
    scheduled_retrain_age: timedelta = timedelta(days=49)

    def __post_init__(self) -> None:
        if self.drift_window_days < 1:
            raise ConfigurationError(f"RetrainPolicy: drift_window_days={self.drift_window_days} must be at least 1 day")
        if self.drift_min_rows < 1:
            raise ConfigurationError(f"RetrainPolicy: drift_min_rows={self.drift_min_rows} must be at least 1 row")
        if not 0 < self.drift_p_value < 1:
            raise ConfigurationError(f"RetrainPolicy: drift_p_value={self.drift_p_value} must be in (0, 1), e.g. 0.01")
