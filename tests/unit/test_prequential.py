"""The prequential replay: scored only by the model serving since the start of the day, never reading an outcome early.

A tiny synthetic stream with the logistic baseline as the trainer (fast) and a spy around it
that keeps every training set it was given.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mlops_assets.simulate.prequential import ONE_DAY, ReplayState, after_first, first_model, replay, run
from mlops_assets.simulate.strategies import MONDAY, Default, Never, Scheduled
from mlops_assets.simulate.streams import ARRIVES, Stream
from mlops_assets.simulate.synthetic import synthetic_stream
from mlops_assets.simulate.versions import DEPLOYED, PROMOTED, REFUSED, WAITING, Fits, Fitted, Registry
from mlops_assets.training.trainers import train_logistic_baseline

DELAY = 3


class Spy:
    """The logistic baseline as a trainer, remembering the rows of every fit."""

    def __init__(self) -> None:
        self.training_sets: list[pd.DataFrame] = []

    def __call__(self, rows: pd.DataFrame, **kwargs) -> object:
        self.training_sets.append(rows)
        return train_logistic_baseline(rows, **kwargs)


def tiny(spy: Spy, seed: int = 3) -> Stream:
    stream = synthetic_stream("sudden-concept-drift", days=24, rows_per_day=40, seed=seed)
    spec = replace(stream.spec, trainer=spy, margin=0.0, min_training_rows=100, holdout_days=3, gate_min_rows=20, gate_min_per_class=3)
    return replace(stream, spec=spec).at_delay(DELAY)


def replayed(stream: Stream, strategy) -> tuple[ReplayState, object]:
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    state = after_first(stream, fits, first)
    return state, run(state, strategy)


@pytest.mark.parametrize("strategy", [Scheduled("daily", None), Default()], ids=["daily", "default"])
def test_each_day_is_scored_by_the_model_serving_since_its_start(strategy):
    state, outcome = replayed(tiny(Spy()), strategy)
    versions = {v.number: v for v in state.registry.versions}
    serving = [v for v in state.registry.versions if v.decision in (PROMOTED, DEPLOYED)]
    scored = np.flatnonzero(state.served_by)
    assert len(scored) and outcome.scored_days == outcome.event_days
    for row in scored:
        start = state.days[state.day_index[row]]
        version = versions[state.served_by[row]]
        assert version.decided_at <= start and version.fitted.trained_through < start
        newest = max((v for v in serving if v.decided_at <= start), key=lambda v: (v.decided_at, v.number))
        assert version.number == newest.number  # the latest model deployed before the day began, not one deployed during it


def test_no_fit_reads_an_outcome_before_it_arrives():
    spy = Spy()
    stream = tiny(spy)
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    spy.training_sets.clear()
    state = after_first(stream, fits, first)
    run(state, Scheduled("daily", None))
    assert len(spy.training_sets) == len(state.registry.retrain_starts) > 10
    for rows, started in zip(spy.training_sets, state.registry.retrain_starts, strict=True):
        assert rows[ARRIVES].max() < started
        assert rows[stream.spec.event_time].max() < started - pd.Timedelta(days=DELAY)


def test_outcomes_not_yet_arrived_change_nothing_done_before_they_arrive():
    """Flip every outcome arriving after the end of day 16: every score, version and decision until then stays the same."""
    original = tiny(Spy())
    end = original.days[16] + ONE_DAY
    label = original.spec.label
    late = (original.frame[ARRIVES] >= end).to_numpy()
    changed = replace(original, frame=original.frame.assign(**{label: np.where(late, 1 - original.frame[label], original.frame[label])}))
    assert late.sum() > 100
    (a, _), (b, _) = replayed(original, Default()), replayed(changed, Default())
    upto = a.day_index <= 17  # scored by models deployed at the latest at the end of day 16
    np.testing.assert_array_equal(a.scores[upto], b.scores[upto])
    early = [[(v.number, v.decision, v.fitted.rows, v.fitted.trained_through) for v in s.registry.versions if v.decided_at <= end] for s in (a, b)]
    assert early[0] == early[1] and len(early[0]) > 2
    assert [line for line in a.log if line[:10] <= f"{end:%Y-%m-%d}"] == [line for line in b.log if line[:10] <= f"{end:%Y-%m-%d}"]


def test_never_weekly_and_daily_retrain_exactly_on_their_schedule():
    stream = tiny(Spy())
    fits = Fits(stream.spec, stream.features)
    first = first_model(stream, fits)
    nights = [stream.days[i] + ONE_DAY for i in range(first.day + 1, len(stream.days) - 1)]  # a model trained the last night serves nothing
    outcomes = {s.name: replay(stream, s, fits, first) for s in (Never(), Scheduled("weekly", MONDAY), Scheduled("daily", None))}
    assert outcomes["never"].retrains == 0 and outcomes["never"].longest_served_days == len(stream.days) - 1 - first.day
    assert outcomes["weekly"].retrains == outcomes["weekly"].promotions == sum(n.weekday() == MONDAY for n in nights) > 0
    assert outcomes["daily"].retrains == outcomes["daily"].promotions == len(nights)
    assert outcomes["daily"].longest_served_days == 1
    assert {o.scored_days for o in outcomes.values()} == {outcomes["never"].event_days}


def test_the_history_is_what_the_sensors_read_from_the_registry():
    """Refusals count since the last promotion (waiting ones neither count nor reset); trained_through covers every retrain."""
    registry = Registry()
    fitted = Fitted(model=None, rows=10, trained_through=pd.Timestamp("2024-01-01", tz="UTC"), profile=None)
    day = pd.Timestamp("2024-01-10", tz="UTC")
    for i, decision in enumerate((PROMOTED, REFUSED, PROMOTED, REFUSED, WAITING, REFUSED)):
        registry.register(fitted, window_end=day + i * ONE_DAY, decision=decision, at=day + i * ONE_DAY, metric=0.5)
    history = registry.history()
    assert list(history.refused_in_a_row) == ["4", "6"]
    assert history.last_refused_at == (day + 5 * ONE_DAY).to_pydatetime()
    assert history.trained_through == (day + 5 * ONE_DAY).to_pydatetime() and history.running == 0
