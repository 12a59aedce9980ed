"""Seeded synthetic streams, one per way the world changes, with a real `ModelSpec` on their columns.

Every scenario draws the same kind of rows: six continuous inputs and ``day_of_week``, a
calendar field fixed within each day; the outcome follows a nonlinear relation (a threshold
interaction, a risk that turns down where inputs rarely go until they drift there), so the spec's trainer beats the
logistic baseline as it does on real data. What differs is what changes over time:

- ``stationary``: nothing; a policy should hardly retrain;
- ``gradual-covariate-drift``: two inputs' means move steadily into a region the first
  model saw little of, while P(outcome | inputs) stays the same;
- ``sudden-concept-drift``: halfway through, the relation itself changes (inputs unchanged);
- ``seasonal``: ``season``, a daily-constant value on a half cycle over the stream, moves the
  base rate and one input's effect; weekends differ too. The drift test skips features fixed
  within a day, so only outcomes can reveal it.

The spec's every field but the names is the `ModelSpec` default, so the benchmark measures
the defaults users get.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_assets.simulate.streams import Stream
from mlops_assets.specs.contract import Column, LabelContract
from mlops_assets.specs.model import ModelSpec
from mlops_assets.specs.source import SourceSpec

INPUTS = tuple(f"x{i}" for i in range(6))
CALENDAR = "day_of_week"
SEASON = "season"
LABEL, EVENT_TIME, ID = "label", "event_timestamp", "event_id"
START = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday


@dataclass(frozen=True)
class Draw:
    """The inputs of one day and the relation that labels them, as functions of the stream's progress t in [0, 1)."""

    shift: Callable[[float], float] = lambda t: 0.0  # added to the means of x0 and x2
    concept: Callable[[float], int] = lambda t: 0  # which relation holds (0 before a concept drift, 1 after)
    season: Callable[[float], float] = lambda t: 0.0  # the daily-constant seasonal value


SCENARIOS: dict[str, tuple[Draw, bool]] = {  # scenario -> (how it changes, whether it drifts)
    "stationary": (Draw(), False),
    "gradual-covariate-drift": (Draw(shift=lambda t: 2.0 * t), True),
    "sudden-concept-drift": (Draw(concept=lambda t: int(t >= 0.5)), True),
    "seasonal": (Draw(season=lambda t: float(np.cos(np.pi * t))), True),
}


def _logit(x: np.ndarray, weekend: np.ndarray, concept: int, season: float) -> np.ndarray:
    """The outcome's log-odds: an interaction above a threshold, a risk that turns down past x0 = 1.5, a wave, a calendar effect."""
    x0, x1, x2, x3, x4, x5 = x.T
    if concept == 0:
        z = 1.0 * x0 - 0.8 * x1 + 1.5 * (x2 > 0.5) * x3 - 2.5 * np.maximum(x0 - 1.5, 0) + 0.8 * np.sin(2 * x4)
    else:  # the relation after a concept drift: x1 and x3 swap roles, the wave turns on x5
        z = 1.0 * x0 + 0.8 * x1 - 1.5 * (x2 > 0.5) * x3 - 2.5 * np.maximum(x0 - 1.5, 0) + 0.8 * np.sin(2 * x5)
    return z - 1.2 + 0.6 * weekend + 1.0 * season + 0.8 * season * x1


def synthetic_frame(draw: Draw, *, days: int, rows_per_day: int, seed: int) -> pd.DataFrame:
    """``days`` days of rows (Poisson around ``rows_per_day`` a day), in time order, with their outcomes."""
    rng = np.random.default_rng(seed)
    frames = []
    for day in range(days):
        t, n = day / days, int(rng.poisson(rows_per_day))
        x = rng.normal(size=(n, len(INPUTS)))
        x[:, [0, 2]] += draw.shift(t)
        when = START + pd.Timedelta(days=day)
        weekend = np.full(n, float(when.weekday() >= 5))
        season = draw.season(t)
        y = rng.random(n) < 1 / (1 + np.exp(-_logit(x, weekend, draw.concept(t), season)))
        times = when + pd.to_timedelta(np.sort(rng.random(n)) * 86_400, unit="s").floor("us")  # a database's precision
        frames.append(pd.DataFrame(x, columns=list(INPUTS)).assign(
            **{CALENDAR: float(when.weekday()), SEASON: season, LABEL: y.astype("int64"), EVENT_TIME: times}))
    frame = pd.concat(frames, ignore_index=True)
    return frame.assign(**{ID: np.arange(1, len(frame) + 1)})


def synthetic_spec(scenario: str) -> ModelSpec:
    """A `ModelSpec` on the synthetic columns; every field but the names is the default."""
    name = "synthetic_" + scenario.replace("-", "_")
    columns = (Column(ID, "int", unique=True), *(Column(c, "float") for c in (*INPUTS, CALENDAR, SEASON)), Column(EVENT_TIME, "timestamp"))
    source = SourceSpec(name=name, columns=columns, id_column=ID, event_time=EVENT_TIME, labels=LabelContract(LABEL))
    return ModelSpec(name=name, source=source, feature_service=f"{name}_v1", entity_keys=(ID,))


def synthetic_stream(scenario: str, *, days: int = 84, rows_per_day: int = 200, seed: int = 0) -> Stream:
    """One scenario as a stream (outcomes arriving at once: `Stream.at_delay` sets the delay)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    draw, drifting = SCENARIOS[scenario]
    frame = synthetic_frame(draw, days=days, rows_per_day=rows_per_day, seed=seed)
    return Stream(name=scenario, spec=synthetic_spec(scenario), frame=frame, features=(*INPUTS, CALENDAR, SEASON), drifting=drifting,
                  data=f"seeded generator (seed {seed}, {days} days, ~{rows_per_day} rows a day)")
