"""The best any timing of retrains could have done on a stream: is a target reachable at all?

Every model the default policy puts into service is a fit on all the labelled rows known at
the end of some day (the refit after the gate, ``ModelSpec.refit_after_gate``), and so is
every model a cron job deploys. What a policy served is therefore one *schedule* of such
fits: the first model until the first retrain day, then each day's fit until the next. Trying
every schedule of at most ``budget`` retrain days, with hindsight, gives the best metric
any policy with that many retrains could reach with the spec's trainer. When it is below
weekly retraining's metric, "weekly's metric with a third of its retrains" cannot be met
on that stream by better timing: only a better trainer, or more retrains, could meet it.

Too many schedules to try them all (``max_exact``) and the answer comes from a search
(every pair, then one day added or moved at a time while the metric improves): a schedule
that some policy could follow, so a lower bound of the best, marked ``exact=False``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_assets.evaluation.metrics import higher_is_better, metric_value
from mlops_assets.simulate.prequential import ONE_DAY, FirstModel, after_first
from mlops_assets.simulate.streams import Stream
from mlops_assets.simulate.versions import Fits

MAX_EXACT = 5_000  # schedules scored one by one; beyond, a search


@dataclass(frozen=True)
class Hindsight:
    """The best schedule of at most ``budget`` retrains found on one stream at one delay."""

    stream: str
    delay_days: int
    budget: int
    metric: float  # over every row scored after the first model, as `Outcome.metric`
    days: tuple[str, ...]  # the retrain days (the model serves from the next day)
    exact: bool  # every schedule was scored; otherwise a lower bound from a search
    schedules: int  # how many were scored


class Schedules:
    """Each day's fit on all known rows and its scores, so that any schedule's metric is a concatenation and one metric call."""

    def __init__(self, stream: Stream, fits: Fits, first: FirstModel) -> None:
        state = after_first(stream, fits, first)
        self.metric, self.stream = stream.spec.metric, stream
        self.sign = 1.0 if higher_is_better(self.metric) else -1.0
        self.bounds = state.bounds
        self.start = state.bounds[first.day + 1]  # the first row scored after the first model, as in `run`
        self.labels = state.labels[self.start:]
        self.days = list(range(first.day + 1, len(state.days) - 1))  # a retrain tonight serves from tomorrow
        self.dates, self.rows = state.days, len(stream.frame)
        # per model (-1: the first), the row its scores start at and its scores of every row from there on
        self.scores = {-1: (self.start, _predict(state.champion.fitted.model, stream.frame, self.start))}
        for day in self.days:
            state.index, state.now = day, state.days[day] + ONE_DAY
            serves_from = state.bounds[day + 1]
            self.scores[day] = (serves_from, _predict(fits.fit(state.known()).model, stream.frame, serves_from))

    def value(self, schedule: Sequence[int]) -> float:
        """The metric of serving the first model, then the fit of each day in ``schedule`` (sorted) from the day after it."""
        cuts = [self.start, *(self.bounds[day + 1] for day in schedule), self.rows]
        parts = []
        for i, model in enumerate((-1, *schedule)):
            origin, scores = self.scores[model]
            parts.append(scores[cuts[i] - origin: cuts[i + 1] - origin])
        return metric_value(self.metric, self.labels, np.concatenate(parts))

    def days_of(self, schedule: Iterable[int]) -> tuple[str, ...]:
        return tuple(f"{self.dates[day]:%Y-%m-%d}" for day in schedule)


def best_schedule(schedules: Schedules, budget: int, *, max_exact: int = MAX_EXACT) -> Hindsight:
    """The schedule of at most ``budget`` retrain days with the best metric, by trying all or by a search."""
    n = len(schedules.days)
    count = sum(math.comb(n, k) for k in range(min(budget, n) + 1))
    exact = count <= max_exact
    scored: dict[tuple[int, ...], float] = {}

    def score(schedule: tuple[int, ...]) -> float:
        if schedule not in scored:
            scored[schedule] = schedules.sign * schedules.value(schedule)
        return scored[schedule]

    if exact:
        best = max(_subsets(schedules.days, min(budget, n)), key=score)
    else:  # every pair (a few thousand), then one day added or moved at a time
        best = _improve(schedules.days, max(_subsets(schedules.days, min(budget, 2)), key=score), budget, score)
    stream = schedules.stream
    return Hindsight(stream.name, stream.delay_days, budget, schedules.sign * scored[best], schedules.days_of(best), exact, len(scored))


def _subsets(days: Sequence[int], size: int) -> Iterable[tuple[int, ...]]:
    """Every schedule of at most ``size`` days, in day order."""
    return itertools.chain.from_iterable(itertools.combinations(days, k) for k in range(size + 1))


def _improve(days: Sequence[int], best: tuple[int, ...], budget: int, score) -> tuple[int, ...]:
    """Add a day while the budget allows, or move one, as long as the metric improves."""
    while True:
        neighbours = [tuple(sorted((*best, d))) for d in days if d not in best] if len(best) < budget else []
        neighbours += [tuple(sorted((*best[:i], d, *best[i + 1:]))) for i in range(len(best)) for d in days if d not in best]
        candidate = max(neighbours, key=score, default=best)
        if score(candidate) <= score(best):
            return best
        best = candidate


def _predict(model, frame: pd.DataFrame, start: int) -> np.ndarray:
    return np.asarray(model.predict(frame.iloc[start:]), dtype=float) if start < len(frame) else np.array([])
