"""When to retrain: the library's default policy, and the three plain alternatives it is measured against.

Each strategy is asked once a day, at the end of the day, with what the replay knows then
(`mlops_assets.simulate.prequential.ReplayState`). ``gated`` strategies send the challenger to
the champion gate; the others deploy every model they train, as a cron job does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from mlops_assets.evaluation.metrics import classification_metrics, higher_is_better
from mlops_assets.monitoring.drift import assess_drift
from mlops_assets.simulate.streams import DAY
from sensors.policy import allow_retrain
from sensors.reasons import Reason, new_labels_reason, performance_reason, schedule_reason

if TYPE_CHECKING:
    from mlops_assets.simulate.prequential import ReplayState

MONDAY = 0  # the weekly schedule's day (sensors.schedule.WEEKLY: Mondays 03:00 UTC)


@dataclass(frozen=True)
class Decision:
    """Retrain now or not, and why (the reasons that fired, and the policy's verdict)."""

    retrain: bool
    reasons: tuple[str, ...] = ()
    why: str = ""


class Strategy(Protocol):
    name: str
    gated: bool

    def decide(self, day: ReplayState) -> Decision: ...


@dataclass(frozen=True)
class Never:
    """The first model serves for ever."""

    name: str = "never"
    gated: bool = False

    def decide(self, day: ReplayState) -> Decision:
        return Decision(False)


@dataclass(frozen=True)
class Scheduled:
    """A cron job: retrain on ``weekday`` (every day when None) and deploy the result, no gate."""

    name: str
    weekday: int | None
    gated: bool = False

    def decide(self, day: ReplayState) -> Decision:
        due = self.weekday is None or day.now.weekday() == self.weekday
        return Decision(due, ("schedule",) if due else ())


@dataclass(frozen=True)
class Default:
    """The spec's `RetrainPolicy` as the sensors and the weekly schedule apply it, the gate deciding what serves.

    Each reason is asked as its sensor asks it; any that fires asks `allow_retrain` once (the
    sensors' requests of one day coalesce: the first starts a run, the others find it running
    or find no newer data after it).
    """

    name: str = "default"
    gated: bool = True

    def decide(self, day: ReplayState) -> Decision:
        fired = {name: reason for name, reason in self.reasons(day).items() if reason.fired}
        if not fired:
            return Decision(False)
        verdict = allow_retrain(day.spec.policy, day.registry.history(), day.now.to_pydatetime(), data_through=day.data_through(),
                                holdout_days=day.spec.holdout_days)
        return Decision(verdict.allowed, tuple(fired), verdict.why)

    def reasons(self, day: ReplayState) -> dict[str, Reason]:
        return {"new_labels": new_labels(day), "drift": drift(day), "performance": performance(day), "schedule": schedule(day)}


def new_labels(day: ReplayState) -> Reason:
    """`new_labels_sensor`: labelled events after the champion's training window, against its training rows."""
    champion = day.champion
    new_rows = int((day.known_mask() & (day.event_times > champion.window_end.to_datetime64())).sum())
    return new_labels_reason(day.spec.policy, new_rows=new_rows, training_rows=champion.fitted.rows, version=str(champion.number))


def drift(day: ReplayState) -> Reason:
    """`drift_sensor` on the drift report of the window ending today: inputs and the champion's scores against its profile."""
    window = day.window(day.spec.policy.drift_window_days)
    scores = day.champion.fitted.model.predict(window) if len(window) else np.array([])
    assessment = assess_drift(day.champion.fitted.profile, window, policy=day.spec.policy, exempt=day.spec.drift_exempt,
                              day_column=DAY, scores=scores)  # fmt: skip
    return Reason(assessment.fired, assessment.reason)


def performance(day: ReplayState) -> Reason:
    """`performance_sensor`: the champion's outcomes over the latest days with any outcome, against its holdout value."""
    spec, champion = day.spec, day.champion
    labels, scores = day.live_outcomes(spec.policy.live_window_days)
    if len(labels) == 0 or len(np.unique(labels)) < 2:
        return Reason(False, f"{len(labels)} labelled predictions of v{champion.number}, not both outcomes")
    live = classification_metrics(labels, scores)[spec.metric]
    return performance_reason(spec.policy, metric=spec.metric, live=live, holdout=champion.holdout_metric, outcomes=len(labels),
                              higher_is_better=higher_is_better(spec.metric), version=str(champion.number))  # fmt: skip


def schedule(day: ReplayState) -> Reason:
    """`weekly_retrain_schedule`: on Mondays, a champion whose data is `scheduled_retrain_age` old."""
    if day.now.weekday() != MONDAY:
        return Reason(False, "not Monday")
    through = day.champion.fitted.trained_through.to_pydatetime()
    return schedule_reason(day.spec.policy, champion_through=through, now=day.now.to_pydatetime(),
                           challenged_through=day.registry.history().trained_through)


STRATEGIES: tuple[Strategy, ...] = (Default(), Never(), Scheduled("weekly", MONDAY), Scheduled("daily", None))
