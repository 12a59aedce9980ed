"""Serving one request, one run: `mlops serve` (every model from one process) vs `mlflow models serve` vs a bare ASGI floor.

Both shipped models, credit (a loan application per request) and access (an access request:
integer codes, five entity histories in the store), with the session pipeline's champions
(trained on 60 real days of each domain) behind every server; every server is its own
process, as in production; every client thread has its own keep-alive connection
(``http_client.KeepAliveClient``) and cycles through 500 real requests of the model it
measures. Rows, for each model:

- floor: a bare ASGI + orjson app that parses the body and answers a constant;
- ours, features in request: our app and ``NativeModel`` fed the model's features in the
  request, as MLflow's server is (one process for both models): the like-for-like comparison;
- ours (`mlops serve`): the real CLI serving both models from one process, each under
  `/models/<name>/predict`: validation, direct Feast online read (SQLite), the on-demand
  view, the booster, the asynchronous prediction log;
- the same with a shadow version scoring every request;
- mlflow models serve: the champion's pyfunc, the features as ``dataframe_split``;
- credit only, `mlops serve --model credit`: the same server answering for credit alone,
  so the run shows what serving a second model from the process costs the first;
- ours, write-ahead off: `mlops serve --log-fsync off`, the prediction log as it was before
  the write-ahead log (issue 16's target: the median with it within 10 % of this).

Every server runs for the whole benchmark and is measured in ``ROUNDS`` interleaved rounds
(each server and model in turn, then again): this 2-core virtual machine's speed drifts by
20-40% over minutes, and measuring one server after the other put that drift into the
ratios. Each figure pools its rounds' requests.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import orjson
import pytest

from tests.benchmarks.http_client import KeepAliveClient
from tests.conftest import TOKEN, Pipeline, free_port
from tests.integration.online_parity import ACCESS_FIELDS, CREDIT_FIELDS, request_rows

ROOT = Path(__file__).resolve().parents[2]
WARMUP, REQUESTS, ROUNDS, THREADS, ROWS = 300, 5000, 5, (1, 4), 500  # WARMUP and REQUESTS per row and thread count, spread over the rounds
MLFLOW_REQUESTS = 1000  # MLflow answers 20-30x slower: 5,000 of its requests took 1.5 min per model when the machine was busy
READY_TIMEOUT_S = 120
CREDIT, ACCESS = "credit", "access"
FIELDS = {CREDIT: CREDIT_FIELDS, ACCESS: ACCESS_FIELDS}  # each model's request fields, in the order the bench sends them
REAL, ALONE, SHADOWED, DIRECT, FLOOR_NAME, MLFLOW, NO_WAL = (
    "ours (mlops serve)", "ours, --model credit only", "ours + shadow", "ours, features in request", "floor (bare ASGI)",
    "mlflow models serve", "ours, write-ahead off",
)  # fmt: skip
ROWS_OF_A_ROUND = (  # server, route, Bodies field; each row for every model the server answers for
    (FLOOR_NAME, "/predict", "ours"), (REAL, "/predict", "ours"), (NO_WAL, "/predict", "ours"), (ALONE, "/predict", "ours"),
    (SHADOWED, "/predict", "ours"), (DIRECT, "/predict", "features"), (MLFLOW, "/invocations", "mlflow"),
)  # fmt: skip

DIRECT_SERVER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np
    from mlflow import MlflowClient

    from mlops_assets.serving.app import ModelEndpoint, create_app
    from mlops_assets.serving.contract import FieldSpec
    from mlops_assets.training.native_model import NativeModel
    from mlops_assets.serving.server import serve
    from mlops_assets.training.model_io import FEATURES_TAG, FLAVOR_TAG, load_trained

    folder, models = Path(sys.argv[1]), sys.argv[2:]

    class FeaturesInRequestScorer:
        \"\"\"No feature store: the request carries the model's features, as MLflow's server takes them.\"\"\"

        inline = True  # no I/O: score on the event loop, as mlops serve does with a local online store

        def __init__(self, model, found):
            self.model_name, self.version = model, str(found.version)
            self.features = json.loads(found.tags[FEATURES_TAG])
            self.fields = tuple(FieldSpec(name, "float", nullable=True) for name in self.features)
            uri = f"models:/{model}/{found.version}"
            self._model = NativeModel(load_trained(uri, flavor=found.tags[FLAVOR_TAG], features=self.features))

        def score(self, rows):
            if len(rows) == 1:
                return [self._model.predict_one([rows[0][f] for f in self.features])]
            return self._model.predict(np.array([[row[f] for f in self.features] for row in rows], dtype="float64")).tolist()

    def loader(model):
        def load(version):
            client = MlflowClient()
            found = client.get_model_version_by_alias(model, "champion") if version is None else client.get_model_version(model, version)
            return FeaturesInRequestScorer(model, found)

        return load

    endpoints = [ModelEndpoint(m, loader(m), folder / m / "prediction_log") for m in models]
    serve(create_app(endpoints, admin_token=None), port=0, state_files={m: folder / f"{m}.json" for m in models})
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

    folder, models = Path(sys.argv[1]), sys.argv[2:]
    serve(app, port=0, state_files={m: folder / f"{m}.json" for m in models})  # every model's URL answers the same
    """
)


@dataclass(frozen=True)
class Result:
    server: str
    model: str
    threads: int
    median_ms: float
    p99_ms: float
    rps: float


@dataclass(frozen=True)
class Bodies:
    """One model's ``ROWS`` real requests, in each server's format."""

    ours: list[bytes]  # the request fields, as clients send them to mlops serve
    features: list[bytes]  # the model's features, for the features-in-request server
    mlflow: list[bytes]  # the same features as MLflow's ``dataframe_split``


@contextmanager
def process(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A server in its own process group, stopped by SIGTERM to the group (MLflow's server forks workers)."""
    # mlflow starts `uvicorn` by name: the venv's bin must be on PATH even when it is not activated
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, **env, "PYTHONPATH": str(ROOT), "PATH": path}
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


def wait_ready(proc: subprocess.Popen[bytes], deadline: float, where: Path | str, ready: str, log: Path) -> str:
    """A model's URL on the server, once ``ready`` under it answers 200; ``where`` is the URL or the state file that holds it."""
    url = where if isinstance(where, str) else None
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"server exited with {proc.returncode}: {log.read_text()[-2000:]}"
            if url is None and isinstance(where, Path) and where.exists():
                url = json.loads(where.read_text())["url"]
            if url is not None:
                try:
                    if client.get(url + ready).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
    raise TimeoutError(f"not ready within {READY_TIMEOUT_S}s: {log.read_text()[-2000:]}")


class Fleet:
    """The run's servers, each started alone (so its start-up time is its own) and kept up for every round."""

    def __init__(self, stack: ExitStack, logs: Path, env: dict[str, str]) -> None:
        self._stack, self._logs, self._env = stack, logs, env
        self.startup: dict[str, float] = {}  # server -> seconds from process start to every model ready

    def start(self, name: str, command: list[str], models: Mapping[str, Path | str], ready: str) -> dict[str, str]:
        """Each model's URL on the new server (``models`` maps a model to its URL or the state file naming it)."""
        log = self._logs / f"{name.replace(' ', '_')}.log"
        began = time.monotonic()
        proc = self._stack.enter_context(process(command, log, self._env))
        urls = {model: wait_ready(proc, began + READY_TIMEOUT_S, where, ready, log) for model, where in models.items()}
        self.startup[name] = time.monotonic() - began
        return urls


@dataclass
class Samples:
    """One row's latencies at one thread count, pooled over the rounds."""

    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    def result(self, server: str, model: str, threads: int) -> Result:
        flat = sorted(self.latencies)
        return Result(server, model, threads, statistics.median(flat) * 1e3, flat[int(len(flat) * 0.99)] * 1e3, len(flat) / self.wall_s)


def measure(name: str, endpoint: str, bodies: list[bytes], threads: int, requests: int, into: Samples) -> None:
    """One round: ``requests / ROUNDS`` single-row posts to ``endpoint`` over ``threads`` keep-alive connections, after unmeasured warm-up ones."""
    per_thread = requests // ROUNDS // threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[list[str]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def worker(k: int) -> None:
        with KeepAliveClient(endpoint) as client:
            prepared = [client.request(urlsplit(endpoint).path, body) for body in bodies]
            for i in range(WARMUP // ROUNDS // threads):
                client.post(prepared[i % len(prepared)])
            start.wait()
            for i in range(per_thread):
                request = prepared[(k + i * threads) % len(prepared)]
                began = time.perf_counter()
                status, body = client.post(request)
                latencies[k].append(time.perf_counter() - began)
                if status != 200:
                    failures[k].append(f"{status}: {body[:200]!r}")

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in pool:
        t.join()
    into.wall_s += time.perf_counter() - began
    flat = [x for xs in latencies for x in xs]
    assert len(flat) == per_thread * threads, f"{name}: a client thread failed"
    failed = [f for fs in failures for f in fs]
    assert not failed, f"{name}: {len(failed)} requests failed, e.g. {failed[0]}"
    into.latencies.extend(flat)


def model_bodies(pipeline: Pipeline, resources: Mapping[str, Any], spec: Any) -> Bodies:
    """``ROWS`` real requests from the model's training set that pass the server's validation, and their features as the store serves them."""
    from mlops_assets.features.online import OnlineFeatureReader

    frame = pipeline.training_set(spec.name)
    rows = request_rows(frame.sample(ROWS, random_state=3), FIELDS[spec.name])  # validated rows: every field present and in range
    features = json.loads(resources["registry"].champion(spec.registered_model).tags["features"])
    columns = OnlineFeatureReader(resources["feast"].store(), spec.feature_service).read(rows)
    matrix = np.column_stack([columns[f] for f in features])
    return Bodies(
        ours=[orjson.dumps(row) for row in rows],
        features=[orjson.dumps(dict(zip(features, (None if np.isnan(v) else float(v) for v in values)))) for values in matrix],
        mlflow=[json.dumps({"dataframe_split": {"columns": features, "data": [[float(v) for v in values]]}}).encode() for values in matrix],
    )  # mlflow's in json, not orjson: MLflow parses NaN, orjson would write null


def shadow_version(registry: Any, model: str) -> str:
    """A second registry version of the champion, to run as its shadow."""
    champion = registry.champion(model)
    return str(registry.client().create_model_version(model, champion.source, run_id=champion.run_id, tags=champion.tags).version)


@contextmanager
def shadowing(model_url: str, version: str) -> Iterator[None]:
    """``version`` scoring every request of the model at ``model_url`` as its shadow, for the duration."""
    admin, auth = f"{model_url}/admin/shadow", {"Authorization": f"Bearer {TOKEN}"}
    started = httpx.post(admin, json={"version": version}, headers=auth, trust_env=False, timeout=60)
    assert started.status_code == 200, started.text
    yield
    assert httpx.delete(admin, headers=auth, trust_env=False, timeout=60).status_code == 200


def state_files(folder: Path, models: list[str]) -> dict[str, Path]:
    """Where a benchmark server started with ``folder`` writes each model's state (its URL)."""
    folder.mkdir()
    return {m: folder / f"{m}.json" for m in models}


@pytest.mark.bench
def test_serving_speed_against_mlflow_and_the_floor(pipeline: Pipeline, tmp_path: Path) -> None:
    from domains.access_requests import ACCESS_MODEL
    from domains.credit import CREDIT_MODEL
    from resources import resources_for
    from resources.serving import server_state_file

    resources = resources_for(pipeline.profile)
    bodies = {spec.name: model_bodies(pipeline, resources, spec) for spec in (CREDIT_MODEL, ACCESS_MODEL)}
    shadows = {model: shadow_version(resources["registry"], model) for model in bodies}
    models = list(bodies)
    env = {
        "MLOPS_HOME": str(pipeline.profile.home),
        "MLOPS_ADMIN_TOKEN": TOKEN,
        "MLFLOW_TRACKING_URI": pipeline.profile.mlflow_tracking_uri,
        "MLFLOW_REGISTRY_URI": pipeline.profile.mlflow_tracking_uri,
    }
    python, serve = sys.executable, [sys.executable, "-m", "mlops_assets.cli", "serve"]

    with ExitStack() as running:
        fleet = Fleet(running, tmp_path, env)
        floor = fleet.start(FLOOR_NAME, [python, "-c", FLOOR, str(tmp_path / "floor"), *models], state_files(tmp_path / "floor", models), "/ready")
        states = {m: server_state_file(pipeline.profile.serving_root, m) for m in models}
        for state in states.values():
            state.unlink(missing_ok=True)
        real = fleet.start(REAL, [*serve, "--port", "0"], states, "/ready")
        port = free_port()  # the credit-only server would overwrite credit's state file: it is found by its port
        alone = fleet.start(ALONE, [*serve, "--model", CREDIT, "--port", str(port)], {CREDIT: f"http://127.0.0.1:{port}/models/{CREDIT}"}, "/ready")
        port = free_port()
        no_wal = fleet.start(NO_WAL, [*serve, "--log-fsync", "off", "--port", str(port)], {m: f"http://127.0.0.1:{port}/models/{m}" for m in models}, "/ready")
        direct = fleet.start(DIRECT, [python, "-c", DIRECT_SERVER, str(tmp_path / "direct"), *models], state_files(tmp_path / "direct", models), "/ready")
        mlflow = {m: fleet.start(f"{MLFLOW} ({m})", *mlflow_server(m))[m] for m in models}

        urls = {FLOOR_NAME: floor, REAL: real, NO_WAL: no_wal, ALONE: alone, SHADOWED: real, DIRECT: direct, MLFLOW: mlflow}
        targets = {  # (server, model) -> endpoint, bodies; a server's models side by side, MLflow's slow rows last
            (server, m): (f"{urls[server][m]}{route}", getattr(bodies[m], kind))
            for server, route, kind in ROWS_OF_A_ROUND
            for m in models
            if m in urls[server]
        }
        samples = {(server, m, n): Samples() for server, m in targets for n in THREADS}
        for _ in range(ROUNDS):
            for (server, m), (endpoint, sent) in targets.items():
                with shadowing(real[m], shadows[m]) if server == SHADOWED else nullcontext():
                    for n in THREADS:
                        count = MLFLOW_REQUESTS if server == MLFLOW else REQUESTS
                        measure(f"{server} ({m})", endpoint, sent, n, count, samples[server, m, n])

    report([samples[key].result(*key) for key in samples], fleet.startup)


def mlflow_server(model: str) -> tuple[list[str], dict[str, str], str]:
    """`mlflow models serve` of ``model``'s champion on a free port: its command, where it answers, its ready route."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", f"models:/{model}@champion",
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    return command, {model: f"http://127.0.0.1:{port}"}, "/ping"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(results: list[Result], startup: dict[str, float]) -> None:
    by = {(r.server, r.model, r.threads): r for r in results}
    models = list(dict.fromkeys(r.model for r in results))
    print(
        f"\n[serving bench] one request per post, loopback keep-alive, {REQUESTS} requests ({MLFLOW_REQUESTS} to mlflow) after {WARMUP} "
        f"warm-up per row and thread count, in {ROUNDS} interleaved rounds, {os.cpu_count()} CPUs; "
        f"`mlops serve` serves {' and '.join(models)} from one process"
    )
    print(f"{'server':<28} {'model':<7} {'threads':>7} {'median ms':>10} {'p99 ms':>8} {'req/s':>8}")
    for r in sorted(results, key=lambda r: models.index(r.model)):
        print(f"{r.server:<28} {r.model:<7} {r.threads:>7} {r.median_ms:>10.3f} {r.p99_ms:>8.3f} {r.rps:>8.0f}")
    for m in models:
        for n in THREADS:
            floor, theirs = by[FLOOR_NAME, m, n], by[MLFLOW, m, n]
            for server in (REAL, DIRECT):
                ours = by[server, m, n]
                lower, faster, over_floor = theirs.median_ms / ours.median_ms, ours.rps / theirs.rps, ours.median_ms / floor.median_ms
                if n == 1:  # issue 16's targets: 1 client, the median; 4 clients, throughput (no floor target: 2 CPUs for client and server)
                    targets = (f"median {lower:.1f}x lower than mlflow (target >= 5: {_met(lower >= 5)}), "
                               f"{over_floor:.2f}x the floor (target <= 2: {_met(over_floor <= 2)})")  # fmt: skip
                else:
                    targets = f"req/s {faster:.1f}x mlflow (target >= 8: {_met(faster >= 8)}), {over_floor:.2f}x the floor (no target)"
                print(f"{m}, {n} thread(s), {server}: {targets}")
            print(f"{m}, {n} thread(s): a shadow adds {by[SHADOWED, m, n].median_ms - by[REAL, m, n].median_ms:+.3f} ms to the median")
            wal = by[REAL, m, n].median_ms / by[NO_WAL, m, n].median_ms
            print(f"{m}, {n} thread(s): median with the write-ahead log / without {wal:.3f}x (target <= 1.10: {_met(wal <= 1.10)}), "
                  f"req/s {by[REAL, m, n].rps / by[NO_WAL, m, n].rps:.3f}x")
    for n in THREADS:
        ratios = ", ".join(f"{server} {by[server, ACCESS, n].median_ms / by[server, CREDIT, n].median_ms:.2f}x" for server in (FLOOR_NAME, DIRECT, REAL, MLFLOW))
        print(f"{n} thread(s), access median / credit median: {ratios}")
        both, alone = by[REAL, CREDIT, n], by[ALONE, CREDIT, n]
        print(f"{n} thread(s), credit on the two-model server / alone: median {both.median_ms / alone.median_ms:.2f}x, req/s {both.rps / alone.rps:.2f}x")
    print("process start to ready: " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
