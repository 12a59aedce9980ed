"""The prediction log survives ``kill -9``: every answer a client received is in the log, once, and a stale state file goes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from mlops_assets.serving.prediction_log import WAL_FOLDER, PredictionLogWriter, read_prediction_log, recover
from mlops_assets.serving.server import process_start
from resources.serving import EndpointResource, server_state_file
from tests.conftest import default_signals

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 4
LOAD_S = 2.0  # of load before the kill: thousands of answers, several parquet flushes and a segment in flight

SERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mlops_assets.serving.app import ModelEndpoint, create_app
    from mlops_assets.serving.contract import FieldSpec
    from mlops_assets.serving.server import serve

    class Toy:
        model_name, version = "credit", "1"
        fields = (FieldSpec("x", "float"), FieldSpec("person", "str", personal=True))
        def score(self, rows):
            return [row["x"] / 10 for row in rows]

    app = create_app([ModelEndpoint("credit", lambda version: Toy(), Path(sys.argv[1]))], admin_token=None)
    serve(app, port=0, state_files={"credit": Path(sys.argv[2])})
    """
)


def start_server(log: Path, state: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(log), str(state)], env=env, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    deadline = time.monotonic() + 30
    while not state.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the server wrote no state file in 30 s"
        time.sleep(0.05)
    return proc, json.loads(state.read_text())["url"]


@pytest.mark.integration
def test_kill_9_under_load_loses_no_answered_prediction_and_the_stale_state_file_is_replaced(tmp_path: Path) -> None:
    log, state = tmp_path / "credit" / "prediction_log", server_state_file(tmp_path, "credit")
    proc, url = start_server(log, state)
    answered: list[list[str]] = [[] for _ in range(CLIENTS)]
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as http:
            i = 0
            while not stop.is_set():
                request_id = f"c{k}-{i}"
                try:
                    reply = http.post("/predict", json={"x": 1.0, "person": f"19800101_{k:04d}", "request_id": request_id})
                except httpx.TransportError:
                    return  # the server is gone: this request was never answered
                assert reply.status_code == 200, reply.text
                answered[k].append(reply.json()["request_id"])
                i += 1

    pool = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for t in pool:
        t.start()
    time.sleep(LOAD_S)
    os.kill(proc.pid, signal.SIGKILL)  # mid-load: requests in flight, records queued, a segment open
    proc.wait(10)
    stop.set()
    for t in pool:
        t.join(10)
    received = [request_id for ids in answered for request_id in ids]
    assert len(received) > 500, f"only {len(received)} answers in {LOAD_S} s: the load did not happen"

    segments = list((log / WAL_FOLDER).glob("*.wal"))
    assert segments, "a killed server leaves its write-ahead segment behind"
    before = parquet_rows(log)
    logged = read_prediction_log(log)  # the reader recovers the dead server's segments
    assert not list((log / WAL_FOLDER).glob("*.wal")), "recovered segments are deleted"
    missing = set(received) - set(logged["request_id"])
    assert not missing, f"{len(missing)} of {len(received)} answered predictions are not in the log, e.g. {sorted(missing)[:3]}"
    assert not logged["request_id"].duplicated().any(), "a recovered prediction is logged twice"
    people = {json.loads(inputs)["person"] for inputs in logged["inputs"]}
    assert all(p.startswith("blake2b:") for p in people) and len(people) == CLIENTS, people  # personal keys hashed, still distinct
    print(f"\n[kill -9] {len(received)} answered, {len(logged)} logged ({len(logged) - before} recovered from "
          f"{len(segments)} write-ahead segment(s)), 0 lost")  # fmt: skip

    assert state.exists(), "kill -9 leaves server.json behind"
    assert EndpointResource(serving_root=str(tmp_path)).running("credit") is None
    assert not state.exists(), "the stale state file is removed"
    proc, url = start_server(log, state)  # and the next server writes its own
    try:
        assert json.loads(state.read_text())["pid"] == proc.pid
        assert EndpointResource(serving_root=str(tmp_path)).running("credit")["url"] == url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def parquet_rows(log: Path) -> int:
    """Records already in parquet, without the recovery ``read_prediction_log`` does."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in log.glob("date=*/*.parquet"))


def test_a_state_file_whose_pid_now_names_another_process_is_stale(tmp_path: Path) -> None:
    """After a reboot or a long time, the pid in server.json can belong to any program: its start time tells."""
    state = server_state_file(tmp_path, "credit")
    state.parent.mkdir(parents=True)
    me = os.getpid()
    state.write_text(json.dumps({"pid": me, "pid_started": "1", "url": "http://127.0.0.1:9/models/credit"}))
    assert process_start(me) not in (None, "1")
    assert EndpointResource(serving_root=str(tmp_path)).running("credit") is None
    assert not state.exists()
    state.write_text(json.dumps({"pid": me, "pid_started": process_start(me), "url": "http://127.0.0.1:9/models/credit"}))
    assert EndpointResource(serving_root=str(tmp_path)).running("credit") is not None  # the same process: running


def record(request_id: str) -> dict:
    return {"request_id": request_id, "ts": datetime.now(UTC), "model_name": "m", "model_version": "1", "route": "/predict",
            "inputs": "{}", "score": 0.5, "latency_ms": 0.1}  # fmt: skip


def test_a_live_writers_segment_is_not_recovered_and_a_dead_ones_is_recovered_once(tmp_path: Path) -> None:
    writer = PredictionLogWriter(tmp_path, flush_every_s=60)
    writer.append([record("a"), record("b")])
    assert recover(tmp_path) == 0, "a live writer's segment is its own"
    assert read_prediction_log(tmp_path).empty and list((tmp_path / WAL_FOLDER).glob("*.wal"))
    writer.close()
    assert list(read_prediction_log(tmp_path)["request_id"]) == ["a", "b"]
    assert not list((tmp_path / WAL_FOLDER).glob("*.wal")), "a closed writer deletes its written segments"

    script = textwrap.dedent(
        f"""
        import os, time
        from datetime import UTC, datetime
        from pathlib import Path
        from mlops_assets.serving.prediction_log import PredictionLogWriter
        writer = PredictionLogWriter(Path({str(tmp_path)!r}), flush_every_s=60, max_batch=3)
        writer._release = lambda: None  # as if killed between writing a batch's parquet and deleting its segment
        rec = lambda i: {{"request_id": f"d{{i}}", "ts": datetime.now(UTC), "model_name": "m", "model_version": "1",
                          "route": "/predict", "inputs": "{{}}", "score": 0.5, "latency_ms": 0.1}}
        writer.append([rec(i) for i in range(3)])  # a full batch: written to parquet by the thread
        deadline = time.monotonic() + 10
        while len(list(Path({str(tmp_path)!r}).glob("date=*/*-{{}}-*.parquet".format(writer._name)))) < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        writer.append([rec(3), rec(4)])  # written ahead only
        os.kill(os.getpid(), 9)
        """
    )
    subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False, timeout=60)
    with open(next((tmp_path / WAL_FOLDER).glob("*.wal")), "ab") as segment:
        segment.write(b'{"request_id": "cut sh')  # a power cut mid-line: that line alone is dropped
    assert recover(tmp_path) == 2, "the batch the dead writer had written to parquet is not recovered again"
    assert sorted(read_prediction_log(tmp_path)["request_id"]) == ["a", "b", "d0", "d1", "d2", "d3", "d4"]
    assert recover(tmp_path) == 0


def test_each_fsync_policy_logs_every_record_and_only_off_skips_the_write_ahead(tmp_path: Path) -> None:
    """"off" is the benchmark's before: nothing written ahead, so a killed process would lose what waits for the flush."""
    for policy in ("interval", "always", "never", "off"):
        folder = tmp_path / policy
        writer = PredictionLogWriter(folder, flush_every_s=60, fsync=policy)
        writer.append([record(f"{policy}-a"), record(f"{policy}-b")])
        [segment] = (folder / WAL_FOLDER).glob("*.wal")
        assert (segment.stat().st_size == 0) == (policy == "off"), policy
        writer.close()
        assert list(read_prediction_log(folder)["request_id"]) == [f"{policy}-a", f"{policy}-b"], policy
    with pytest.raises(ValueError, match="fsync='sometimes'"):
        PredictionLogWriter(tmp_path / "bad", fsync="sometimes")  # type: ignore[arg-type]
