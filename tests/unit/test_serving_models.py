"""One server, several models: each under /models/<name>, its own versions, log, metrics and admin routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlops_assets.serving.app import ModelEndpoint, create_app
from mlops_assets.serving.contract import FieldSpec, Scorer
from mlops_assets.serving.prediction_log import read_prediction_log
from mlops_assets.serving.server import BackgroundServer

TOKEN = "multi-model-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Constant:
    """Scores every row with a number that names the model and the version."""

    model_name: str
    version: str
    fields: tuple[FieldSpec, ...]
    inline: bool = True

    def score(self, rows: list[dict[str, Any]]) -> list[float]:
        return [(0.1 if self.model_name == "loans" else 0.2) + int(self.version) / 100 for _ in rows]


def loader(name: str, fields: tuple[FieldSpec, ...], champion: str | None = "1"):
    def load(version: str | None) -> Scorer:
        wanted = version or champion
        if wanted is None:
            raise LookupError(f"registered model {name!r} has no champion yet")
        return Constant(name, wanted, fields)

    return load


LOANS = (FieldSpec("amount", "float", minimum=0), FieldSpec("applicant", "str"))
GRANTS = (FieldSpec("resource", "int", minimum=0),)


@contextmanager
def running(tmp_path: Path, *endpoints: ModelEndpoint) -> Iterator[httpx.Client]:
    app = create_app(list(endpoints), admin_token=TOKEN)
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        yield client


def endpoints(tmp_path: Path, grants_champion: str | None = "1") -> list[ModelEndpoint]:
    return [
        ModelEndpoint("loans", loader("loans", LOANS), tmp_path / "loans", ("applicant",)),
        ModelEndpoint("grants", loader("grants", GRANTS, grants_champion), tmp_path / "grants"),
    ]


def test_each_model_answers_under_its_own_prefix_with_its_own_fields_and_log(tmp_path: Path) -> None:
    with running(tmp_path, *endpoints(tmp_path)) as client:
        loan = client.post("/models/loans/predict", json={"amount": 5.0, "applicant": "a", "request_id": "l1"})
        grant = client.post("/models/grants/predict/batch", json={"rows": [{"resource": 3, "request_id": "g1"}, {"resource": 4}]})
        assert loan.json() | {"score": round(loan.json()["score"], 6)} == {"request_id": "l1", "score": 0.11, "model_name": "loans", "model_version": "1"}
        assert [p["score"] for p in grant.json()["predictions"]] == pytest.approx([0.21, 0.21]) and grant.json()["model_name"] == "grants"
        wrong = client.post("/models/grants/predict", json={"amount": 5.0, "applicant": "a"})  # a loan sent to the other model
        assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "resource"
        assert client.post("/predict", json={"resource": 3}).status_code == 404  # two models: the path must name one
        listed = client.get("/models").json()["models"]
        assert set(listed) == {"loans", "grants"} and listed["grants"]["url"] == "/models/grants"
        assert listed["loans"]["fields"] == [{"name": "amount", "kind": "float", "minimum": 0}, {"name": "applicant", "kind": "str"}]
        assert client.get("/ready").json() == {"status": "ready", "models": {"loans": "1", "grants": "1"}}
        metrics = client.get("/metrics").text
    assert 'mlops_predictions_total{model="grants",version="1"} 2' in metrics
    assert 'mlops_served_model_version{model="loans"} 1' in metrics and 'route="/models/grants/predict/batch"' in metrics
    assert set(read_prediction_log(tmp_path / "loans")["request_id"]) == {"l1"}
    assert set(read_prediction_log(tmp_path / "grants")["model_name"]) == {"grants"}


def test_a_reload_swaps_one_model_and_leaves_the_other(tmp_path: Path) -> None:
    with running(tmp_path, *endpoints(tmp_path)) as client:
        swapped = client.post("/models/grants/admin/reload", json={"version": "2"}, headers=AUTH)
        assert swapped.json() == {"model_name": "grants", "model_version": "2", "previous": "1"}
        assert client.get("/models/grants/version").json()["model_version"] == "2"
        assert client.get("/models/loans/version").json()["model_version"] == "1"
        assert client.post("/models/loans/admin/canary", json={"version": "3", "percent": 10}, headers=AUTH).status_code == 200
        assert client.get("/models/grants/version").json()["canary"] is None


def test_one_model_without_a_champion_does_not_stop_the_other(tmp_path: Path) -> None:
    with running(tmp_path, *endpoints(tmp_path, grants_champion=None)) as client:
        assert client.post("/models/loans/predict", json={"amount": 1.0, "applicant": "b"}).status_code == 200
        down = client.post("/models/grants/predict", json={"resource": 1})
        assert down.status_code == 503 and "grants" in down.json()["error"]["message"]
        ready = client.get("/ready")
        assert ready.status_code == 503 and "grants: could not load the champion of grants" in ready.json()["error"]["message"]
        assert client.get("/models/loans/ready").status_code == 200
        assert client.post("/models/grants/admin/reload", json={"version": "1"}, headers=AUTH).status_code == 200
        assert client.get("/ready").status_code == 200


def test_model_names_are_distinct(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="each name once"):
        create_app([ModelEndpoint("m", loader("m", GRANTS), tmp_path), ModelEndpoint("m", loader("m", GRANTS), tmp_path)], admin_token=None)
