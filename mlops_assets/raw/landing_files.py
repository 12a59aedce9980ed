"""Reading one day's landing files, each on its own: a file that cannot be read is quarantined as a file.

A zero-byte file, CSV or HTML named ``.parquet``, a truncated file or one with duplicate
column names used to fail the whole run, losing the good files of the same day and the
other days of the batch. Now each bad file is copied to
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
    """The readable files of one day as one frame (None when no file was readable), and the rejected ones."""

    frame: pd.DataFrame | None
    rejected: tuple[RejectedFile, ...]


def read_landing_day(files: list[Path], day: str) -> LandingDay:
    """Every file of ``day``, each read on its own: one bad file costs only itself."""
    frames, rejected = [], []
    for path in files:
        try:
            names = pq.read_schema(path).names
            if dupes := sorted({n for n in names if names.count(n) > 1}):
                rejected.append(_rejected(path, day, f"duplicate column names {dupes}: a row cannot say which value is meant"))
                continue
            frames.append(pd.read_parquet(path))
        except Exception as exc:  # pyarrow raises several types for a file that is not parquet
            rejected.append(_rejected(path, day, f"not a readable parquet file: {type(exc).__name__}: {str(exc)[:300]}"))
    frame = pd.concat(frames, ignore_index=True) if frames else None
    return LandingDay(frame, tuple(rejected))


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
