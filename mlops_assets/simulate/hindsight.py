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
(every pair and every fixed rule below, then one day added or moved at a time while the
metric improves): a schedule that some policy could follow, so a lower bound of the best,
marked ``exact=False``.

The best schedule's days are picked with hindsight; no trigger knows them. So beside it
comes the best *fixed rule* within the same budget (`BestRule`): a retrain every N days,
or whenever the labelled rows grew by a share since the last fit, with N or the share tuned
per stream with hindsight, ungated and without a holdout's delay. When that rule too falls
short of weekly's metric, the target needs days that no rule of those shapes finds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mlops_assets.evaluation.metrics import higher_is_better, metric_value
from mlops_assets.simulate.prequential import FirstModel, after_first
from mlops_assets.simulate.streams import Stream
from mlops_assets.simulate.versions import Fits
from sensors.reasons import new_labels_reason

MAX_EXACT = 5_000  # schedules scored one by one; beyond, a search
PERIODS = range(7, 36)  # "every N days": a cron job at any period from weekly to five-weekly
GROWTH = tuple(round(0.2 + 0.05 * i, 2) for i in range(27))  # the new-labels trigger at min_new_label_share 20% .. 150%


@dataclass(frozen=True)
class BestRule:
    """The fixed rule, of `PERIODS` and `GROWTH`, that served best within the budget on one stream (tuned with hindsight)."""

    rule: str  # "every 21 days" or "new labels 60%" (the share of the last fit's rows)
    metric: float
    days: tuple[str, ...]
    rules: int  # how many rules were within the budget


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
    rule: BestRule | None = None  # the best fixed rule within the same budget; None when no rule kept to it


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
        self.first_rows = state.champion.fitted.rows  # the first model's (refit) rows: what a growth rule counts from
        self.known_rows: dict[int, int] = {}  # per day, the labelled rows known at its end: what that day's fit learnt
        # per model (-1: the first), the row its scores start at and its scores of every row from there on
        self.scores = {-1: (self.start, _predict(state.champion.fitted.model, stream.frame, self.start))}
        for day in self.days:
            state.advance()  # to the end of ``day``: the days follow the first model's one by one
            serves_from, known = state.bounds[day + 1], state.known()
            self.known_rows[day] = len(known)
            self.scores[day] = (serves_from, _predict(fits.fit(known).model, stream.frame, serves_from))

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

    def every(self, period: int) -> tuple[int, ...]:
        """A cron job's days: every ``period`` days after the first model's."""
        return tuple(self.days[period - 1:: period])

    def growth(self, share: float) -> tuple[int, ...]:
        """The new-labels trigger's days at ``min_new_label_share=share`` (the spec's policy otherwise), every one deployed."""
        policy = replace(self.stream.spec.policy, min_new_label_share=share)
        found, rows = [], self.first_rows
        for day in self.days:
            if new_labels_reason(policy, new_rows=self.known_rows[day] - rows, training_rows=rows, version="").fired:
                found.append(day)
                rows = self.known_rows[day]
        return tuple(found)

    def rules(self, budget: int | None = None) -> dict[str, tuple[int, ...]]:
        """Every fixed rule tried (that retrains at most ``budget`` times), by name, with its days."""
        found = {**{f"every {n} days": self.every(n) for n in PERIODS}, **{f"new labels {share:.0%}": self.growth(share) for share in GROWTH}}
        return {name: days for name, days in found.items() if budget is None or len(days) <= budget}


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

    rules = schedules.rules(budget)
    if exact:
        best = max(_subsets(schedules.days, min(budget, n)), key=score)
    else:  # every pair (a few thousand) and every fixed rule's days, then one day added or moved at a time
        best = _improve(schedules.days, max(itertools.chain(_subsets(schedules.days, min(budget, 2)), rules.values()), key=score),
                        budget, score)  # fmt: skip
    stream = schedules.stream
    return Hindsight(stream.name, stream.delay_days, budget, schedules.sign * scored[best], schedules.days_of(best), exact, len(scored),
                     _best_rule(schedules, rules, score))  # fmt: skip


def _best_rule(schedules: Schedules, rules: dict[str, tuple[int, ...]], score) -> BestRule | None:
    """The rule whose days score best (``score``: the search's, so no schedule is valued twice); None when there is none."""
    if not rules:
        return None
    name = max(rules, key=lambda n: score(rules[n]))
    return BestRule(name, schedules.sign * score(rules[name]), schedules.days_of(rules[name]), len(rules))


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
