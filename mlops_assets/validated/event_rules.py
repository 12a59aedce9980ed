"""Rules for events that need more than the row: times against the day, ids seen on other days, keys in reference tables.

The suite judges each row alone. These need the partition and the lake:
- an event's time falls on the day its file landed under (a file of 2021-09-01 holding an
  event of 1970 or of next year is a broken extract, not an early or late event);
- no other timestamp of the row is after that day (a row is not created after it landed),
  nor before the column its contract names in ``not_before`` (created before its event);
- an id validated on another day is not a new event: reusing it would give two events, and
  their labels, one key;
- a column that ``references`` a reference table holds a value that table has (a zipcode
  that does not exist gets no features online, and would train on nulls).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.validate import RowReasons

ON_DAY = "event_on_day"
NOT_AFTER_DAY = "not_after_day"
NOT_BEFORE = "not_before"
NEW_ID = "id_not_reused"
EXISTS = "exists_in"


class EventRules:
    """``validate.RowRules`` for one run's event days.

    ``seen`` maps each id validated on a day outside the run to that day; ``known`` maps each
    referencing column to the values its reference table holds.
    """

    def __init__(self, source: SourceSpec, seen: dict, known: Mapping[str, set] | None = None) -> None:
        self._source, self._id, self._time = source, source.id_column, source.event_time
        self._seen, self._known = seen, dict(known or {})

    def __call__(self, day: str, frame: pd.DataFrame) -> RowReasons:
        reasons: RowReasons = {}

        def add(mask: pd.Series, rule: str, why) -> None:
            for pos in np.flatnonzero(mask.to_numpy(dtype=bool)):
                reasons.setdefault(int(pos), []).append((rule, why(pos)))

        start = pd.Timestamp(day, tz="UTC")
        end = start + pd.Timedelta(days=1)
        for column in self._source.columns:
            if column.kind != "timestamp" or not _tz_aware(frame, column.name):
                continue
            times = frame[column.name]
            if column.name == self._time:
                add(times.notna() & ((times < start) | (times >= end)), f"{ON_DAY}({column.name})",
                    lambda pos: f"{column.name}={times.iloc[pos].isoformat()} is not on {day}, the day its file landed under")  # fmt: skip
            else:
                add(times.notna() & (times >= end), f"{NOT_AFTER_DAY}({column.name})",
                    lambda pos: f"{column.name}={times.iloc[pos].isoformat()} is after {day}, the day its file landed under")  # fmt: skip
            if column.not_before is not None and _tz_aware(frame, column.not_before):
                other = frame[column.not_before]
                add(times.notna() & other.notna() & (times < other), f"{NOT_BEFORE}({column.name},{column.not_before})",
                    lambda pos: f"{column.name}={times.iloc[pos].isoformat()} is before {column.not_before}={other.iloc[pos].isoformat()}")  # fmt: skip
        if self._id in frame.columns and self._seen:
            first = frame[self._id].map(self._seen)
            add(first.notna(), f"{NEW_ID}({self._id})",
                lambda pos: f"{self._id}={_item(frame[self._id].iloc[pos])!r} was already validated on {first.iloc[pos]}: an id names one event")  # fmt: skip
        for name, values in self._known.items():
            if name in frame.columns:
                table = self._source.references[name].name
                add(frame[name].notna() & ~frame[name].isin(values), f"{EXISTS}({name},{table})",
                    lambda pos: f"{name}={_item(frame[name].iloc[pos])!r} is not in reference table {table}")  # fmt: skip
        return reasons


def _tz_aware(frame: pd.DataFrame, name: str) -> bool:
    return name in frame.columns and isinstance(frame[name].dtype, pd.DatetimeTZDtype)


def _item(value):
    return value.item() if hasattr(value, "item") else value
