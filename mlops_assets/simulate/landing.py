"""The landing zone writer: replays source tables as daily files, the way a bank's exports would arrive.

Layout under the landing root (the same `date=` folders `resources.lake` reads):

    applications/date=YYYY-MM-DD/applications.parquet   applications of that UTC day, no label
    labels/date=YYYY-MM-DD/labels.parquet               outcomes that arrived that day
    reference/zipcodes.parquet, reference/credit_history.parquet

The writer passes application columns through untouched (minus the label): a scenario that
breaks the schema must reach validation, which is where the contract is enforced.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mlops_assets.schema import APPLICATION_KEY, EVENT_TIME, LABEL, LABEL_COLUMNS
from mlops_assets.simulate.sources import SourceTables, conform

APPLICATIONS = "applications"
LABELS = "labels"
REFERENCE = "reference"
LABELLED_AT = "labelled_at"
PROGRESS_EVERY_DAYS = 10


@dataclass(frozen=True)
class LandingSummary:
    """What one call landed: the window and the files and rows in it (written or already there)."""

    first_day: date
    last_day: date
    application_files: int
    applications: int
    label_files: int
    labels: int
    root: Path


def landing_path(root: Path, kind: str, day: date) -> Path:
    return Path(root) / kind / f"date={day.isoformat()}" / f"{kind}.parquet"


def landed_days(root: Path, kind: str = APPLICATIONS) -> list[date]:
    """Days that have at least one landing file of this kind, sorted."""
    if kind not in (APPLICATIONS, LABELS):
        raise ValueError(f"landed_days: kind must be {APPLICATIONS!r} or {LABELS!r}, got {kind!r}")
    folder = Path(root) / kind
    if not folder.is_dir():
        return []
    return sorted(
        date.fromisoformat(p.name.removeprefix("date=")) for p in folder.glob("date=*") if any(p.glob("*.parquet"))
    )


def write_landing(
    tables: SourceTables,
    root: Path,
    *,
    start: date | None = None,
    days: int = 60,
    label_delay_days: int = 7,
    progress: Callable[[str], None] | None = None,
) -> LandingSummary:
    """Land `days` days of applications from `start` (default: the last `days` of the source).

    Labels arrive `label_delay_days` after their application; a label file holds only outcomes
    of applications already in the landing zone, so consecutive windows continue one story.
    Unchanged files are left alone, so re-running a window is a no-op.
    """
    if days < 1 or label_delay_days < 0:
        raise ValueError(f"write_landing needs days >= 1 and label_delay_days >= 0, got {days} and {label_delay_days}")
    for column in (APPLICATION_KEY, EVENT_TIME, LABEL):
        if column not in tables.loans.columns:
            raise ValueError(f"write_landing: the loans table lacks {column!r}, which routes rows to days and labels")
    source_first, source_last = tables.day_range()
    start = source_last - timedelta(days=days - 1) if start is None else start
    end = start + timedelta(days=days - 1)
    if start < source_first or end > source_last:
        raise ValueError(
            f"landing window {start}..{end} ({days} days) is outside the source data, which covers "
            f"{source_first}..{source_last}; choose start and days inside that range"
        )
    root = Path(root)
    for name, frame in (("zipcodes", tables.zipcodes), ("credit_history", tables.credit_history)):
        _write_if_changed(pa.Table.from_pandas(frame, preserve_index=False), root / REFERENCE / f"{name}.parquet")

    by_day = _DailyRows(tables.loans, label_delay_days)
    files, rows = dict.fromkeys((APPLICATIONS, LABELS), 0), dict.fromkeys((APPLICATIONS, LABELS), 0)
    for i in range(days):
        day = start + timedelta(days=i)
        application_day = day - timedelta(days=label_delay_days)
        labels = by_day.labels(application_day, _landed_ids(root, application_day, start))
        for kind, table in ((APPLICATIONS, by_day.applications(day)), (LABELS, labels)):
            if table.num_rows:
                _write_if_changed(table, landing_path(root, kind, day))
                files[kind] += 1
                rows[kind] += table.num_rows
        if progress is not None and ((i + 1) % PROGRESS_EVERY_DAYS == 0 or i + 1 == days):
            progress(f"landed {day} ({i + 1}/{days} days): {rows[APPLICATIONS]} applications, {rows[LABELS]} labels")
    return LandingSummary(
        first_day=start,
        last_day=end,
        application_files=files[APPLICATIONS],
        applications=rows[APPLICATIONS],
        label_files=files[LABELS],
        labels=rows[LABELS],
        root=root,
    )


class _DailyRows:
    """The source sorted by time once, so each day's applications and labels are a zero-copy slice."""

    def __init__(self, loans: pd.DataFrame, label_delay_days: int) -> None:
        times = pd.to_datetime(loans[EVENT_TIME], utc=True)
        order = np.argsort(times.to_numpy(), kind="stable")
        loans, times = loans.iloc[order], times.iloc[order]
        self._days = times.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
        self._applications = pa.Table.from_pandas(loans.drop(columns=[LABEL]), preserve_index=False)
        labels = pd.DataFrame(
            {
                APPLICATION_KEY: loans[APPLICATION_KEY],
                LABEL: loans[LABEL],
                LABELLED_AT: times + pd.Timedelta(days=label_delay_days),
            }
        )
        self._labels = pa.Table.from_pandas(conform(labels, LABEL_COLUMNS, "labels"), preserve_index=False)

    def _bounds(self, day: date) -> tuple[int, int]:
        key = np.datetime64(day, "D")
        first, stop = np.searchsorted(self._days, key, side="left"), np.searchsorted(self._days, key, side="right")
        return int(first), int(stop - first)

    def applications(self, day: date) -> pa.Table:
        return self._applications.slice(*self._bounds(day))

    def labels(self, application_day: date, landed_ids: pa.Array | None) -> pa.Table:
        """Outcomes of the applications of `application_day`; only `landed_ids` unless None (all landed)."""
        labels = self._labels.slice(*self._bounds(application_day))
        return labels if landed_ids is None else labels.filter(pc.is_in(labels[APPLICATION_KEY], value_set=landed_ids))


def _landed_ids(root: Path, application_day: date, window_start: date) -> pa.Array | None:
    """Loan ids landed on a day before this window (read back from disk); None for a day inside it."""
    if application_day >= window_start:
        return None
    path = landing_path(root, APPLICATIONS, application_day)
    if not path.exists():
        return pa.array([], pa.int64())
    return pq.read_table(path, columns=[APPLICATION_KEY])[APPLICATION_KEY].combine_chunks()


def _write_if_changed(table: pa.Table, path: Path) -> None:
    """Write atomically (temp name, then rename) so a watcher never reads half a file; skip if identical."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
