"""The best timing with hindsight: a schedule's metric is what replaying it gives, and the best bounds every policy.

The tiny synthetic stream and the logistic trainer of test_prequential keep it fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from mlops_assets.simulate.hindsight import BestRule, Hindsight, Schedules, best_schedule
from mlops_assets.simulate.prequential import ONE_DAY, Outcome, ReplayState, after_first, first_model, replay, run
from mlops_assets.simulate.report import target_lines, targets
from mlops_assets.simulate.strategies import MONDAY, Decision, Default, Never, Scheduled, new_labels
from mlops_assets.simulate.versions import Fits
from tests.unit.test_prequential import Spy, tiny


@pytest.fixture(scope="module")
def replayed():
    stream = tiny(Spy())
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    return stream, first, Schedules(stream, fits, first), fits


@pytest.mark.parametrize("strategy", [Never(), Scheduled("weekly", MONDAY), Scheduled("daily", None)], ids=lambda s: s.name)
def test_a_schedule_scores_exactly_what_replaying_it_scored(replayed, strategy):
    stream, first, schedules, fits = replayed
    state = after_first(stream, fits, first)
    outcome = run(state, strategy)
    days = tuple(state.days.index(start - ONE_DAY) for start in state.registry.retrain_starts)  # a retrain at the end of day i
    assert schedules.value(days) == pytest.approx(outcome.metric, abs=1e-12)


@dataclass(frozen=True)
class Rule:
    """A fixed rule deployed without a gate: every ``period`` days after the first model, else on the spec's new-labels trigger."""

    first_day: int
    period: int | None = None
    name: str = "rule"
    gated: bool = False

    def decide(self, day: ReplayState) -> Decision:
        if self.period:
            return Decision((day.index - self.first_day) % self.period == 0)
        return Decision(new_labels(day).fired)


def shares_count(stream):
    """The stream with a new-labels trigger that a share alone sets (no minimum count), so its rules fire on a tiny stream."""
    return replace(stream, spec=replace(stream.spec, policy=replace(stream.spec.policy, min_new_labels=1)))


@pytest.fixture(scope="module")
def growing():
    stream = shares_count(tiny(Spy()))
    fits = Fits(stream.spec, stream.features)
    return Schedules(stream, fits, first_model(stream, fits))


@pytest.mark.parametrize(("period", "share"), [(3, None), (5, None), (None, 0.2), (None, 0.6)])
def test_a_fixed_rule_scores_what_replaying_it_scored(period, share):
    """`every` is a cron job at that period; `growth` the library's new-labels trigger at that share, each deployed ungated."""
    stream = shares_count(tiny(Spy()))
    if share is not None:
        stream = replace(stream, spec=replace(stream.spec, policy=replace(stream.spec.policy, min_new_label_share=share)))
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    state = after_first(stream, fits, first)
    outcome = run(state, Rule(first.day, period))
    days = tuple(state.days.index(start - ONE_DAY) for start in state.registry.retrain_starts)
    schedules = Schedules(stream, fits, first)
    rule = schedules.every(period) if period else schedules.growth(share)
    assert len(days) >= 2 and rule == days
    assert schedules.value(rule) == pytest.approx(outcome.metric, abs=1e-12)


def test_the_best_fixed_rule_is_the_best_of_the_rules_within_the_budget(growing):
    schedules = growing
    rules = schedules.rules()
    within = {name: days for name, days in rules.items() if len(days) <= 2}
    hindsight = best_schedule(schedules, 2)
    best = hindsight.rule
    assert 0 < best.rules == len(within) < len(rules)
    assert best.metric == pytest.approx(max(schedules.value(days) for days in within.values()), abs=1e-12)
    assert best.days == schedules.days_of(within[best.rule])
    assert hindsight.metric >= best.metric  # a rule's days are one schedule among all


def test_the_best_timing_bounds_the_default_policy_with_as_many_promotions():
    """Every model the default serves is a refit on all known rows at the end of a day: its service is one of the schedules."""
    stream = tiny(Spy(), seed=4)  # a stream on which the gate refuses some challengers and promotes one
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    state = after_first(stream, fits, first)
    default = run(state, Default())
    promoted = tuple(state.days.index(v.decided_at - ONE_DAY) for v in state.registry.versions[len(first.versions):] if v.refit_of)
    assert stream.spec.refit_after_gate and default.retrains > default.promotions == len(promoted) >= 1
    schedules = Schedules(stream, fits, first)
    assert schedules.value(promoted) == pytest.approx(default.metric, abs=1e-12)
    best = best_schedule(schedules, default.promotions)
    assert best.exact and best.schedules == sum(1 for _ in _subsets(len(schedules.days), default.promotions))
    assert best.metric >= default.metric
    assert best_schedule(schedules, 0).metric == pytest.approx(replay(stream, Never(), fits, first).metric, abs=1e-12)


def test_too_many_schedules_are_searched_and_say_so(replayed):
    _, _, schedules, _ = replayed
    exact = best_schedule(schedules, 2)
    searched = best_schedule(schedules, 3, max_exact=100)
    assert exact.exact and not searched.exact and searched.schedules < sum(1 for _ in _subsets(len(schedules.days), 3))
    assert len(searched.days) <= 3 and searched.metric >= exact.metric  # the search starts from every pair
    assert searched.rule is not None and searched.metric >= searched.rule.metric  # and from every fixed rule's days
    day_index = {f"{d:%Y-%m-%d}": i for i, d in enumerate(schedules.dates)}
    found = tuple(day_index[d] for d in searched.days)
    assert schedules.value(found) == pytest.approx(searched.metric, abs=1e-12)
    # no day added (within the budget) or moved does better: the search stopped at a local best
    others = [d for d in schedules.days if d not in found]
    neighbours = [(*found, d) for d in others] if len(found) < 3 else []
    neighbours += [(*found[:i], d, *found[i + 1:]) for i in range(len(found)) for d in others]
    assert max(schedules.value(tuple(sorted(n))) for n in neighbours) <= searched.metric


def _subsets(n: int, k: int):
    from itertools import combinations

    return (c for size in range(k + 1) for c in combinations(range(n), size))


def _outcome(strategy: str, metric: float, retrains: int) -> Outcome:
    return Outcome("s", 0, strategy, metric, metric, retrains, retrains, 0, 0, 10, 50, 50)


@pytest.mark.parametrize(
    ("best", "exact", "reachable", "phrase"),
    [(0.79, True, False, "out of reach"), (0.81, True, True, "best timing of 2 retrains 0.8100"),
     (0.79, False, True, "searched: at least 0.7900")],
)  # fmt: skip
def test_a_metric_target_is_out_of_reach_only_when_every_timing_was_tried_and_fell_short(best, exact, reachable, phrase):
    outcomes = [_outcome("default", 0.78, 2), _outcome("weekly", 0.80, 7), _outcome("never", 0.70, 0)]
    hindsight = [Hindsight("s", 0, 2, best, ("2024-01-02",), exact, 10)]
    metric = next(t for t in targets(outcomes, {"s": True}, hindsight) if t.what.startswith("metric"))
    assert not metric.met and metric.reachable is reachable and phrase in metric.numbers
    summary = target_lines(targets(outcomes, {"s": True}, hindsight)).splitlines()[-1]
    assert ("no timing of the allowed retrains" in summary) is not reachable


@pytest.mark.parametrize(("rule", "hand_picked"), [(0.79, True), (0.805, False), (None, True)])
def test_a_reachable_target_no_fixed_rule_meets_is_counted_apart(rule, hand_picked):
    outcomes = [_outcome("default", 0.78, 2), _outcome("weekly", 0.80, 7), _outcome("never", 0.70, 0)]
    found = BestRule("every 21 days", rule, ("2024-01-22",), 30) if rule is not None else None
    hindsight = [Hindsight("s", 0, 2, 0.81, ("2024-01-02",), True, 10, found)]
    metric = next(t for t in targets(outcomes, {"s": True}, hindsight) if t.what.startswith("metric"))
    assert metric.reachable and metric.by_rule is not hand_picked
    assert (f"best fixed rule {rule:.4f}" if rule else "no fixed rule within it") in metric.numbers
    summary = target_lines(targets(outcomes, {"s": True}, hindsight)).splitlines()[-1]
    assert ("1 more only hand-picked days could meet" in summary) is hand_picked


def test_without_hindsight_targets_are_judged_as_before():
    outcomes = [_outcome("default", 0.81, 2), _outcome("weekly", 0.80, 7), _outcome("never", 0.70, 0)]
    metric = next(t for t in targets(outcomes, {"s": True}) if t.what.startswith("metric"))
    assert metric.met and metric.reachable and metric.numbers == "0.8100 vs 0.8000"
