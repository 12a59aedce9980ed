"""ReadSnapshot: shared read transactions that never keep a writer out for long."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mlops_assets.features.sqlite_snapshot import ReadSnapshot

AGE_S = 0.05
QUERY = "SELECT value FROM features WHERE key = ?"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "online.db"
    with sqlite3.connect(path) as conn:  # rollback-journal mode, as Feast leaves its online store
        conn.execute("CREATE TABLE features (key TEXT PRIMARY KEY, value REAL)")
        conn.execute("INSERT INTO features VALUES ('a', 1.0)")
    return path


def reader(path: Path) -> ReadSnapshot:
    return ReadSnapshot(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False), max_age_s=AGE_S)


def write(path: Path, value: float, *, timeout_s: float) -> None:
    conn = sqlite3.connect(path, timeout=timeout_s)
    try:
        with conn:
            conn.execute("UPDATE features SET value = ? WHERE key = 'a'", (value,))
    finally:
        conn.close()


def wait_closed(snapshot: ReadSnapshot, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while snapshot.open and time.monotonic() < deadline:
        time.sleep(0.005)
    return not snapshot.open


def test_an_open_snapshot_holds_the_file_so_no_commit_lands_under_it(db: Path) -> None:
    snapshot = reader(db)
    assert snapshot.fetchall(QUERY, ["a"]) == [(1.0,)]
    assert snapshot.open
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        write(db, 2.0, timeout_s=0)
    assert snapshot.fetchall(QUERY, ["a"]) == [(1.0,)]


def test_an_idle_snapshot_ends_by_itself_and_a_writer_gets_in(db: Path) -> None:
    snapshot = reader(db)
    snapshot.fetchall(QUERY, ["a"])
    assert wait_closed(snapshot, within_s=AGE_S * 20), "nobody ended the idle read transaction"
    write(db, 3.0, timeout_s=0)  # no busy wait at all: the file is free
    assert snapshot.fetchall(QUERY, ["a"]) == [(3.0,)]


def test_under_continuous_reads_a_writer_commits_and_later_reads_see_it(db: Path) -> None:
    snapshot = reader(db)
    stop = threading.Event()
    seen: list[float] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(snapshot.fetchall(QUERY, ["a"])[0][0])

    thread = threading.Thread(target=read)
    thread.start()
    try:
        time.sleep(AGE_S * 3)
        began = time.monotonic()
        write(db, 4.0, timeout_s=5)  # waits for the snapshot in use to end, then SQLite lets it commit
        waited = time.monotonic() - began
        time.sleep(AGE_S * 3)
    finally:
        stop.set()
        thread.join()
    assert waited < 2, f"the writer waited {waited:.2f}s for the readers"
    assert seen[-1] == 4.0 and seen[0] == 1.0
    assert seen == sorted(seen), "a read went back in time"


def test_a_failed_query_ends_its_snapshot(db: Path) -> None:
    snapshot = reader(db)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        snapshot.fetchall("SELECT * FROM missing", [])
    assert not snapshot.open
    write(db, 5.0, timeout_s=0)
    assert snapshot.fetchall(QUERY, ["a"]) == [(5.0,)]


def test_the_closer_thread_leaves_with_its_snapshot(db: Path) -> None:
    before = set(threading.enumerate())
    snapshot = reader(db)
    snapshot.fetchall(QUERY, ["a"])
    [closer] = [t for t in set(threading.enumerate()) - before if t.name == "sqlite-snapshot-closer"]
    del snapshot
    gc.collect()
    closer.join(timeout=2)
    assert not closer.is_alive(), "a closer thread outlived its snapshot"


def test_a_snapshot_dropped_in_the_middle_of_its_transaction_frees_the_file(db: Path) -> None:
    """A model swapped under load drops its reader right after a read: its transaction must not outlive it,
    even while something else still holds the connection."""
    connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    snapshot = ReadSnapshot(connection, max_age_s=60)  # its closer would wait a minute
    snapshot.fetchall(QUERY, ["a"])
    del snapshot
    gc.collect()
    write(db, 6.0, timeout_s=0)  # the file is free at once
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute(QUERY, ["a"])
