"""The prediction server over real HTTP: uvicorn on a loopback port, httpx as the client, a toy scorer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mlops_assets.serving.app import ModelEndpoint, create_app
from mlops_assets.serving.contract import FieldSpec, Scorer, ScorerLoader, UnknownEntityError
from mlops_assets.serving.prediction_log import SCHEMA, PredictionLogWriter, read_prediction_log
from mlops_assets.serving.request import RequestError, parse_rows
from mlops_assets.serving.server import BackgroundServer
from tests.conftest import default_signals
from tests.load import under_load

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-admin-token"
FIELDS = (
    FieldSpec("customer_id", "int", minimum=1),
    FieldSpec("amount", "float", minimum=0, maximum=1_000_000),
    FieldSpec("term_months", "int", minimum=6, maximum=360),
    FieldSpec("purpose", "str", choices=("car", "home", "education")),
)
KNOWN_CUSTOMERS = range(1, 1001)
CRASHING_CUSTOMER = 666  # the toy scorer raises a plain error for this one, as a buggy model would
GOOD: dict[str, Any] = {"customer_id": 7, "amount": 12_000.0, "term_months": 36, "purpose": "car"}


def expected_score(row: dict[str, Any], version: str) -> float:
    """Each version scores differently, so a response's score tells which version made it."""
    base = row["amount"] / (row["amount"] + 1000.0 * row["term_months"])
    return base if version == "1" else 1.0 - base


@dataclass
class ToyScorer:
    version: str
    model_name: str = "credit"
    fields: tuple[FieldSpec, ...] = FIELDS
    inline: bool = False  # True: the app scores single rows on its event loop

    def score(self, rows: list[dict[str, Any]]) -> list[float]:
        for row in rows:
            if row["customer_id"] not in KNOWN_CUSTOMERS:
                raise UnknownEntityError("customer_id", row["customer_id"])
            if row["customer_id"] == CRASHING_CUSTOMER:
                raise ValueError("model exploded")
        return [expected_score(row, self.version) for row in rows]


def toy_loader(champion: str | None = "1", broken: frozenset[str] = frozenset({"3"}), inline: bool = False) -> ScorerLoader:
    """Versions "1" and "2" load; ``broken`` ones raise; ``champion=None`` means no champion alias."""

    def load(version: str | None) -> Scorer:
        wanted = version or champion
        if wanted is None:
            raise LookupError("registered model 'credit' has no 'champion' alias")
        if wanted in broken:
            raise RuntimeError(f"artifact of version {wanted} is corrupt")
        return ToyScorer(wanted, inline=inline)

    return load


@contextmanager
def running(tmp_path: Path, loader: ScorerLoader | None = None, **options: Any) -> Iterator[tuple[httpx.Client, Path]]:
    """A real server plus a keep-alive client; the server is stopped (log flushed) on exit."""
    options.setdefault("admin_token", TOKEN)
    log_folder = tmp_path / "prediction_log"
    app = create_app([ModelEndpoint("credit", loader or toy_loader(), log_folder)], **options)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        yield client, log_folder


def admin(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, field: str | None, *needles: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["status"], error["field"]) == (status, field), error
    for needle in needles:
        assert needle in error["message"], error["message"]


# --- request parsing --------------------------------------------------------------------------------


def test_a_string_longer_than_its_contract_is_refused_naming_the_field() -> None:
    code = FieldSpec("code", "str", max_length=13)
    assert parse_rows(orjson.dumps({"code": "19530219_5179"}), [code], batch=False, max_rows=1)[0]["code"] == "19530219_5179"
    with pytest.raises(RequestError) as exc:
        parse_rows(orjson.dumps({"code": "1" * 100_000}), [code], batch=False, max_rows=1)
    assert (exc.value.status, exc.value.field) == (422, "code") and "at most 13 characters, got 100000" in exc.value.message


def test_a_string_must_match_its_contracts_pattern_whole() -> None:
    """The endpoint checks a structured key's format as validation does: the credit scorer's dob_ssn carries the pattern."""
    from domains.credit import APPLICATIONS
    from domains.credit.contract import DOB_SSN
    from mlops_assets.serving.scorer import field_specs

    [dob] = field_specs(APPLICATIONS, ["dob_ssn"])
    assert dob.pattern == DOB_SSN
    assert parse_rows(orjson.dumps({"dob_ssn": "19530219_5179"}), [dob], batch=False, max_rows=1)[0]["dob_ssn"] == "19530219_5179"
    for bad in ("19530230_5179", "1953-0219_517", "19531301_5179", "19530219_517", "1953021a_5179", "195302195179_", "18530219_5179"):
        with pytest.raises(RequestError) as exc:
            parse_rows(orjson.dumps({"dob_ssn": bad}), [dob], batch=False, max_rows=1)
        assert (exc.value.status, exc.value.field) == (422, "dob_ssn") and "must match (19|20)" in exc.value.message, bad


def test_parse_rows_keeps_declared_fields_widens_ints_and_generates_request_ids() -> None:
    rows = parse_rows(orjson.dumps({**GOOD, "amount": 500, "extra": [1]}), FIELDS, batch=False, max_rows=10, reject_unknown=False)
    assert rows[0]["amount"] == 500.0 and type(rows[0]["amount"]) is float
    assert "extra" not in rows[0]  # dropped when the spec says "ignore"
    assert len(rows[0]["request_id"]) == 32 and int(rows[0]["request_id"], 16) >= 0
    batch = orjson.dumps({"rows": [{**GOOD, "request_id": "a"}, {**GOOD, "request_id": "b"}]})
    assert [r["request_id"] for r in parse_rows(batch, FIELDS, batch=True, max_rows=2)] == ["a", "b"]
    with pytest.raises(RequestError) as exc:
        parse_rows(batch, FIELDS, batch=True, max_rows=1)
    assert (exc.value.status, exc.value.field) == (413, "rows")


def test_the_default_body_cap_holds_a_full_batch_of_long_credit_rows() -> None:
    """A client may send ``MAX_BATCH_ROWS`` rows: the default body cap must not refuse them first."""
    from mlops_assets.serving.request import MAX_BATCH_ROWS, MAX_BODY_BYTES, MAX_REQUEST_ID_CHARS
    from domains.credit.data import synthetic_source
    from tests.integration.online_parity import request_rows

    loans = synthetic_source(seed=0, days=20).events.head(MAX_BATCH_ROWS)
    rows = [
        {**row, "loan_int_rate": row["loan_int_rate"] + 1e-9, "person_emp_length": row["person_emp_length"] + 1e-9,  # 17 digits
         "request_id": f"{i:0{MAX_REQUEST_ID_CHARS}d}"}
        for i, row in enumerate(request_rows(loans))
    ]  # fmt: skip
    body = orjson.dumps({"rows": rows})
    assert len(rows) == MAX_BATCH_ROWS and len(body) <= MAX_BODY_BYTES, f"{len(body)} bytes > {MAX_BODY_BYTES}"


def test_null_is_refused_unless_the_field_is_nullable() -> None:
    strict, lenient = FieldSpec("amount", "float", minimum=0), FieldSpec("amount", "float", minimum=0, nullable=True)
    body = orjson.dumps({"amount": None})
    with pytest.raises(RequestError) as exc:
        parse_rows(body, [strict], batch=False, max_rows=1)
    assert (exc.value.status, exc.value.field) == (422, "amount") and "got null" in exc.value.message
    assert parse_rows(body, [lenient], batch=False, max_rows=1)[0]["amount"] is None
    with pytest.raises(RequestError):  # a value, when given, is still checked
        parse_rows(orjson.dumps({"amount": -1}), [lenient], batch=False, max_rows=1)


# --- serving ----------------------------------------------------------------------------------------


def test_predict_single_and_batch_answer_with_the_serving_version(tmp_path: Path) -> None:
    with running(tmp_path) as (client, _):
        response = client.post("/predict", json={**GOOD, "request_id": "req-1"})
        assert response.status_code == 200
        assert response.headers["x-model-version"] == "1"
        assert response.json() == {
            "request_id": "req-1",
            "score": pytest.approx(expected_score(GOOD, "1")),
            "model_name": "credit",
            "model_version": "1",
        }
        generated = client.post("/predict", json=GOOD).json()["request_id"]
        assert len(generated) == 32 and generated != "req-1"

        rows = [{**GOOD, "amount": 1000.0 * i, "request_id": f"r{i}"} for i in range(3)]
        body = client.post("/predict/batch", json={"rows": rows}).json()
        assert body["model_version"] == "1" and body["model_name"] == "credit"
        assert [(p["request_id"], p["model_version"]) for p in body["predictions"]] == [("r0", "1"), ("r1", "1"), ("r2", "1")]
        assert [p["score"] for p in body["predictions"]] == pytest.approx([expected_score(r, "1") for r in rows])

        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").json()["model_version"] == "1"
        assert client.get("/version").json() == {"model_name": "credit", "model_version": "1", "canary": None, "shadow": None}


BAD_INPUTS: list[tuple[str, bytes | dict[str, Any], int, str | None, tuple[str, ...]]] = [
    # (route, body, status, field, words the message must contain)
    ("/predict", b'{"customer_id": 7,', 400, None, ("not valid JSON",)),
    ("/predict", b"[1, 2]", 400, None, ("JSON object",)),
    ("/predict", b'{"customer_id": 7, "amount": NaN, "term_months": 36, "purpose": "car"}', 422, "amount", ("finite", "NaN")),
    ("/predict", b'{"customer_id": 7, "amount": -Infinity, "term_months": 36}', 422, "amount", ("finite", "-Infinity")),
    ("/predict/batch", b'{"rows": [{"amount": 1.0}, {"amount": Infinity}]}', 422, "rows[1].amount", ("finite", "Infinity")),
    ("/predict", {k: v for k, v in GOOD.items() if k != "purpose"}, 422, "purpose", ("missing",)),
    ("/predict", {**GOOD, "term_months": True}, 422, "term_months", ("integer", "boolean")),
    ("/predict", {**GOOD, "term_months": 36.0}, 422, "term_months", ("integer",)),
    ("/predict", {**GOOD, "amount": "12000"}, 422, "amount", ("number", "string")),
    ("/predict", {**GOOD, "amount": None}, 422, "amount", ("null",)),
    ("/predict", {**GOOD, "amonut": 1.0}, 422, "amonut", ("unknown field amonut", "amount, customer_id")),
    ("/predict", {**GOOD, "label": 1, "default": 0}, 422, "default", ("unknown fields default, label",)),
    ("/predict/batch", {"rows": [GOOD, {**GOOD, "x": 1}]}, 422, "rows[1].x", ("unknown field rows[1].x",)),
    ("/predict", {**GOOD, "amount": -5}, 422, "amount", ("between 0 and 1000000",)),
    ("/predict", {**GOOD, "term_months": 3}, 422, "term_months", ("between 6 and 360",)),
    ("/predict", {**GOOD, "customer_id": 0}, 422, "customer_id", (">= 1",)),
    ("/predict", {**GOOD, "purpose": "boat"}, 422, "purpose", ("'car', 'home', 'education'", "'boat'")),
    ("/predict", {**GOOD, "request_id": 5}, 422, "request_id", ("string",)),
    ("/predict", {**GOOD, "customer_id": 5000}, 404, "customer_id", ("5000",)),
    ("/predict/batch", {"row": [GOOD]}, 422, "row", ("unknown field row",)),
    ("/predict/batch", {"rows": []}, 422, "rows", ("empty",)),
    ("/predict/batch", {"rows": [GOOD, 3]}, 422, "rows[1]", ("object",)),
    ("/predict/batch", {"rows": [GOOD, {**GOOD, "amount": "x"}]}, 422, "rows[1].amount", ("number",)),
    ("/predict/batch", {"rows": [GOOD] * 6}, 413, "rows", ("6 > 5",)),
    ("/predict/batch", {"rows": [GOOD, {**GOOD, "customer_id": 9999}]}, 404, "customer_id", ("9999",)),
]


@pytest.mark.parametrize("inline", [False, True], ids=["on-threads", "inline"])
def test_each_bad_input_gets_its_4xx_naming_the_field_and_the_server_keeps_serving(tmp_path: Path, inline: bool, caplog) -> None:
    with running(tmp_path, loader=toy_loader(inline=inline), max_batch_rows=5, max_body_bytes=4096) as (client, log_folder):
        for route, body, status, field, needles in BAD_INPUTS:
            content = body if isinstance(body, bytes) else orjson.dumps(body)
            response = client.post(route, content=content, headers={"content-type": "application/json"})
            assert_error(response, status, field, *needles)
            assert response.headers["x-model-version"] == "1"
            assert client.post("/predict", json=GOOD).status_code == 200  # the same connection still serves

        json_type = {"content-type": "application/json"}
        big = orjson.dumps({**GOOD, "padding": "x" * 5000})
        assert_error(client.post("/predict", content=big, headers=json_type), 413, None, "4096-byte limit")
        # Chunked, so no Content-Length to trust: the limit holds on the bytes actually read.
        chunked = client.post("/predict", content=iter([big[:3000], big[3000:]]), headers=json_type)
        assert "content-length" not in chunked.request.headers
        assert_error(chunked, 413, None, "4096-byte limit")

        assert_error(client.get("/predict"), 405, None, "GET")
        good = orjson.dumps(GOOD)
        for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "application/jsonp"):
            headers = {} if content_type is None else {"content-type": content_type}
            assert_error(client.post("/predict", content=good, headers=headers), 415, None, "application/json", content_type or "none")
        for declared in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"):
            assert client.post("/predict", content=good, headers={"content-type": declared}).status_code == 200, declared

        crash = client.post("/predict", json={**GOOD, "customer_id": CRASHING_CUSTOMER})
        assert_error(crash, 500, None, "scoring failed (error id ")
        assert "exploded" not in crash.text and "ValueError" not in crash.text  # the exception stays in the server's log
        error_id = crash.json()["error"]["message"].split("error id ")[1][:12]
        assert any(error_id in r.getMessage() and r.exc_info and "model exploded" in str(r.exc_info[1]) for r in caplog.records)
        assert crash.headers["x-model-version"] == "1"
        assert_error(client.get("/nowhere"), 404, None, "/nowhere")
        assert client.post("/predict", json=GOOD).status_code == 200
    assert len(read_prediction_log(log_folder)) == len(BAD_INPUTS) + 1 + 3  # only served predictions are logged


def test_admin_routes_need_the_token_and_reload_swaps_the_version(tmp_path: Path) -> None:
    with running(tmp_path) as (client, _):
        assert_error(client.post("/admin/reload", json={"version": "2"}), 401, None, "Bearer")
        assert_error(client.post("/admin/reload", json={"version": "2"}, headers=admin("wrong")), 401, None, "invalid")
        assert_error(client.post("/admin/reload", content=b'{"version": 2}', headers=admin()), 422, "version")
        assert client.get("/version").json()["model_version"] == "1"

        response = client.post("/admin/reload", json={"version": "2"}, headers=admin())
        assert response.status_code == 200, response.text
        assert response.json() == {"model_name": "credit", "model_version": "2", "previous": "1"}
        served = client.post("/predict", json=GOOD)
        assert served.headers["x-model-version"] == "2"
        assert served.json()["score"] == pytest.approx(expected_score(GOOD, "2"))

        back = client.post("/admin/reload", headers=admin())  # no body: back to the champion
        assert back.json() == {"model_name": "credit", "model_version": "1", "previous": "2"}

    with running(tmp_path, admin_token=None) as (client, _):
        assert_error(
            client.post("/admin/reload", headers=admin()), 403, None, "admin disabled: set MLOPS_ADMIN_TOKEN"
        )


def test_a_failed_reload_keeps_serving_the_old_model(tmp_path: Path) -> None:
    with running(tmp_path) as (client, _):
        response = client.post("/admin/reload", json={"version": "3"}, headers=admin())
        assert_error(response, 500, "version", "could not load version 3 (error id ", "still serving version 1")
        assert "corrupt" not in response.text
        assert response.headers["x-model-version"] == "1"
        assert client.get("/ready").json()["model_version"] == "1"
        assert client.post("/predict", json=GOOD).json()["model_version"] == "1"


def test_not_ready_when_the_champion_cannot_load_at_startup(tmp_path: Path) -> None:
    with running(tmp_path, loader=toy_loader(champion=None)) as (client, _):
        assert client.get("/health").status_code == 200
        assert_error(client.get("/ready"), 503, None, "no 'champion' alias")
        response = client.post("/predict", json=GOOD)
        assert_error(response, 503, None, "no model loaded", "no 'champion' alias")
        assert "x-model-version" not in response.headers
        assert not any(line.startswith("mlops_served_model_version{") for line in client.get("/metrics").text.splitlines())

        # An operator can still load a version by hand, and the server becomes ready.
        response = client.post("/admin/reload", json={"version": "2"}, headers=admin())
        assert response.json() == {"model_name": "credit", "model_version": "2", "previous": None}
        assert client.get("/ready").status_code == 200
        assert client.post("/predict", json=GOOD).status_code == 200


def test_a_champion_that_fails_to_load_is_not_described_by_its_exception(tmp_path: Path, caplog) -> None:
    """/ready is public: an exception's text (paths, URLs, secrets) stays in the server's log, under the id /ready gives."""
    with running(tmp_path, loader=toy_loader(champion="3")) as (client, _):
        ready = client.get("/ready")
        assert_error(ready, 503, None, "could not load the champion of credit (error id ")
        assert "corrupt" not in ready.text and "RuntimeError" not in ready.text
        error_id = ready.json()["error"]["message"].split("error id ")[1][:12]
        assert any(error_id in r.getMessage() and "corrupt" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_metrics_expose_counters_latency_and_the_served_version(tmp_path: Path) -> None:
    with running(tmp_path) as (client, _):
        for _ in range(3):
            client.post("/predict", json=GOOD)
        client.post("/predict/batch", json={"rows": [GOOD, GOOD]})
        client.post("/predict", json={**GOOD, "amount": "1"})
        client.get("/no/such/path")
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = set(response.text.splitlines())
    assert 'mlops_requests_total{route="/predict",status="200"} 3' in lines
    assert 'mlops_requests_total{route="/predict",status="422"} 1' in lines
    assert 'mlops_requests_total{route="/predict/batch",status="200"} 1' in lines
    assert 'mlops_request_errors_total{route="/predict",status="422"} 1' in lines
    assert 'mlops_request_errors_total{route="unmatched",status="404"} 1' in lines
    assert 'mlops_predictions_total{model="credit",version="1"} 5' in lines
    assert 'mlops_request_duration_seconds_bucket{route="/predict",le="+Inf"} 4' in lines
    assert any(line.startswith('mlops_request_duration_seconds_bucket{route="/predict",le="0.0005"}') for line in lines)
    assert 'mlops_served_model_version{model="credit"} 1' in lines


def test_every_served_prediction_is_logged_in_a_few_batch_files(tmp_path: Path) -> None:
    with running(tmp_path) as (client, log_folder):
        sent = {}
        for i in range(200):
            body = client.post("/predict", json={**GOOD, "amount": float(i), "request_id": f"q{i}"}).json()
            sent[body["request_id"]] = body["score"]
    files = list(log_folder.glob("date=*/*.parquet"))
    assert 1 <= len(files) <= 5, files  # batches, not one file per request
    assert not list(log_folder.rglob("*.tmp"))
    log = read_prediction_log(log_folder)
    assert len(log) == 200 and dict(zip(log["request_id"], log["score"])) == pytest.approx(sent)
    first = log.iloc[0]
    assert (first["model_name"], first["model_version"], first["route"]) == ("credit", "1", "/predict")
    assert json.loads(first["inputs"]) == {**GOOD, "amount": 0.0}
    assert first["latency_ms"] > 0 and first["shadow_version"] is None
    assert str(log["ts"].dt.tz) == "UTC"
    assert abs(datetime.now(UTC) - first["ts"].to_pydatetime()) < timedelta(minutes=5)


def test_log_writer_flushes_full_batches_early_and_everything_on_close(tmp_path: Path) -> None:
    assert list(read_prediction_log(tmp_path)) == SCHEMA.names  # no files yet: empty, right columns
    writer = PredictionLogWriter(tmp_path, flush_every_s=60, max_batch=10)
    record = {
        "request_id": "x",
        "ts": datetime.now(UTC),
        "model_name": "m",
        "model_version": "1",
        "route": "/predict",
        "inputs": "{}",
        "score": 0.5,
        "latency_ms": 0.1,
    }  # no shadow fields: they are optional and read back as null
    for _ in range(10):
        writer.append([record])
    deadline = time.monotonic() + 5
    while len(read_prediction_log(tmp_path)) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(read_prediction_log(tmp_path)) == 10  # written long before the 60 s timer
    for _ in range(3):
        writer.append([record])
    writer.close()
    log = read_prediction_log(tmp_path)
    assert len(log) == 13 and log["shadow_score"].isna().all()
    with pytest.raises(RuntimeError, match="closed"):
        writer.append([record])


def test_log_writer_writes_one_file_per_wake_up_under_steady_appends(tmp_path: Path) -> None:
    """A queue that requests keep filling is written once per interval, not chased record by record."""
    writer = PredictionLogWriter(tmp_path, flush_every_s=0.2, max_batch=10**9)
    record = {"request_id": "x", "ts": datetime.now(UTC), "model_name": "m", "model_version": "1", "route": "/predict",
              "inputs": "{}", "score": 0.5, "latency_ms": 0.1}  # fmt: skip
    started, appended = time.monotonic(), 0
    while time.monotonic() - started < 1.0:  # a few thousand records, as requests arrive
        writer.append([record])
        appended += 1
        time.sleep(0.0001)
    writer.close()
    files = list(tmp_path.glob("date=*/*.parquet"))
    assert len(read_prediction_log(tmp_path)) == appended  # nothing lost
    assert len(files) <= 10, f"{len(files)} files for {appended} records in 1 s at one wake-up per 0.2 s"


@pytest.mark.parametrize("inline", [False, True], ids=["on-threads", "inline"])
def test_concurrent_load_with_a_reload_in_the_middle_has_no_errors(tmp_path: Path, inline: bool) -> None:
    threads, per_thread = 4, 200
    with running(tmp_path, loader=toy_loader(inline=inline)) as (client, log_folder):

        def request(own: httpx.Client, k: int, i: int) -> tuple[int, str, str, float]:
            r = own.post("/predict", json={**GOOD, "amount": float(i)})
            body = r.json()
            return r.status_code, r.headers["x-model-version"], body["model_version"], body["score"]

        flat, [swap] = under_load(str(client.base_url), threads, per_thread, request,
                                  [lambda: client.post("/admin/reload", json={"version": "2"}, headers=admin())])  # fmt: skip
    assert swap.status_code == 200
    assert len(flat) == threads * per_thread
    assert all(status == 200 for status, *_ in flat)
    assert all(header == version for _, header, version, _ in flat)
    assert {version for _, _, version, _ in flat} == {"1", "2"}  # the swap happened mid-load
    log = read_prediction_log(log_folder)
    assert len(log) == threads * per_thread
    for _, row in log.iterrows():  # each logged score was made by the version it is logged under
        assert row["score"] == pytest.approx(expected_score(json.loads(row["inputs"]), row["model_version"]))


def test_serve_writes_the_state_file_and_removes_it_on_sigterm(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "server.json"
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from mlops_assets.serving.app import ModelEndpoint, create_app
        from mlops_assets.serving.contract import FieldSpec
        from mlops_assets.serving.server import serve

        class One:
            model_name, version, fields = "credit", "1", (FieldSpec("x", "float"),)
            def score(self, rows):
                return [0.5 for _ in rows]

        app = create_app([ModelEndpoint("one", lambda version: One(), Path({str(tmp_path / "log")!r}))], admin_token=None)
        serve(app, port=0, state_files={{"one": Path({str(state_file)!r})}})
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)
    try:
        deadline = time.monotonic() + 30
        while not state_file.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "no state file"
            time.sleep(0.05)
        state = json.loads(state_file.read_text())
        assert set(state) == {"pid", "pid_started", "host", "port", "server", "url", "model", "started_at"}
        assert state["pid"] == proc.pid and state["host"] == "127.0.0.1" and state["port"] > 0
        assert state["url"] == f"{state['server']}/models/one" and state["model"] == "one"
        with httpx.Client(base_url=state["url"], trust_env=False) as client:  # the model's routes, as the deployment asset calls them
            assert client.get("/version").json()["model_version"] == "1"
            assert client.post("/predict", json={"x": 1.0}).json()["score"] == 0.5
        assert httpx.get(f"{state['server']}/health", trust_env=False).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM, stderr  # uvicorn re-raises SIGTERM after its graceful shutdown
    assert not state_file.exists()
    assert len(read_prediction_log(tmp_path / "log")) == 1  # flushed by the lifespan shutdown
