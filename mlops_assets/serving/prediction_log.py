"""The prediction log: every served score, kept even when the server is killed, written as parquet off the request path.

A prediction is appended to a write-ahead segment (one ``write`` system call of JSON lines)
before its reply is sent, so a client never holds an answer the log lacks: after ``kill -9``
the kernel still has every byte the process wrote. The records also wait in memory for one
background thread, which every ``flush_every_s`` (or once ``max_batch`` wait) writes them as
one parquet file (``atomic_write``: readers never see half a batch), then deletes the
segments it has fully written. A segment whose writer died is turned into parquet by the next
writer or reader of the folder (``recover``): it is the only copy of what the dead server
had answered but not yet written.

Durability (``fsync``): "interval" (the default) syncs each segment and parquet file to disk
once per flush, so a power cut loses at most ``flush_every_s`` of predictions and a killed
process none; "always" syncs on every prediction (each request then waits for the disk);
"never" leaves it to the operating system (a killed process still loses none). "off" writes
nothing ahead, as before the write-ahead log: a killed process loses what waited for the
next flush (up to ``flush_every_s``). It is there for the serving benchmark to measure what
writing ahead costs in the same run, and for logs one can afford to lose.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mlops_assets.files import atomic_write

logger = logging.getLogger(__name__)

Fsync = Literal["interval", "always", "never", "off"]
FSYNC_POLICIES: tuple[str, ...] = ("interval", "always", "never", "off")
WAL_FOLDER = "wal"

SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("route", pa.string()),
        ("inputs", pa.string()),  # JSON of the validated row, personal fields hashed (``serving.personal``)
        ("score", pa.float64()),
        ("latency_ms", pa.float64()),
        ("shadow_version", pa.string()),
        ("shadow_score", pa.float64()),
    ]
)


@dataclass(eq=False)
class _Segment:
    """One write-ahead file; deleted once every record in it is in a parquet file and a newer segment took over."""

    path: Path
    fd: int
    outstanding: int = 0  # records written ahead here and not yet in parquet
    closed: bool = False  # no longer appended to
    records: int = 0  # ever written here


class PredictionLogWriter:
    """Write ahead on the caller's thread, batch to ``date=YYYY-MM-DD/*.parquet`` on a daemon thread."""

    def __init__(self, folder: Path, *, flush_every_s: float = 1.0, max_batch: int = 10_000, fsync: Fsync = "interval") -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync={fsync!r}: must be one of {', '.join(FSYNC_POLICIES)}")
        self.folder = Path(folder)
        self._flush_every_s = flush_every_s
        self._max_batch = max_batch
        self._fsync = fsync
        self._name = f"{os.getpid()}x{secrets.token_hex(3)}"  # names this writer's segments and files, for recovery
        self._pending: deque[tuple[dict[str, Any], _Segment]] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()  # the active segment: swapped by the thread, appended to by requests
        self._closed = False
        self._seq = itertools.count()
        self._segments: list[_Segment] = []
        recover(self.folder)
        self._active = self._open_segment()
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    def append(self, records: list[dict[str, Any]]) -> None:
        """Write ``records`` ahead and queue them for parquet: once this returns, they survive a killed process."""
        self.queue(records, self.write_ahead(records))

    def write_ahead(self, records: list[dict[str, Any]]) -> _Segment:
        """The durable half of ``append``, for records completed later (a shadow's score): pass the result to ``queue``."""
        data = b"".join(orjson.dumps(record) + b"\n" for record in records) if self._fsync != "off" else b""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"prediction log {self.folder} is closed")
            segment = self._active
            if data:
                _write_all(segment.fd, data)
            if self._fsync == "always":
                os.fdatasync(segment.fd)
            segment.outstanding += len(records)
            segment.records += len(records)
        return segment

    def queue(self, records: list[dict[str, Any]], segment: _Segment) -> None:
        """Hand records already written ahead to the parquet thread (O(1), no I/O)."""
        self._pending.extend((record, segment) for record in records)
        if len(self._pending) >= self._max_batch and not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        """Write everything still queued, delete the written segments and stop the thread; later appends raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_every_s)
            self._wake.clear()
            closing = self._closed  # read before draining, so records queued before close() are written
            self._rotate(final=closing)
            self._drain(len(self._pending))
            self._release()
            if closing:
                return

    def _open_segment(self) -> _Segment:
        path = self.folder / WAL_FOLDER / f"{self._name}-{next(self._seq):06d}.wal"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while this process lives: a reader recovers only a dead writer's segments
        segment = _Segment(path, fd)
        self._segments.append(segment)
        return segment

    def _rotate(self, *, final: bool) -> None:
        """Start a new segment (unless closing), so the current one can be deleted once its records are written."""
        with self._lock:
            current = self._active
            if current.records == 0 and not final:
                return
            current.closed = True
            if not final:
                self._active = self._open_segment()
        if self._fsync == "interval" and current.records:
            os.fdatasync(current.fd)

    def _drain(self, count: int) -> None:
        """Write the ``count`` records queued at wake-up; later ones wait for the next wake-up.

        Draining until the queue is empty instead chased a queue that requests kept filling:
        under load it wrote a file every few records (48,599 files for 100,000 requests) and
        its GIL churn raised the in-process median request time from 223 to 388 us.
        """
        while count > 0:
            size = min(self._max_batch, count)
            count -= size
            batch = [self._pending.popleft() for _ in range(size)]
            try:
                self._write([record for record, _ in batch])
            except Exception:  # the thread must outlive a bad batch, or every later record is lost
                logger.exception(
                    "could not write %d prediction records to %s; their write-ahead segments stay for the next start to recover",
                    len(batch), self.folder,
                )  # fmt: skip
                continue
            with self._lock:
                for _, segment in batch:
                    segment.outstanding -= 1

    def _release(self) -> None:
        """Delete the closed segments whose every record is in parquet."""
        with self._lock:
            done = [s for s in self._segments if s.closed and s.outstanding == 0]
            self._segments = [s for s in self._segments if s not in done]
        for segment in done:
            segment.path.unlink(missing_ok=True)
            os.close(segment.fd)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        for day, records in _by_day(batch).items():
            name = f"{int(time.time() * 1000)}-{self._name}-{next(self._seq):06d}.parquet"
            _write_parquet(self.folder / f"date={day.isoformat()}" / name, records, durable=self._fsync != "never")


def recover(folder: Path) -> int:
    """Turn the write-ahead segments of writers that are gone into parquet; how many records that recovered.

    A segment still locked belongs to a live writer and is left alone. Records of a dead
    writer's segment that its thread had already written (it died between the parquet file
    and deleting the segment) are skipped, so recovering never duplicates a prediction; a
    last line cut short by a power cut is dropped with a warning.
    """
    recovered = 0
    for path in sorted((Path(folder) / WAL_FOLDER).glob("*.wal")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # its writer deleted it since the glob
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer's
            if os.fstat(fd).st_nlink == 0:
                continue  # deleted between our open and lock: its records are in parquet
            recovered += _recover_segment(Path(folder), path)
            path.unlink()
        finally:
            os.close(fd)
    return recovered


def _recover_segment(folder: Path, path: Path) -> int:
    records = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            record = orjson.loads(line)
            record["ts"] = datetime.fromisoformat(record["ts"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            logger.warning("prediction log segment %s: line %d is cut short or unreadable; it is dropped", path, number)
            continue
        records.append(record)
    writer = path.stem.rsplit("-", 1)[0]
    written = _written_keys(folder, writer)
    records = [r for r in records if (r["request_id"], r["ts"]) not in written]
    for day, day_records in _by_day(records).items():
        _write_parquet(folder / f"date={day.isoformat()}" / f"{path.stem}-recovered.parquet", day_records, durable=True)
    if records:
        logger.warning("recovered %d predictions from %s, written ahead by a server that stopped without flushing", len(records), path)
    return len(records)


def _written_keys(folder: Path, writer: str) -> set[tuple[str, datetime]]:
    """(request_id, ts) of every record the writer named ``writer`` had written to parquet."""
    files = [str(p) for p in folder.glob(f"date=*/*-{writer}-*.parquet")]
    if not files:
        return set()
    table = ds.dataset(files, schema=SCHEMA, format="parquet").to_table(columns=["request_id", "ts"])
    return set(zip(table["request_id"].to_pylist(), table["ts"].to_pylist()))


def read_prediction_log(folder: Path) -> pd.DataFrame:
    """Every logged record, oldest first (recovering a dead server's write-ahead segments first); empty with the log's columns when none."""
    recover(folder)
    files = sorted(str(p) for p in Path(folder).glob("date=*/*.parquet"))
    if not files:
        return SCHEMA.empty_table().to_pandas()
    frame = ds.dataset(files, schema=SCHEMA, format="parquet").to_table().to_pandas()
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def _write_parquet(path: Path, records: list[dict[str, Any]], *, durable: bool) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), sink)
    atomic_write(path, sink.getvalue().to_pybytes(), durable=durable)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _by_day(records: list[dict[str, Any]]) -> dict[date, list[dict[str, Any]]]:
    by_day: dict[date, list[dict[str, Any]]] = {}
    for record in records:
        by_day.setdefault(_utc_day(record["ts"]), []).append(record)
    return by_day


def _utc_day(ts: datetime) -> date:
    return (ts.astimezone(UTC) if ts.tzinfo else ts).date()
