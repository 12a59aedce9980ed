"""Canary, shadow and rollback over real HTTP: uvicorn on loopback, httpx clients, scorers whose score names their version."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from mlops_assets.errors import ModelNotFoundError
from mlops_assets.serving.app import ModelEndpoint, create_app
from mlops_assets.serving.contract import FieldSpec, Scorer
from mlops_assets.serving.prediction_log import read_prediction_log
from mlops_assets.serving.routing import BUCKETS, Routing, bucket
from mlops_assets.serving.server import BackgroundServer
from tests.load import under_load

TOKEN = "rollout-admin-token"
FIELDS = (FieldSpec("dob_ssn", "str"), FieldSpec("amount", "float", minimum=0, maximum=1_000_000))
OTHER_FIELDS = (FieldSpec("customer_id", "int"),)
VERSIONS = ("1", "2", "3", "4")


def score_of(version: str, amount: float) -> float:
    """The integer part is the version, so every score says which model made it."""
    return int(version) + amount / 1e7


def version_of(score: float) -> str:
    return str(int(score))


@dataclass
class VersionScorer:
    version: str
    model_name: str = "credit"
    fields: tuple[FieldSpec, ...] = FIELDS
    inline: bool = False  # True: the app scores single rows (the shadow's too) on its event loop

    def score(self, rows: list[dict[str, Any]]) -> list[float]:
        return [score_of(self.version, row["amount"]) for row in rows]


class Registry:
    """Stands in for the registry: ``champion`` is the alias ``mlops rollback`` moves; "9" reads other fields."""

    def __init__(self, champion: str = "1", inline: bool = False) -> None:
        self.champion = champion
        self.inline = inline

    def load(self, version: str | None) -> Scorer:
        wanted = version or self.champion
        if wanted == "9":
            return VersionScorer("9", fields=OTHER_FIELDS)
        if wanted not in VERSIONS:
            raise ModelNotFoundError(f"model 'credit' has no version {wanted} in postgresql://user:secret@db/mlflow")  # as the registry says it
        return VersionScorer(wanted, inline=self.inline)


@contextmanager
def running(tmp_path: Path, registry: Registry | None = None, **options: Any) -> Iterator[tuple[httpx.Client, Path]]:
    options.setdefault("admin_token", TOKEN)
    log_folder = tmp_path / "prediction_log"
    sticky = options.pop("sticky_keys", ("dob_ssn",))
    app = create_app([ModelEndpoint("credit", (registry or Registry()).load, log_folder, sticky)], **options)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        yield client, log_folder


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def predict(client: httpx.Client, dob_ssn: str, amount: float = 100.0, request_id: str | None = None) -> str:
    """The version that answered, after checking the body, the header and the score agree on it."""
    body: dict[str, Any] = {"dob_ssn": dob_ssn, "amount": amount}
    if request_id is not None:
        body["request_id"] = request_id
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["model_version"] == response.headers["x-model-version"] == version_of(doc["score"])
    return doc["model_version"]


def admin_error(response: httpx.Response, status: int, field: str | None, needle: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["status"], error["field"]) == (status, field) and needle in error["message"], error


def test_buckets_are_stable_salted_by_version_and_uniform() -> None:
    assert bucket("5", "19800101-123") == bucket("5", "19800101-123")  # the same in every process: no salted hash()
    keys = [f"applicant-{i}" for i in range(20_000)]
    share = sum(bucket("5", k) < BUCKETS // 10 for k in keys) / len(keys)
    assert 0.09 < share < 0.11
    overlap = sum(bucket("5", k) < BUCKETS // 10 and bucket("6", k) < BUCKETS // 10 for k in keys) / len(keys)
    assert overlap < 0.02  # ~1% if independent: a new canary does not reuse the last one's applicants


def test_routing_without_sticky_fields_falls_back_to_the_request_id() -> None:
    routing = Routing(VersionScorer("1"), ("customer_id",)).with_canary(VersionScorer("2"), 50)
    assert routing.sticky_keys == ()
    row = {"dob_ssn": "x", "amount": 1.0}
    picks = {f"req-{i}": routing.pick(row, f"req-{i}").version for i in range(200)}
    assert set(picks.values()) == {"1", "2"}  # the same applicant fields, split by request id
    assert all(routing.pick(row, rid).version == version for rid, version in picks.items())


def test_canary_takes_its_share_of_applicants_and_each_applicant_sticks(tmp_path: Path) -> None:
    applicants = [f"1980{i:04d}-{i * 7919 % 10_000:04d}" for i in range(2000)]
    with running(tmp_path) as (client, log_folder):
        response = client.post("/admin/canary", json={"version": "2", "percent": 10}, headers=AUTH)
        assert response.status_code == 200, response.text
        state = {"model_name": "credit", "model_version": "1", "canary": {"version": "2", "percent": 10}, "shadow": None}
        assert response.json() == state and client.get("/version").json() == state

        first = {a: predict(client, a, request_id=f"first-{a}") for a in applicants}
        share = sum(v == "2" for v in first.values()) / len(applicants)
        assert abs(share - 0.10) <= 0.03, share  # binomial sd is 0.7 points at n=2000
        again = {a: predict(client, a, amount=5.0, request_id=f"again-{a}") for a in applicants[:300]}
        assert again == {a: first[a] for a in applicants[:300]}  # sticky: the same applicant, the same model

        rows = [{"dob_ssn": a, "amount": 1.0} for a in applicants[:40]]
        batch = client.post("/predict/batch", json={"rows": rows})
        assert batch.status_code == 200
        by_row = [p["model_version"] for p in batch.json()["predictions"]]
        assert by_row == [first[a] for a in applicants[:40]] and {"1", "2"} == set(by_row)
        assert batch.json()["model_version"] == batch.headers["x-model-version"] == "1,2"
        assert [version_of(p["score"]) for p in batch.json()["predictions"]] == by_row

        metrics = set(client.get("/metrics").text.splitlines())
        assert 'mlops_canary_percent{model="credit"} 10' in metrics
        assert 'mlops_canary_model_version{model="credit"} 2' in metrics
        canaried = sum(v == "2" for v in first.values()) + sum(v == "2" for v in again.values()) + by_row.count("2")
        assert f'mlops_predictions_total{{model="credit",version="2"}} {canaried}' in metrics

        ramp = client.post("/admin/canary", json={"version": "2", "percent": 25}, headers=AUTH)
        assert ramp.json()["canary"] == {"version": "2", "percent": 25}
        ramped = {a: predict(client, a) for a in applicants[:500]}
        assert all(ramped[a] == "2" for a in applicants[:500] if first[a] == "2")  # raising the share only adds applicants

        off = client.post("/admin/canary", json={"percent": 0}, headers=AUTH)
        assert off.json()["canary"] is None
        assert {predict(client, a) for a in applicants[:200]} == {"1"}
        client.post("/admin/canary", json={"version": "3", "percent": 50}, headers=AUTH)
        assert client.delete("/admin/canary", headers=AUTH).json()["canary"] is None
        assert {predict(client, a) for a in applicants[:200]} == {"1"}
        assert 'mlops_canary_percent{model="credit"} 0' in client.get("/metrics").text.splitlines()

    log = read_prediction_log(log_folder).set_index("request_id")
    for a in applicants:
        assert log.loc[f"first-{a}", "model_version"] == first[a] == version_of(log.loc[f"first-{a}", "score"])


@pytest.mark.parametrize("inline", [False, True], ids=["on-threads", "inline"])
def test_shadow_scores_every_request_into_the_log_while_the_champion_answers(tmp_path: Path, inline: bool) -> None:
    with running(tmp_path, Registry(inline=inline)) as (client, log_folder):
        response = client.post("/admin/shadow", json={"version": "2"}, headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["shadow"] == {"version": "2"} and client.get("/version").json()["shadow"] == {"version": "2"}
        for i in range(150):
            assert predict(client, f"a{i}", amount=float(i), request_id=f"s{i}") == "1"
        batch = client.post("/predict/batch", json={"rows": [{"dob_ssn": "b", "amount": 7.0, "request_id": "sb"}]})
        assert batch.json()["model_version"] == "1"
        scored = 'mlops_shadow_predictions_total{model="credit",version="2",outcome="scored"} 151'
        deadline = time.monotonic() + 5  # the shadow scores after the answer has left: give the last one a moment
        while scored not in (metrics := client.get("/metrics").text.splitlines()) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert scored in metrics and 'mlops_shadow_model_version{model="credit"} 2' in metrics

        assert client.delete("/admin/shadow", headers=AUTH).json()["shadow"] is None
        predict(client, "after", request_id="after")
    log = read_prediction_log(log_folder).set_index("request_id")
    assert len(log) == 152
    shadowed = log.drop(index="after")
    assert (shadowed["model_version"] == "1").all() and (shadowed["shadow_version"] == "2").all()
    amounts = pd.Series({f"s{i}": float(i) for i in range(150)} | {"sb": 7.0})
    assert shadowed["score"].to_dict() == pytest.approx({k: score_of("1", a) for k, a in amounts.items()})
    assert shadowed["shadow_score"].to_dict() == pytest.approx({k: score_of("2", a) for k, a in amounts.items()})
    assert log.loc["after", "shadow_version"] is None and pd.isna(log.loc["after", "shadow_score"])


def test_rollback_reloads_the_registry_champion_and_promotion_ends_the_canary(tmp_path: Path) -> None:
    registry = Registry(champion="2")
    with running(tmp_path, registry) as (client, _):
        client.post("/admin/canary", json={"version": "3", "percent": 10}, headers=AUTH)
        registry.champion = "1"  # what `mlops rollback` does to the alias before calling the route
        response = client.post("/admin/rollback", headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json() == {"model_name": "credit", "model_version": "1", "previous": "2"}
        assert response.headers["x-model-version"] == "1"
        assert client.get("/version").json()["canary"] == {"version": "3", "percent": 10}  # a rollback keeps the canary

        to_two = client.post("/admin/rollback", json={"version": "2"}, headers=AUTH)  # straight to a named version
        assert to_two.status_code == 200 and to_two.json()["model_version"] == "2", to_two.text
        missing = client.post("/admin/rollback", json={"version": "7"}, headers=AUTH)
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "version", missing.text
        assert "no version 7" in missing.text and "still serving version 2" in missing.text and "secret" not in missing.text
        for body, field in (({"version": 2}, "version"), ({"version": "1", "force": True}, "force"), ({"percent": 5}, "percent")):
            refused = client.post("/admin/rollback", json=body, headers=AUTH)
            assert refused.status_code == 422 and refused.json()["error"]["field"] == field, (body, refused.text)
        assert client.get("/version").json()["model_version"] == "2"
        client.post("/admin/rollback", json={"version": "1"}, headers=AUTH)

        client.post("/admin/shadow", json={"version": "3"}, headers=AUTH)
        promoted = client.post("/admin/reload", json={"version": "3"}, headers=AUTH)
        assert promoted.json()["model_version"] == "3"
        state = client.get("/version").json()
        assert (state["canary"], state["shadow"]) == (None, None)  # the challenger won: nothing left to compare


def test_rollout_routes_refuse_bad_requests_and_keep_serving(tmp_path: Path) -> None:
    with running(tmp_path) as (client, _):
        canary = "/admin/canary"
        admin_error(client.post(canary, json={"version": "1", "percent": 10}, headers=AUTH), 409, "version", "champion already")
        admin_error(client.post(canary, json={"version": "9", "percent": 10}, headers=AUTH), 409, "version", "same request")
        admin_error(client.post(canary, json={"version": "7", "percent": 10}, headers=AUTH), 404, "version", "still serving version 1")
        admin_error(client.post(canary, json={"version": "2", "percent": 150}, headers=AUTH), 422, "percent", "0 to 100")
        admin_error(client.post(canary, json={"version": "2", "percent": True}, headers=AUTH), 422, "percent", "True")
        admin_error(client.post(canary, json={"version": "2"}, headers=AUTH), 422, "percent", "None")
        admin_error(client.post(canary, json={"percent": 10}, headers=AUTH), 422, "version", "non-empty string")
        admin_error(client.post("/admin/shadow", json={}, headers=AUTH), 422, "version", "non-empty string")
        admin_error(client.post("/admin/shadow", json={"version": "1"}, headers=AUTH), 409, "version", "champion already")
        admin_error(client.get(canary), 405, None, "GET")
        assert client.get("/version").json() == {"model_name": "credit", "model_version": "1", "canary": None, "shadow": None}
        assert predict(client, "x") == "1"


ADMIN_CALLS = [
    ("POST", "/admin/canary", {"version": "2", "percent": 10}),
    ("DELETE", "/admin/canary", None),
    ("POST", "/admin/shadow", {"version": "2"}),
    ("DELETE", "/admin/shadow", None),
    ("POST", "/admin/rollback", None),
]


def test_rollout_routes_need_the_token_and_an_enabled_admin(tmp_path: Path) -> None:
    with running(tmp_path) as (client, _):
        for method, path, body in ADMIN_CALLS:
            admin_error(client.request(method, path, json=body), 401, None, "Bearer")
            admin_error(client.request(method, path, json=body, headers={"Authorization": "Bearer nope"}), 401, None, "invalid")
        assert client.get("/version").json()["canary"] is None
    with running(tmp_path, admin_token=None) as (client, _):
        for method, path, body in ADMIN_CALLS:
            admin_error(client.request(method, path, json=body, headers=AUTH), 403, None, "admin disabled")


def test_load_with_a_reload_and_a_rollback_in_the_middle_has_no_errors_and_no_mixed_answers(tmp_path: Path) -> None:
    threads, per_thread = 4, 300
    registry = Registry(champion="1")
    with running(tmp_path, registry) as (client, log_folder):
        client.post("/admin/canary", json={"version": "3", "percent": 20}, headers=AUTH)
        client.post("/admin/shadow", json={"version": "4"}, headers=AUTH)

        def request(own: httpx.Client, k: int, i: int) -> tuple[str, str, int, str, str, float]:
            rid, applicant = f"t{k}-{i}", f"applicant-{(k * per_thread + i) % 97}"
            r = own.post("/predict", json={"dob_ssn": applicant, "amount": float(i), "request_id": rid})
            body = r.json()
            header, version = r.headers.get("x-model-version", ""), body.get("model_version", "")
            return rid, applicant, r.status_code, header, version, body.get("score", -1.0)

        flat, [reload, rollback] = under_load(str(client.base_url), threads, per_thread, request, [
            lambda: client.post("/admin/reload", json={"version": "2"}, headers=AUTH),
            lambda: client.post("/admin/rollback", headers=AUTH),
        ])  # fmt: skip
    assert (reload.status_code, rollback.json()) == (200, {"model_name": "credit", "model_version": "1", "previous": "2"})
    assert len(flat) == threads * per_thread
    assert [r for r in flat if r[2] != 200] == []
    assert [r for r in flat if not r[3] == r[4] == version_of(r[5])] == []  # header, body and score agree
    assert {r[4] for r in flat} == {"1", "2", "3"}  # both swaps happened mid-load, with the canary on throughout
    canaried: dict[str, bool] = {}
    for _, applicant, _, _, version, _ in flat:
        assert canaried.setdefault(applicant, version == "3") == (version == "3")  # sticky through both swaps
    log = read_prediction_log(log_folder).set_index("request_id")
    assert len(log) == len(flat)
    for rid, _, _, _, version, score in flat:
        record = log.loc[rid]
        assert (record["model_version"], record["score"], record["shadow_version"]) == (version, score, "4")
        assert version_of(record["shadow_score"]) == "4"
