"""A labelled event stream to replay day by day: model inputs, outcomes, and when each outcome becomes known.

The prequential replay (`mlops_assets.simulate.prequential`) needs nothing else: the model's
feature columns, the label, the event time of every row and the time its label arrives.
Outcomes arrive ``delay_days`` after their event, so one stream replays at several delays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from mlops_assets.specs.model import ModelSpec

ARRIVES = "_label_arrives"  # when the row's outcome becomes known
DAY = "_day"  # the UTC day of the event: the replay's step and the drift test's day column


@dataclass(frozen=True)
class Stream:
    """Rows of one model's events in time order, with the spec that trains, gates and retrains on them.

    ``drifting`` says which targets apply (a stationary stream should hardly retrain);
    ``data`` says where the rows came from (real dataset or seeded generator).
    """

    name: str
    spec: ModelSpec
    frame: pd.DataFrame
    features: tuple[str, ...]
    drifting: bool
    data: str
    delay_days: int = 0

    def __post_init__(self) -> None:
        needed = [*self.features, self.spec.label, self.spec.event_time]
        if missing := [c for c in needed if c not in self.frame.columns]:
            raise ValueError(f"stream {self.name!r} lacks columns {missing}; it needs the features, the label and the event time")

    def at_delay(self, days: int) -> Stream:
        """The same events, their outcomes arriving ``days`` days after each event."""
        if days < 0:
            raise ValueError(f"a label delay cannot be negative, got {days}")
        times = pd.to_datetime(self.frame[self.spec.event_time], utc=True)
        frame = self.frame.assign(**{self.spec.event_time: times, ARRIVES: times + pd.Timedelta(days=days), DAY: times.dt.floor("D")})
        return replace(self, frame=frame.sort_values(self.spec.event_time, kind="stable").reset_index(drop=True), delay_days=days)

    @property
    def days(self) -> list[pd.Timestamp]:
        """Every UTC day from the first event to the last (days without events included)."""
        times = pd.to_datetime(self.frame[self.spec.event_time], utc=True)
        return list(pd.date_range(times.min().floor("D"), times.max().floor("D"), freq="D"))
