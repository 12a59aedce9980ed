"""Reading one day's landing files, each on its own: a file that cannot be read, or breaks the contract's schema, is quarantined as a file.

A zero-byte file, CSV or HTML named ``.parquet``, a truncated file or one with duplicate
column names used to fail the whole run, losing the good files of the same day and the
other days of the batch; a file with a missing column or timestamps without a time zone
made the whole day a schema break. Now each such file is copied to
``<lake>/quarantine/files/<table>/date=<day>/`` beside a ``manifest.json`` that records its
landing path, the reason, its size and SHA-256; the good files of the day are ingested.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from mlops_assets.files import atomic_write
from mlops_assets.specs.contract import Column
from mlops_assets.validated.types import schema_breaks

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RejectedFile:
    """A landing file that could not be ingested, and why."""

    path: str
    day: str
    reason: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class LandingDay:
    """The usable files of one day as one frame (None when no file was usable), the rejected ones, and notes on the stacking."""

    frame: pd.DataFrame | None
    rejected: tuple[RejectedFile, ...]
    notes: tuple[str, ...] = ()


def read_landing_day(files: list[Path], day: str, columns: tuple[Column, ...] = ()) -> LandingDay:
    """Every file of ``day``, each read and checked against ``columns`` on its own: one bad file costs only itself."""
    frames, rejected = [], []
    for path in files:
        try:
            names = pq.read_schema(path).names
            if dupes := sorted({n for n in names if names.count(n) > 1}):
                rejected.append(_rejected(path, day, f"duplicate column names {dupes}: a row cannot say which value is meant"))
                continue
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a file that is not parquet
            rejected.append(_rejected(path, day, f"not a readable parquet file: {type(exc).__name__}: {str(exc)[:300]}"))
            continue
        if problems := schema_breaks(frame, columns):
            rejected.append(_rejected(path, day, f"breaks the contract's schema: {'; '.join(problems)}"))
            continue
        frames.append(frame)
    frame, notes = _stack(frames, columns)
    return LandingDay(frame, tuple(rejected), notes)


def _stack(frames: list[pd.DataFrame], columns: tuple[Column, ...]) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    """The day's files as one frame. Timestamps that landed in different time zones across files are put in UTC
    (stacked as they are, pandas would make them objects, which validation must call a schema break)."""
    if len(frames) < 2:
        return (frames[0].reset_index(drop=True) if frames else None), ()
    notes = []
    for column in (c for c in columns if c.kind == "timestamp"):
        zones = {str(f[column.name].dtype) for f in frames if column.name in f.columns}
        if len(zones) > 1:
            frames = [f.assign(**{column.name: f[column.name].dt.tz_convert("UTC")}) for f in frames]
            notes.append(f"{column.name} landed in {len(zones)} time zones across the day's files ({', '.join(sorted(zones))}); converted to UTC")
    return pd.concat(frames, ignore_index=True), tuple(notes)


def quarantine_files(quarantine_root: Path, table: str, day: str, rejected: tuple[RejectedFile, ...]) -> Path | None:
    """Copy each rejected file under ``<quarantine_root>/<table>/date=<day>/`` and write the day's manifest."""
    if not rejected:
        return None
    folder = quarantine_root / table / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    for file in rejected:
        shutil.copyfile(file.path, folder / Path(file.path).name)
    records = [{**asdict(file), "quarantined_at": datetime.now(UTC).isoformat()} for file in rejected]
    return atomic_write(folder / MANIFEST, json.dumps(records, indent=2).encode())


def _rejected(path: Path, day: str, reason: str) -> RejectedFile:
    data = path.read_bytes()
    return RejectedFile(path=str(path), day=day, reason=reason, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
