"""Rules for events that need more than the row: the event time against its day, and ids seen on other days.

The suite judges each row alone. These two need the partition and the lake:
- an event's time falls on the day its file landed under (a file of 2021-09-01 holding an
  event of 1970 or of next year is a broken extract, not an early or late event);
- an id validated on another day is not a new event: reusing it would give two events, and
  their labels, one key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.validate import RowReasons

ON_DAY = "event_on_day"
NEW_ID = "id_not_reused"


class EventRules:
    """``validate.RowRules`` for one run's event days; ``seen`` maps each id validated on a day outside the run to that day."""

    def __init__(self, source: SourceSpec, seen: dict) -> None:
        self._id, self._time = source.id_column, source.event_time
        self._seen = seen

    def __call__(self, day: str, frame: pd.DataFrame) -> RowReasons:
        reasons: RowReasons = {}
        if self._time in frame.columns and isinstance(frame[self._time].dtype, pd.DatetimeTZDtype):
            start, times = pd.Timestamp(day, tz="UTC"), frame[self._time]
            off_day = times.notna() & ((times < start) | (times >= start + pd.Timedelta(days=1)))
            for pos in np.flatnonzero(off_day.to_numpy()):
                reasons.setdefault(int(pos), []).append(
                    (f"{ON_DAY}({self._time})", f"{self._time}={times.iloc[pos].isoformat()} is not on {day}, the day its file landed under")
                )
        if self._id in frame.columns and self._seen:
            first = frame[self._id].map(self._seen)
            for pos in np.flatnonzero(first.notna().to_numpy()):
                value = frame[self._id].iloc[pos]
                value = value.item() if hasattr(value, "item") else value
                reasons.setdefault(int(pos), []).append(
                    (f"{NEW_ID}({self._id})", f"{self._id}={value!r} was already validated on {first.iloc[pos]}: an id names one event")
                )
        return reasons
