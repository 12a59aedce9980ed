"""The prequential replay: each day's events are scored by the model serving at the start of that day.

Day by day: (a) the day's events are scored by the serving model (those scores, with their
outcomes, are what a strategy is judged on); (b) outcomes that arrived by the end of the day
become known; (c) the strategy decides, from what is known then, whether to retrain; (d) a
retrain fits the spec's trainer on the known labelled rows and, for a gated strategy, the
champion gate decides; a model that is deployed serves from the next day. Nothing reads an
outcome before its arrival time, so a strategy cannot be better than it would be live.

The first model is trained once enough labelled rows are known and passes the gate against
its baseline; it is the same for every strategy, so the strategies differ only after it.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mlops_assets.errors import DataError
from mlops_assets.evaluation.metrics import classification_metrics
from mlops_assets.simulate.gating import champion_gate, first_gate
from mlops_assets.simulate.strategies import Strategy
from mlops_assets.simulate.streams import ARRIVES, DAY, Stream
from mlops_assets.simulate.versions import DEPLOYED, PROMOTED, REFUSED, WAITING, Fits, Registry, Version
from mlops_assets.training.split import HOLDOUT, SPLIT, TRAIN, TimeWindow, time_split

ONE_DAY = pd.Timedelta(days=1)


def _ns(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values, utc=True).to_numpy(dtype="datetime64[ns]")


class ReplayState:
    """One stream at one delay as it stands at the end of a day: what a strategy may read, and the registry.

    The scores and serving versions filled in so far are the prediction log; ``known_mask``
    is the labelled events table; ``window`` the validated inputs of the latest days.
    """

    def __init__(self, stream: Stream, fits: Fits, registry: Registry) -> None:
        self.stream, self.spec, self.fits, self.registry = stream, stream.spec, fits, registry
        frame = stream.frame
        self.frame = frame
        self.event_times = _ns(frame[self.spec.event_time])
        self.arrives = _ns(frame[ARRIVES])
        self.days = stream.days
        day_of_row = _ns(frame[DAY])
        self.day_index = np.searchsorted(np.array([d.to_datetime64() for d in self.days], dtype="datetime64[ns]"), day_of_row)
        self.bounds = np.searchsorted(self.day_index, np.arange(len(self.days) + 1))  # rows of day i: bounds[i]:bounds[i + 1]
        self.labels = frame[self.spec.label].to_numpy(dtype="int64")
        self.scores = np.full(len(frame), np.nan)
        self.served_by = np.zeros(len(frame), dtype="int64")  # version number that scored the row; 0: none yet
        self.index = 0
        self.now = self.days[0] + ONE_DAY
        self.log: list[str] = []

    @property
    def champion(self) -> Version:
        assert self.registry.champion is not None, "strategies are asked only once a first model serves"
        return self.registry.champion

    def known_mask(self) -> np.ndarray:
        """Rows whose outcome has arrived by now (strictly before the end of the day)."""
        return self.arrives < self.now.to_datetime64()

    def known(self) -> pd.DataFrame:
        """The labelled events a retrain started now would read, in time order."""
        return self.frame[self.known_mask()]

    def data_through(self) -> pd.Timestamp | None:
        """The newest event time among known outcomes (`sensors.retrain.labelled_through`)."""
        known = self.event_times[self.known_mask()]
        return pd.Timestamp(known.max(), tz="UTC").to_pydatetime() if len(known) else None

    def window(self, days: int) -> pd.DataFrame:
        """Every event of the ``days`` days ending today, labelled or not: what the drift report reads."""
        first = max(0, self.index - days + 1)
        return self.frame.iloc[self.bounds[first]: self.bounds[self.index + 1]]

    def live_outcomes(self, days: int) -> tuple[np.ndarray, np.ndarray]:
        """Labels and scores of the champion's predictions over the latest ``days`` event days with any known outcome."""
        logged = self.known_mask() & (self.served_by > 0)
        latest = np.unique(self.day_index[logged])[-days:]
        mine = logged & (self.served_by == self.champion.number) & np.isin(self.day_index, latest)
        return self.labels[mine], self.scores[mine]

    def score_today(self) -> None:
        """(a) The day's events scored by the model serving since the start of the day."""
        champion = self.registry.champion
        rows = slice(self.bounds[self.index], self.bounds[self.index + 1])
        if champion is not None and rows.stop > rows.start:
            self.scores[rows] = champion.fitted.model.predict(self.frame.iloc[rows])
            self.served_by[rows] = champion.number

    def split(self) -> tuple[pd.DataFrame, pd.DataFrame, TimeWindow] | None:
        """The training set a retrain started now builds, as the training_set asset splits it; None when it would fail."""
        spec = self.spec
        try:
            frame, window = time_split(self.known(), time_column=spec.event_time, holdout_days=spec.holdout_days,
                                       min_rows=min(spec.min_training_rows, 100))  # fmt: skip
        except DataError as exc:
            self.log.append(f"{self.now:%Y-%m-%d} training set failed: {exc}")
            return None
        train, holdout = frame[frame[SPLIT] == TRAIN], frame[frame[SPLIT] == HOLDOUT]
        if len(train) < spec.min_training_rows:
            self.log.append(f"{self.now:%Y-%m-%d} training set failed: {len(train)} training rows < {spec.min_training_rows}")
            return None
        return train, holdout, window

    def retrain_gated(self) -> None:
        """Challenger on the train split, the champion gate, and the refit on all rows when it passes."""
        self.registry.retrain_starts.append(self.now)
        split = self.split()
        if split is None:
            return
        train, holdout, window = split
        challenger = self.fits.fit(train)
        decision = champion_gate(self.spec, holdout, challenger, self.champion.fitted)
        version = self.registry.register(challenger, window_end=window.holdout_end, decision=decision.decision, at=self.now,
                                         metric=decision.challenger)  # fmt: skip
        self.log.append(f"{self.now:%Y-%m-%d} v{version.number} {decision.decision}: {decision.reason}")
        if decision.promote:
            self.promote(version, window, decision.challenger)

    def promote(self, version: Version, window: TimeWindow, metric: float) -> None:
        """The passed challenger serves, refit on all its rows when the spec says so (a version of its own)."""
        if self.spec.refit_after_gate:
            refit = self.fits.fit(self.known())
            version = self.registry.register(refit, window_end=window.holdout_end, decision=PROMOTED, at=self.now, metric=metric,
                                             refit_of=version.number)  # fmt: skip
        self.registry.champion = version

    def retrain_deployed(self) -> None:
        """A cron job's retrain: every known row, no holdout, no gate, deployed."""
        self.registry.retrain_starts.append(self.now)
        fitted = self.fits.fit(self.known())
        version = self.registry.register(fitted, window_end=fitted.trained_through, decision=DEPLOYED, at=self.now, metric=math.nan)
        self.registry.champion = version

    def advance(self) -> None:
        self.index += 1
        self.now = self.days[self.index] + ONE_DAY


@dataclass(frozen=True)
class FirstModel:
    """The first champion, common to every strategy: the day it was trained and the versions it left."""

    day: int
    versions: tuple[Version, ...]
    attempts: int  # first models refused by the baseline gate before this one passed

    def registry(self) -> Registry:
        return Registry(versions=list(self.versions), champion=self.versions[-1])


def first_model(stream: Stream, fits: Fits) -> FirstModel:
    """Trained at the end of the first day with enough labelled rows, gated against the baseline (again each day until it passes)."""
    state = ReplayState(stream, fits, Registry())
    attempts = 0
    while state.index < len(state.days) - 1:
        split = state.split() if state.known_mask().sum() else None
        if split is not None:
            train, holdout, window = split
            challenger = fits.fit(train)
            decision = first_gate(state.spec, holdout, challenger.model, fits.baseline(train))
            version = state.registry.register(challenger, window_end=window.holdout_end, decision=decision.decision, at=state.now,
                                              metric=decision.challenger)  # fmt: skip
            if decision.promote:
                state.promote(version, window, decision.challenger)
                return FirstModel(state.index, tuple(state.registry.versions), attempts)
            attempts += 1
            state.registry = Registry()
        state.advance()
    raise DataError(f"stream {stream.name!r}: no first model passed the gate against its baseline in {len(state.days)} days")


@dataclass(frozen=True)
class Outcome:
    """One strategy on one stream at one delay: how well it served, and what it took."""

    stream: str
    delay_days: int
    strategy: str
    metric: float  # the spec's metric over every row scored after the first model
    daily_metric: float  # the mean of the daily values (days with both outcomes)
    retrains: int
    promotions: int
    waits: int
    refusals: int
    longest_served_days: int
    scored_days: int
    event_days: int  # days with events after the first model: each must be scored
    fired: dict[str, int] = field(default_factory=dict)  # per reason, the days it fired
    retrained_for: dict[str, int] = field(default_factory=dict)  # per reason, the retrains it was among the reasons of
    held: int = 0  # days a reason fired but the policy held the retrain back
    seconds: float = 0.0
    log: tuple[str, ...] = ()


def after_first(stream: Stream, fits: Fits, first: FirstModel) -> ReplayState:
    """The replay as it stands at the end of the first model's day: where every strategy starts."""
    state = ReplayState(stream, fits, first.registry())
    state.index, state.now = first.day, state.days[first.day] + ONE_DAY
    return state


def replay(stream: Stream, strategy: Strategy, fits: Fits, first: FirstModel) -> Outcome:
    """Run ``strategy`` over ``stream`` (already at its delay) from the day after the first model."""
    return run(after_first(stream, fits, first), strategy)


def run(state: ReplayState, strategy: Strategy) -> Outcome:
    """The days after ``state``'s current one: score, learn the outcomes that arrived, let ``strategy`` decide."""
    started = time.perf_counter()
    stream, first_day, first_versions = state.stream, state.index, len(state.registry.versions)
    fired: Counter[str] = Counter()
    retrained_for: Counter[str] = Counter()
    held, serving = 0, []
    while state.index < len(state.days) - 1:
        state.advance()
        serving.append(state.champion.number)
        state.score_today()
        if state.index == len(state.days) - 1:
            break  # a model trained tonight would serve no day of the stream
        decision = strategy.decide(state)
        fired.update(decision.reasons)
        if decision.retrain:
            retrained_for.update(decision.reasons)
            state.retrain_gated() if strategy.gated else state.retrain_deployed()
        elif decision.reasons:
            held += 1
            state.log.append(f"{state.now:%Y-%m-%d} held ({', '.join(decision.reasons)}): {decision.why}")
    decisions = Counter(v.decision for v in state.registry.versions[first_versions:] if v.refit_of is None)
    after = slice(state.bounds[first_day + 1], len(stream.frame))
    return Outcome(
        stream=stream.name,
        delay_days=stream.delay_days,
        strategy=strategy.name,
        metric=_metric(stream, state.labels[after], state.scores[after]),
        daily_metric=_daily_metric(stream, state, first_day + 1),
        retrains=len(state.registry.retrain_starts),
        promotions=decisions[PROMOTED] + decisions[DEPLOYED],
        waits=decisions[WAITING],
        refusals=decisions[REFUSED],
        longest_served_days=_longest_run(serving),
        scored_days=len(np.unique(state.day_index[after][state.served_by[after] > 0])),
        event_days=len(np.unique(state.day_index[after])),
        fired=dict(fired),
        retrained_for=dict(retrained_for),
        held=held,
        seconds=time.perf_counter() - started,
        log=tuple(state.log),
    )


def _metric(stream: Stream, labels: np.ndarray, scores: np.ndarray) -> float:
    return classification_metrics(labels, scores)[stream.spec.metric]


def _daily_metric(stream: Stream, state: ReplayState, first_day: int) -> float:
    values = []
    for i in range(first_day, len(state.days)):
        rows = slice(state.bounds[i], state.bounds[i + 1])
        if len(np.unique(state.labels[rows])) == 2:
            values.append(_metric(stream, state.labels[rows], state.scores[rows]))
    return float(np.mean(values)) if values else math.nan


def _longest_run(serving: list[int]) -> int:
    """The most consecutive days one version served."""
    longest = run = 0
    for i, version in enumerate(serving):
        run = run + 1 if i and serving[i - 1] == version else 1
        longest = max(longest, run)
    return longest
