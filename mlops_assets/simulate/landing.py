"""The landing zone writer: replays a source's tables as daily files, the way an upstream export would arrive.

Layout under the landing root (the same `date=` folders `resources.lake` reads), for a
source named `<source>`:

    <source>/date=YYYY-MM-DD/<source>.parquet       events of that UTC day, no label
    <source>_labels/date=YYYY-MM-DD/labels.parquet  outcomes that arrived that day
    reference/<table>.parquet                       the source's reference tables, whole

The writer passes event columns through untouched (minus the label): a scenario that
breaks the schema must reach validation, which is where the contract is enforced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlops_assets.files import atomic_write
from mlops_assets.specs.source import SourceSpec

REFERENCE = "reference"
LABELS_FILE = "labels"
PROGRESS_EVERY_DAYS = 10


@dataclass(frozen=True)
class ReplayTables:
    """What a replay lands: events with their outcome (the source's columns plus its label) and its reference tables."""

    events: pd.DataFrame
    reference: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def day_range(self, source: SourceSpec) -> tuple[date, date]:
        """First and last UTC day with an event."""
        times = pd.to_datetime(self.events[source.event_time], utc=True)
        return times.min().date(), times.max().date()


def conform(frame: pd.DataFrame, columns: Mapping[str, str], name: str) -> pd.DataFrame:
    """The contract's columns in the contract's order and dtypes (timestamps parsed as UTC)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}; it must have {list(columns)}")
    out = {}
    for column, dtype in columns.items():
        values = frame[column]
        if dtype.startswith("datetime64"):
            values = pd.to_datetime(values, utc=True)
        out[column] = values.astype(dtype)
    return pd.DataFrame(out).reset_index(drop=True)


@dataclass(frozen=True)
class LandingSummary:
    """What one call landed: the window and the files and rows in it (written or already there)."""

    first_day: date
    last_day: date
    event_files: int
    events: int
    label_files: int
    labels: int
    root: Path


def landing_path(root: Path, folder: str, day: date, file: str | None = None) -> Path:
    """Where the replay writes a day's file of a landing folder (named after the folder unless ``file`` says)."""
    return Path(root) / folder / f"date={day.isoformat()}" / f"{file or folder}.parquet"


def landed_days(root: Path, folder_name: str) -> list[date]:
    """Days that have at least one landing file in this folder (a source's name, or its labels folder), sorted."""
    folder = Path(root) / folder_name
    if not folder.is_dir():
        return []
    return sorted(
        date.fromisoformat(p.name.removeprefix("date=")) for p in folder.glob("date=*") if any(p.glob("*.parquet"))
    )


def write_landing(
    source: SourceSpec,
    tables: ReplayTables,
    root: Path,
    *,
    start: date | None = None,
    days: int = 60,
    label_delay_days: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> LandingSummary:
    """Land `days` days of `source` events from `start` (default: the last `days` of the tables).

    Labels arrive `label_delay_days` (default: the label contract's delay) after their event;
    a label file holds only outcomes of events already in the landing zone, so consecutive
    windows continue one story. Unchanged files are left alone, so re-running a window is a no-op.
    """
    delay = source.labels.delay_days if label_delay_days is None else label_delay_days
    if days < 1 or delay < 0:
        raise ValueError(f"write_landing needs days >= 1 and label_delay_days >= 0, got {days} and {delay}")
    for column in (source.id_column, source.event_time, source.labels.column):
        if column not in tables.events.columns:
            raise ValueError(f"write_landing: the {source.name} events lack {column!r}, which routes rows to days and labels")
    source_first, source_last = tables.day_range(source)
    start = source_last - timedelta(days=days - 1) if start is None else start
    end = start + timedelta(days=days - 1)
    if start < source_first or end > source_last:
        raise ValueError(
            f"landing window {start}..{end} ({days} days) is outside the source data, which covers "
            f"{source_first}..{source_last}; choose start and days inside that range"
        )
    root = Path(root)
    for table in source.reference_tables:
        if table.name not in tables.reference:
            raise ValueError(f"write_landing: source {source.name!r} declares reference table {table.name!r}, which the replay lacks")
        frame = conform(tables.reference[table.name], {c.name: c.dtype for c in table.columns}, table.name)
        _write_if_changed(pa.Table.from_pandas(frame, preserve_index=False), root / REFERENCE / f"{table.name}.parquet")

    by_day = _DailyRows(source, tables.events, delay)
    events, labels = source.name, source.labels_landing
    files, rows = dict.fromkeys((events, labels), 0), dict.fromkeys((events, labels), 0)
    for i in range(days):
        day = start + timedelta(days=i)
        event_day = day - timedelta(days=delay)
        outcomes = by_day.labels(event_day, _landed_ids(source, root, event_day, start))
        for folder, file, table in ((events, source.name, by_day.events(day)), (labels, LABELS_FILE, outcomes)):
            if table.num_rows:
                _write_if_changed(table, landing_path(root, folder, day, file))
                files[folder] += 1
                rows[folder] += table.num_rows
        if progress is not None and ((i + 1) % PROGRESS_EVERY_DAYS == 0 or i + 1 == days):
            progress(f"landed {source.name} {day} ({i + 1}/{days} days): {rows[events]} events, {rows[labels]} labels")
    return LandingSummary(
        first_day=start,
        last_day=end,
        event_files=files[events],
        events=rows[events],
        label_files=files[labels],
        labels=rows[labels],
        root=root,
    )


class _DailyRows:
    """The events sorted by time once, so each day's events and labels are a zero-copy slice."""

    def __init__(self, source: SourceSpec, events: pd.DataFrame, label_delay_days: int) -> None:
        times = pd.to_datetime(events[source.event_time], utc=True)
        order = np.argsort(times.to_numpy(), kind="stable")
        events, times = events.iloc[order], times.iloc[order]
        self._id = source.id_column
        self._days = times.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
        self._events = pa.Table.from_pandas(events.drop(columns=[source.labels.column]), preserve_index=False)
        labels = pd.DataFrame(
            {
                source.id_column: events[source.id_column],
                source.labels.column: events[source.labels.column],
                source.labels.time_column: times + pd.Timedelta(days=label_delay_days),
            }
        )
        self._labels = pa.Table.from_pandas(conform(labels, source.label_dtypes, f"{source.name} labels"), preserve_index=False)

    def _bounds(self, day: date) -> tuple[int, int]:
        key = np.datetime64(day, "D")
        first, stop = np.searchsorted(self._days, key, side="left"), np.searchsorted(self._days, key, side="right")
        return int(first), int(stop - first)

    def events(self, day: date) -> pa.Table:
        return self._events.slice(*self._bounds(day))

    def labels(self, event_day: date, landed_ids: pa.Array | None) -> pa.Table:
        """Outcomes of the events of `event_day`; only `landed_ids` unless None (all landed)."""
        labels = self._labels.slice(*self._bounds(event_day))
        return labels if landed_ids is None else labels.filter(pc.is_in(labels[self._id], value_set=landed_ids))


def _landed_ids(source: SourceSpec, root: Path, event_day: date, window_start: date) -> pa.Array | None:
    """Ids of events landed on a day before this window (read back from disk); None for a day inside it."""
    if event_day >= window_start:
        return None
    path = landing_path(root, source.name, event_day)
    if not path.exists():
        return pa.array([], pa.string() if source.column(source.id_column).kind == "str" else pa.int64())
    return pq.read_table(path, columns=[source.id_column])[source.id_column].combine_chunks()


def _write_if_changed(table: pa.Table, path: Path) -> None:
    """Write atomically (a watcher never reads half a file); skip if the file already holds these bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    if not (path.exists() and path.read_bytes() == data):
        atomic_write(path, data)


def land_together(
    replays: Sequence[tuple[SourceSpec, ReplayTables]],
    root: Path,
    *,
    days: int,
    label_delay_days: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, LandingSummary]:
    """Land every source up to the same day (the earliest last day among them), at most ``days`` days of each.

    Sources then share one "today", as in production: their next days arrive together.
    """
    today = min(tables.day_range(source)[1] for source, tables in replays)
    summaries = {}
    for source, tables in replays:
        first = max(tables.day_range(source)[0], today - timedelta(days=days - 1))
        summaries[source.name] = write_landing(source, tables, root, start=first, days=(today - first).days + 1,
                                               label_delay_days=label_delay_days, progress=progress)  # fmt: skip
    return summaries


CONTINUE = "continue"


def continue_replay(
    source: SourceSpec,
    root: Path,
    scenario: str = CONTINUE,
    *,
    history: ReplayTables,
    days: int = 7,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> LandingSummary:
    """Land the next ``days`` days of ``history`` after the source's last landed day: the scenario "continue".

    A ready `SampleData.simulate` for any source whose replay holds more days than have landed;
    ``seed`` is unused (nothing is drawn).
    """
    if scenario != CONTINUE:
        raise ValueError(f"unknown scenario {scenario!r} for {source.name}; choose {CONTINUE}")
    landed = landed_days(root, source.name)
    if not landed:
        raise ValueError(f"nothing of {source.name} landed under {root}: replay a history first (mlops replay)")
    last = history.day_range(source)[1]
    start = landed[-1] + timedelta(days=1)
    days = min(days, (last - start).days + 1)
    if days < 1:
        raise ValueError(f"the {source.name} replay ends on {last}: every day of it has landed")
    return write_landing(source, history, root, start=start, days=days, progress=progress)
