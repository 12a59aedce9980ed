"""The prediction log: every served score, written as parquet in batches off the request path.

Requests only append to an in-memory queue; one background thread turns the queue into a
parquet file every ``flush_every_s`` (or sooner when ``max_batch`` records wait), so no
request ever opens a file. Files appear atomically (``atomic_write``), and readers
never see a half-written batch.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections import deque
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from mlops_assets.files import atomic_write

logger = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("route", pa.string()),
        ("inputs", pa.string()),  # JSON of the validated row
        ("score", pa.float64()),
        ("latency_ms", pa.float64()),
        ("shadow_version", pa.string()),
        ("shadow_score", pa.float64()),
    ]
)


class PredictionLogWriter:
    """Queue records from any thread; a daemon thread writes them as ``date=YYYY-MM-DD/*.parquet``."""

    def __init__(self, folder: Path, *, flush_every_s: float = 1.0, max_batch: int = 10_000) -> None:
        self.folder = Path(folder)
        self._flush_every_s = flush_every_s
        self._max_batch = max_batch
        self._pending: deque[dict[str, Any]] = deque()
        self._wake = threading.Event()
        self._closed = False
        self._seq = itertools.count()
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    def append(self, record: dict[str, Any]) -> None:
        """Queue one record (O(1), never blocks on I/O)."""
        if self._closed:
            raise RuntimeError(f"prediction log {self.folder} is closed")
        self._pending.append(record)
        if len(self._pending) >= self._max_batch and not self._wake.is_set():
            self._wake.set()

    def close(self) -> None:
        """Write everything still queued and stop the thread; later appends raise."""
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
            self._drain(len(self._pending))
            if closing:
                return

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
                self._write(batch)
            except Exception:  # the thread must outlive a bad batch, or every later record is lost
                logger.exception("could not write %d prediction records to %s; they are dropped", len(batch), self.folder)

    def _write(self, batch: list[dict[str, Any]]) -> None:
        by_day: dict[date, list[dict[str, Any]]] = {}
        for record in batch:
            by_day.setdefault(_utc_day(record["ts"]), []).append(record)
        for day, records in by_day.items():
            name = f"{int(time.time() * 1000)}-{os.getpid()}-{next(self._seq):06d}.parquet"
            sink = pa.BufferOutputStream()
            pq.write_table(pa.Table.from_pylist(records, schema=SCHEMA), sink)
            atomic_write(self.folder / f"date={day.isoformat()}" / name, sink.getvalue().to_pybytes())


def read_prediction_log(folder: Path) -> pd.DataFrame:
    """Every written record, oldest first; an empty frame with the log's columns when there are none."""
    files = sorted(str(p) for p in Path(folder).glob("date=*/*.parquet"))
    if not files:
        return SCHEMA.empty_table().to_pandas()
    frame = ds.dataset(files, schema=SCHEMA, format="parquet").to_table().to_pandas()
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)


def _utc_day(ts: datetime) -> date:
    return (ts.astimezone(UTC) if ts.tzinfo else ts).date()
