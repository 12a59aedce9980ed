"""Serving one LightGBM row, one run: our app vs `mlflow models serve` vs a bare ASGI floor, same model, same loopback.

Every server is its own process (as in production), every client thread has its own
keep-alive ``httpx.Client``. Ours is measured without a feature store (the request carries
every feature), so the comparison with MLflow's server, which also takes the features in
the request, is like for like; the Feast lookup is measured elsewhere.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from tests.model.test_pyfunc_parity import FEATURES, synthetic, tracking  # noqa: F401 (tracking is a fixture)

ROOT = Path(__file__).resolve().parents[2]
WARMUP, REQUESTS, THREADS = 200, 2000, (1, 4)
ADMIN_TOKEN = "bench-admin-token"
READY_TIMEOUT_S = 120

OURS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np
    from mlflow import MlflowClient

    from mlops_assets.serving.app import create_app
    from mlops_assets.serving.contract import FieldSpec
    from mlops_assets.serving.server import serve
    from mlops_assets.training.model_io import load_trained

    features, folder, token = json.loads(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    class DirectFeaturesScorer:
        \"\"\"No feature store: the request carries every feature, and the row goes to the native booster.\"\"\"

        model_name, fields = "bench", tuple(FieldSpec(name, "float") for name in features)

        def __init__(self, version):
            self.version = version
            self._booster = load_trained(f"models:/bench/{version}", flavor="lightgbm", features=features).model

        def score(self, rows):
            return self._booster.predict(np.array([[row[f] for f in features] for row in rows], dtype="float64")).tolist()

    def load(version):
        return DirectFeaturesScorer(str(version or MlflowClient().get_model_version_by_alias("bench", "champion").version))

    app = create_app(load, admin_token=token, log_folder=folder / "prediction_log", sticky_keys=())
    serve(app, port=0, state_file=folder / "state.json")
    """
)

FLOOR = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import orjson

    from mlops_assets.serving.server import serve

    ANSWER = orjson.dumps({"score": 0.5})
    HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]

    async def app(scope, receive, send):
        \"\"\"Read and parse the body, answer a constant: what any JSON endpoint costs under these uvicorn settings.\"\"\"
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if body:
            orjson.loads(body)
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": ANSWER})

    serve(app, port=0, state_file=Path(sys.argv[1]) / "state.json")
    """
)


@dataclass(frozen=True)
class Result:
    name: str
    threads: int
    median_ms: float
    p99_ms: float
    rps: float


@contextmanager
def process(command: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group, stopped by SIGTERM to the group (MLflow's server forks workers)."""
    # mlflow starts `uvicorn` by name: the venv's bin must be on PATH even when it is not activated
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:  # the whole group has exited already
                return
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def wait_ready(
    proc: subprocess.Popen[bytes], started: float, url: str | None, path: str, state: Path | None, log: Path
) -> tuple[str, float]:
    """The server's URL and seconds from process start to the first 200 on ``path``."""
    deadline = started + READY_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"server exited with {proc.returncode}: {log.read_text()[-2000:]}"
            if url is None and state is not None and state.exists():
                url = json.loads(state.read_text())["url"]
            if url is not None:
                try:
                    if client.get(url + path).status_code == 200:
                        return url, time.monotonic() - started
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
    raise TimeoutError(f"not ready within {READY_TIMEOUT_S}s: {log.read_text()[-2000:]}")


def measure(name: str, url: str, path: str, body: bytes, threads: int) -> Result:
    """``REQUESTS`` single-row posts over ``threads`` keep-alive clients, after ``WARMUP`` unmeasured ones."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    statuses: list[list[int]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    headers = {"content-type": "application/json"}

    def worker(k: int) -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            for _ in range(WARMUP // threads):
                statuses[k].append(client.post(path, content=body, headers=headers).status_code)
            start.wait()
            for _ in range(REQUESTS // threads):
                began = time.perf_counter()
                response = client.post(path, content=body, headers=headers)
                latencies[k].append(time.perf_counter() - began)
                statuses[k].append(response.status_code)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - began
    flat = sorted(x for xs in latencies for x in xs)
    assert len(flat) == REQUESTS // threads * threads, f"{name}: a client thread failed"
    assert {s for ss in statuses for s in ss} == {200}, f"{name}: not every response was 200"
    return Result(name, threads, statistics.median(flat) * 1e3, flat[int(len(flat) * 0.99)] * 1e3, len(flat) / wall)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.bench
def test_serving_speed_against_mlflow_and_the_floor(tracking: None, tmp_path: Path) -> None:
    import mlflow

    from mlops_assets.training.model_io import log_trained
    from mlops_assets.training.trainers import train_lightgbm

    train = synthetic(4000, seed=11)
    model = train_lightgbm(train, features=FEATURES, label="default", categorical=("grade",), seed=7)
    for _ in range(2):  # v1 serves, v2 is the shadow
        with mlflow.start_run():
            log_trained(model, name="model", example=train, registered_model="bench")
    mlflow.MlflowClient().set_registered_model_alias("bench", "champion", "1")
    row = synthetic(100, seed=12)[FEATURES].dropna().iloc[0].to_dict()
    ours_body = orjson.dumps(row)
    mlflow_body = orjson.dumps({"dataframe_split": {"columns": FEATURES, "data": [[row[f] for f in FEATURES]]}})

    results: list[Result] = []
    startup: dict[str, float] = {}
    python = sys.executable

    folder = tmp_path / "floor"
    folder.mkdir()
    began = time.monotonic()
    with process([python, "-c", FLOOR, str(folder)], tmp_path / "floor.log") as proc:
        url, startup["floor"] = wait_ready(proc, began, None, "/", folder / "state.json", tmp_path / "floor.log")
        results += [measure("bare ASGI + orjson (floor)", url, "/predict", ours_body, n) for n in THREADS]

    folder = tmp_path / "ours"
    folder.mkdir()
    began = time.monotonic()
    with process([python, "-c", OURS, json.dumps(FEATURES), str(folder), ADMIN_TOKEN], tmp_path / "ours.log") as proc:
        url, startup["ours"] = wait_ready(proc, began, None, "/ready", folder / "state.json", tmp_path / "ours.log")
        results += [measure("ours, no feature store", url, "/predict", ours_body, n) for n in THREADS]
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        shadow = httpx.post(f"{url}/admin/shadow", json={"version": "2"}, headers=auth, trust_env=False)
        assert shadow.status_code == 200, shadow.text
        results += [measure("ours + shadow v2", url, "/predict", ours_body, n) for n in THREADS]

    port = free_port()
    command = [
        str(Path(python).with_name("mlflow")), "models", "serve", "-m", "models:/bench@champion",
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    began = time.monotonic()
    with process(command, tmp_path / "mlflow.log") as proc:
        url, startup["mlflow"] = wait_ready(proc, began, f"http://127.0.0.1:{port}", "/ping", None, tmp_path / "mlflow.log")
        results += [measure("mlflow models serve", url, "/invocations", mlflow_body, n) for n in THREADS]

    report(results, startup)


def report(results: list[Result], startup: dict[str, float]) -> None:
    by = {(r.name, r.threads): r for r in results}
    print(f"\n[serving bench] one row, loopback keep-alive, {REQUESTS} requests after {WARMUP} warm-up, {os.cpu_count()} CPUs")
    print(f"{'server':<28} {'threads':>7} {'median ms':>10} {'p99 ms':>8} {'req/s':>8}")
    for r in results:
        print(f"{r.name:<28} {r.threads:>7} {r.median_ms:>10.3f} {r.p99_ms:>8.3f} {r.rps:>8.0f}")
    for n in THREADS:
        ours, theirs, floor = by["ours, no feature store", n], by["mlflow models serve", n], by["bare ASGI + orjson (floor)", n]
        shadowed = by["ours + shadow v2", n]
        print(
            f"{n} thread(s): mlflow/ours median {theirs.median_ms / ours.median_ms:.1f}x, ours/mlflow req/s {ours.rps / theirs.rps:.1f}x; "
            f"ours/floor median {ours.median_ms / floor.median_ms:.2f}x, req/s {ours.rps / floor.rps:.2f}x; "
            f"shadow adds {shadowed.median_ms - ours.median_ms:+.3f} ms median"
        )
    print("process start to ready: " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
