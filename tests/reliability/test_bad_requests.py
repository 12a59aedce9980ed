"""Bad HTTP requests, one kind per row, each with its exact answer: status, the field it names, words of the message.

Sent over one keep-alive connection to a real server (uvicorn on a loopback port) with the
toy scorer of ``tests/unit/test_serving_app``. After each bad request a good one must still
be answered on the same connection, and at the end the prediction log must hold exactly the
good ones: nothing bad is scored or logged, nothing breaks the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from mlops_assets.errors import ModelNotFoundError
from mlops_assets.serving.contract import Scorer
from mlops_assets.serving.prediction_log import read_prediction_log
from tests.unit.test_serving_app import GOOD, TOKEN, admin, assert_error, running, toy_loader

JSON = {"content-type": "application/json"}
MAX_ROWS, MAX_BYTES = 5, 4096
Body = bytes | dict[str, Any] | list[Any] | None
# (what, method, route, body, headers, status, field, words the message must contain)
Row = tuple[str, str, str, Body, dict[str, str], int, str | None, tuple[str, ...]]


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


def field_cases() -> list[Row]:
    """Every field of the toy contract: missing, null, each wrong JSON type, out of bounds, non-finite."""
    cases: list[Row] = []
    wrong = {"a list": [1], "an object": {"v": 1}, "a boolean": True}
    for name in GOOD:
        cases.append((f"{name} missing", "POST", "/predict", without(name), JSON, 422, name, ("missing",)))
        cases.append((f"{name} null", "POST", "/predict", {**GOOD, name: None}, JSON, 422, name, ("null",)))
        for what, value in wrong.items():
            cases.append((f"{name} as {what}", "POST", "/predict", {**GOOD, name: value}, JSON, 422, name, (name,)))
    for name in ("customer_id", "amount", "term_months"):
        cases.append((f"{name} as a string", "POST", "/predict", {**GOOD, name: "12"}, JSON, 422, name, ("string",)))
    for name in ("amount",):
        for literal in ("NaN", "Infinity", "-Infinity"):
            body = orjson.dumps({**GOOD, name: 0.5}).replace(b"0.5", literal.encode())
            cases.append((f"{name} {literal}", "POST", "/predict", body, JSON, 422, name, ("finite", literal)))
    for name, value, words in (
        ("customer_id", 0, ">= 1"), ("customer_id", -7, ">= 1"), ("amount", -0.01, "between 0 and 1000000"),
        ("amount", 1_000_000.5, "between 0 and 1000000"), ("amount", 1e308, "between 0 and 1000000"),
        ("term_months", 5, "between 6 and 360"), ("term_months", 361, "between 6 and 360"), ("term_months", 36.5, "integer"),
        ("purpose", "boat", "'boat'"), ("purpose", "CAR", "'CAR'"), ("purpose", "", "''"),
        ("purpose", "car ", "'car '"), ("purpose", "x" * 3_000, "'car', 'home', 'education'"),
    ):  # fmt: skip
        cases.append((f"{name}={str(value)[:12]}", "POST", "/predict", {**GOOD, name: value}, JSON, 422, name, (words,)))
    return cases


BODY_CASES: list[Row] = [
    ("empty body", "POST", "/predict", b"", JSON, 400, None, ("not valid JSON",)),
    ("whitespace only", "POST", "/predict", b"   \n", JSON, 400, None, ("not valid JSON",)),
    ("truncated JSON", "POST", "/predict", b'{"customer_id": 7,', JSON, 400, None, ("not valid JSON",)),
    ("trailing comma", "POST", "/predict", b'{"customer_id": 7,}', JSON, 400, None, ("not valid JSON",)),
    ("single quotes", "POST", "/predict", b"{'customer_id': 7}", JSON, 400, None, ("not valid JSON",)),
    ("a comment", "POST", "/predict", b'{"customer_id": 7 /* x */}', JSON, 400, None, ("not valid JSON",)),
    ("invalid UTF-8", "POST", "/predict", b'{"purpose": "\xff\xfe"}', JSON, 400, None, ("not valid JSON",)),
    ("two objects", "POST", "/predict", b"{}{}", JSON, 400, None, ("not valid JSON",)),
    ("a JSON array", "POST", "/predict", b"[1, 2]", JSON, 400, None, ("JSON object",)),
    ("a JSON string", "POST", "/predict", b'"hello"', JSON, 400, None, ("JSON object",)),
    ("a JSON number", "POST", "/predict", b"42", JSON, 400, None, ("JSON object",)),
    ("JSON null", "POST", "/predict", b"null", JSON, 400, None, ("JSON object",)),
    ("an integer beyond 64 bits", "POST", "/predict", orjson.dumps(GOOD).replace(b"36", str(2**70).encode()), JSON, 422, "term_months",
     ("must be an integer",)),
    ("an empty object", "POST", "/predict", {}, JSON, 422, "customer_id", ("missing",)),
    ("a form body", "POST", "/predict", b"customer_id=7&amount=1", JSON, 400, None, ("not valid JSON",)),
    ("deeply nested", "POST", "/predict", b'{"customer_id": ' + b"[" * 2000 + b"]" * 2000 + b"}", JSON, 400, None, ("not valid JSON",)),
    ("an unknown field", "POST", "/predict", {**GOOD, "amonut": 1.0}, JSON, 422, "amonut", ("unknown field amonut",)),
    ("the label as a field", "POST", "/predict", {**GOOD, "label": 1}, JSON, 422, "label", ("unknown field label",)),
    ("two unknown fields", "POST", "/predict", {**GOOD, "label": 1, "default": 0}, JSON, 422, "default", ("unknown fields default, label",)),
    ("an empty field name", "POST", "/predict", {**GOOD, "": 1}, JSON, 422, "", ("unknown field",)),
    ("request_id a number", "POST", "/predict", {**GOOD, "request_id": 5}, JSON, 422, "request_id", ("string",)),
    ("request_id empty", "POST", "/predict", {**GOOD, "request_id": ""}, JSON, 422, "request_id", ("1 to 128 characters",)),
    ("request_id 129 characters", "POST", "/predict", {**GOOD, "request_id": "r" * 129}, JSON, 422, "request_id", ("1 to 128 characters",)),
    ("request_id a list", "POST", "/predict", {**GOOD, "request_id": ["a"]}, JSON, 422, "request_id", ("string",)),
    ("an unknown customer", "POST", "/predict", {**GOOD, "customer_id": 5000}, JSON, 404, "customer_id", ("5000",)),
    ("a body over the limit", "POST", "/predict", {**GOOD, "padding": "x" * MAX_BYTES}, JSON, 413, None, (f"{MAX_BYTES}-byte limit",)),
]

BATCH_CASES: list[Row] = [
    ("batch: rows misspelt", "POST", "/predict/batch", {"row": [GOOD]}, JSON, 422, "row", ("unknown field row: a batch body takes rows",)),
    ("batch: no rows key", "POST", "/predict/batch", {}, JSON, 422, "rows", ("list",)),
    ("batch: rows an object", "POST", "/predict/batch", {"rows": GOOD}, JSON, 422, "rows", ("list",)),
    ("batch: rows null", "POST", "/predict/batch", {"rows": None}, JSON, 422, "rows", ("list",)),
    ("batch: no rows", "POST", "/predict/batch", {"rows": []}, JSON, 422, "rows", ("empty",)),
    ("batch: too many rows", "POST", "/predict/batch", {"rows": [GOOD] * (MAX_ROWS + 1)}, JSON, 413, "rows", (f"{MAX_ROWS + 1} > {MAX_ROWS}",)),
    ("batch: a row a number", "POST", "/predict/batch", {"rows": [GOOD, 3]}, JSON, 422, "rows[1]", ("object",)),
    ("batch: a row a list", "POST", "/predict/batch", {"rows": [[GOOD]]}, JSON, 422, "rows[0]", ("object",)),
    ("batch: a bad value in row 2", "POST", "/predict/batch", {"rows": [GOOD, GOOD, {**GOOD, "amount": "x"}]}, JSON, 422, "rows[2].amount", ("number",)),
    ("batch: a missing field in row 1", "POST", "/predict/batch", {"rows": [GOOD, without("purpose")]}, JSON, 422, "rows[1].purpose", ("missing",)),
    ("batch: an unknown field in row 1", "POST", "/predict/batch", {"rows": [GOOD, {**GOOD, "x": 1}]}, JSON, 422, "rows[1].x", ("unknown field",)),
    ("batch: Infinity in row 1", "POST", "/predict/batch", b'{"rows": [{"amount": 1.0}, {"amount": Infinity}]}', JSON, 422, "rows[1].amount", ("finite",)),
    ("batch: an unknown customer", "POST", "/predict/batch", {"rows": [GOOD, {**GOOD, "customer_id": 9999}]}, JSON, 404, "customer_id", ("9999",)),
    ("batch: a top-level array", "POST", "/predict/batch", [GOOD], JSON, 400, None, ("JSON object",)),
    ("batch: an extra top-level key", "POST", "/predict/batch", {"rows": [GOOD], "model": "x"}, JSON, 422, "model", ("unknown field model",)),
]

PROTOCOL_CASES: list[Row] = [
    *((f"content-type {ct or 'missing'}", "POST", "/predict", GOOD, {} if ct is None else {"content-type": ct}, 415, None, ("application/json",))
      for ct in (None, "text/plain", "application/x-www-form-urlencoded", "application/jsonp", "multipart/form-data", "application/xml", "json")),
    ("GET /predict", "GET", "/predict", None, {}, 405, None, ("GET",)),
    ("PUT /predict", "PUT", "/predict", GOOD, JSON, 405, None, ("PUT",)),
    ("DELETE /predict/batch", "DELETE", "/predict/batch", None, {}, 405, None, ("DELETE",)),
    ("POST /health", "POST", "/health", GOOD, JSON, 405, None, ("POST",)),
    ("an unknown route", "POST", "/predictt", GOOD, JSON, 404, None, ("/predictt",)),
    ("a path with a query's look", "GET", "/models/credit/../admin", None, {}, 404, None, ("no route",)),
    ("another model's route", "POST", "/models/other/predict", GOOD, JSON, 404, None, ("/models/other/predict",)),
]

ADMIN_CASES: list[Row] = [
    ("reload without a token", "POST", "/admin/reload", {"version": "2"}, JSON, 401, None, ("Bearer",)),
    ("reload with a wrong token", "POST", "/admin/reload", {"version": "2"}, {**JSON, **admin("wrong")}, 401, None, ("invalid admin token",)),
    ("reload with a token but no Bearer", "POST", "/admin/reload", {"version": "2"}, {**JSON, "Authorization": TOKEN}, 401, None, ("Bearer",)),
    ("rollback without a token", "POST", "/admin/rollback", {}, JSON, 401, None, ("Bearer",)),
    ("canary without a token", "POST", "/admin/canary", {"version": "2", "percent": 10}, JSON, 401, None, ("Bearer",)),
    ("shadow delete without a token", "DELETE", "/admin/shadow", None, {}, 401, None, ("Bearer",)),
    ("reload: an unknown key", "POST", "/admin/reload", {"version": "2", "force": True}, {**JSON, **admin()}, 422, "force", ("unknown field",)),
    ("reload: version a number", "POST", "/admin/reload", {"version": 2}, {**JSON, **admin()}, 422, "version", ("string",)),
    ("reload: a version that does not exist", "POST", "/admin/reload", {"version": "99"}, {**JSON, **admin()}, 404, "version", ("99",)),
    ("rollback: a version that does not exist", "POST", "/admin/rollback", {"version": "99"}, {**JSON, **admin()}, 404, "version", ("99",)),
    ("reload: a body not JSON", "POST", "/admin/reload", b"version=2", {**JSON, **admin()}, 400, None, ("not valid JSON",)),
    ("reload: a body over 1 KiB", "POST", "/admin/reload", {"version": "2" * 2000}, {**JSON, **admin()}, 413, None, ("1024-byte limit",)),
    ("rollback: an unknown key", "POST", "/admin/rollback", {"to": "1"}, {**JSON, **admin()}, 422, "to", ("unknown field",)),
    ("canary: no version", "POST", "/admin/canary", {"percent": 10}, {**JSON, **admin()}, 422, "version", ("version",)),
    ("canary: percent 101", "POST", "/admin/canary", {"version": "2", "percent": 101}, {**JSON, **admin()}, 422, "percent", ("percent",)),
    ("canary: percent negative", "POST", "/admin/canary", {"version": "2", "percent": -1}, {**JSON, **admin()}, 422, "percent", ("percent",)),
    ("canary: percent a string", "POST", "/admin/canary", {"version": "2", "percent": "10"}, {**JSON, **admin()}, 422, "percent", ("percent",)),
    ("canary: a broken version", "POST", "/admin/canary", {"version": "3", "percent": 10}, {**JSON, **admin()}, 500, "version",
     ("could not load version 3 (error id",)),
    ("shadow: a version that does not exist", "POST", "/admin/shadow", {"version": "99"}, {**JSON, **admin()}, 404, "version", ("99",)),
    ("shadow: an unknown key", "POST", "/admin/shadow", {"version": "2", "percent": 5}, {**JSON, **admin()}, 422, "percent", ("unknown field",)),
]

CASES: list[Row] = [*field_cases(), *BODY_CASES, *BATCH_CASES, *PROTOCOL_CASES, *ADMIN_CASES]


def test_every_bad_request_gets_its_exact_answer_and_nothing_bad_is_scored_or_logged(tmp_path: Path) -> None:
    assert len(CASES) >= 100 and len({case[0] for case in CASES}) == len(CASES)
    failures = []
    toy = toy_loader()

    def loader(version: str | None) -> Scorer:
        if version not in (None, "1", "2", "3"):
            raise ModelNotFoundError(f"model 'credit' has no version {version} in the registry at http://secret-registry:5000")
        return toy(version)

    with running(tmp_path, loader=loader, max_batch_rows=MAX_ROWS, max_body_bytes=MAX_BYTES) as (client, log_folder):
        for what, method, route, body, headers, status, field, words in CASES:
            content = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
            response = client.request(method, route, content=content, headers=headers)
            try:
                assert_error(response, status, field, *words)
            except AssertionError as exc:
                failures.append(f"{what}: {exc}")
            assert client.post("/predict", json=GOOD).status_code == 200, f"the server stopped serving after: {what}"
        assert client.get("/version").json()["model_version"] == "1"  # no admin case changed what serves
    assert not failures, "\n".join(failures)
    assert len(read_prediction_log(log_folder)) == len(CASES)  # the good request after each case, and nothing else
    print(f"\n[reliability] {len(CASES)} kinds of bad request, each answered as expected")
