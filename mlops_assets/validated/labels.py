"""The label contract: outcomes are validated like events before they reach the training population.

A label file's columns come from the source (its id column) and its ``LabelContract`` (the
label and the time it became known), so the Great Expectations suite is derived exactly as
for events: every column present, no nulls, the label one of the contract's values, the id
of the id column's type (a float id that a cast would change is quarantined). Rules that
need more than the row (``label_rules``) are checked against the lake:

- the time the label became known falls on the day the file landed (not 1970, not 2099);
- its event exists (a validated event with that id) and came before the label;
- a label that differs from one validated on an earlier day is a flip: quarantined for a
  person to decide, never written over the earlier one; the same label again is harmless.

A missing label column is a schema break, so the day fails the blocking check instead of
giving zero labels and a green run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from mlops_assets.specs.contract import Column
from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.validate import RowReasons

TIME = "label_time"
UNKNOWN_ID = "known_event"
FLIP = "no_flip"


@dataclass(frozen=True)
class LabelTable:
    """A source's label files as a validated table: name, columns and reject limit (``validate.Table``)."""

    name: str
    columns: tuple[Column, ...]
    max_reject_fraction: float

    @property
    def dtypes(self) -> dict[str, str]:
        return {column.name: column.dtype for column in self.columns}


def label_table(source: SourceSpec) -> LabelTable:
    labels = source.labels
    key = replace(source.column(source.id_column), description=f"the {source.name} event this outcome belongs to")
    return LabelTable(
        name=f"{source.name}_labels",
        columns=(
            key,
            Column(labels.column, "int", allowed=tuple(labels.values), description=f"the outcome, one of {labels.values}"),
            Column(labels.time_column, "timestamp", description="when the outcome became known"),
        ),
        max_reject_fraction=source.max_reject_fraction,
    )


class LabelRules:
    """``validate.RowRules`` for one run's label days: time on the day, a known earlier event, no flip.

    ``events`` holds (id, event time) of every validated event; ``earlier`` the labels
    validated before the run's first day. Days are checked in order, so a label of the
    run's first day is an earlier label for its later days.
    """

    def __init__(self, source: SourceSpec, events: pd.DataFrame, earlier: pd.DataFrame) -> None:
        self._id, self._label, self._time = source.id_column, source.labels.column, source.labels.time_column
        self._event_time = events.drop_duplicates(self._id, keep="last").set_index(self._id)[source.event_time]
        self._known: dict = dict(zip(earlier[self._id], earlier[self._label]))
        self._known_on: dict = dict(zip(earlier[self._id], earlier[self._time]))

    def __call__(self, day: str, frame: pd.DataFrame) -> RowReasons:
        needed = (self._id, self._label, self._time)
        if not set(needed) <= set(frame.columns) or not isinstance(frame[self._time].dtype, pd.DatetimeTZDtype):
            return {}  # a schema break: the suite reports it for the whole day
        reasons: RowReasons = {}
        start = pd.Timestamp(day, tz="UTC")
        times = frame[self._time]
        off_day = times.notna() & ((times < start) | (times >= start + pd.Timedelta(days=1)))
        for pos in np.flatnonzero(off_day.to_numpy()):
            reasons.setdefault(int(pos), []).append(
                (f"{TIME}({self._time})", f"{self._time}={times.iloc[pos].isoformat()} is not on {day}, the day the label file landed")
            )
        ids = frame[self._id]
        event_times = ids.map(self._event_time)
        for pos in np.flatnonzero((ids.notna() & event_times.isna()).to_numpy()):
            reasons.setdefault(int(pos), []).append(
                (f"{UNKNOWN_ID}({self._id})", f"{self._id}={_show(ids.iloc[pos])} has no validated event (it never landed, or was quarantined)")
            )
        early = event_times.notna() & times.notna() & (times < event_times)
        for pos in np.flatnonzero(early.to_numpy()):
            reasons.setdefault(int(pos), []).append(
                (f"{TIME}({self._time})", f"{self._time}={times.iloc[pos].isoformat()} is before its event ({event_times.iloc[pos].isoformat()})")
            )
        labels = frame[self._label]
        for pos in range(len(frame)):
            key, label = ids.iloc[pos], labels.iloc[pos]
            before = self._known.get(key)
            if before is not None and pd.notna(label) and before != label:
                reasons.setdefault(pos, []).append((
                    f"{FLIP}({self._label})",
                    f"{self._id}={_show(key)} was labelled {self._label}={_show(before)} on {self._known_on[key]:%Y-%m-%d}; "
                    f"{_show(label)} now would flip it: a person must decide (re-land the right label after removing the wrong one)",
                ))  # fmt: skip
        for pos in range(len(frame)):  # this day's labels are the earlier ones of the run's next days
            if pos not in reasons and pd.notna(ids.iloc[pos]) and pd.notna(labels.iloc[pos]) and ids.iloc[pos] not in self._known:
                self._known[ids.iloc[pos]], self._known_on[ids.iloc[pos]] = labels.iloc[pos], times.iloc[pos]
        return reasons


def _show(value: object) -> str:
    value = value.item() if hasattr(value, "item") else value
    return repr(value) if isinstance(value, str) else str(value)
