"""Shadow rollout for real: the deployment asset stages a challenger on a running server, traffic is logged,
and the rollout decision promotes or ends it on the outcomes of that traffic.

A model of its own (``rollout_demo``, copies of the session champion) keeps the credit model untouched.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import httpx
import pandas as pd

from mlops_assets import keys
from domains.credit import CREDIT_MODEL
from mlops_assets.definitions import build_definitions
from mlops_assets.provenance import TRIGGER_TAG
from mlops_assets.runs import run_job
from resources import resources_for

from tests.conftest import Pipeline, serving
from tests.integration.online_parity import request_rows

NAME = "rollout_demo"
LOG_FLUSH_S = 2.0  # the server's log writer flushes every second


def labelled_requests(pipeline: Pipeline, n: int, skip: int) -> list[dict]:
    """Requests for loans whose outcome is known, with request_id = the loan id, as the credit client sends."""
    events = pd.read_parquet(pipeline.profile.lake_root / "labelled_applications" / "part.parquet").iloc[skip : skip + n]
    return [{**row, "request_id": str(loan)} for row, loan in zip(request_rows(events), events["loan_id"])]


def stage(pipeline: Pipeline, defs, version: str) -> dict:
    """What the pipeline's deployment step does after the gate passed ``version``: start its shadow."""
    run_id = str(uuid.uuid4())  # the gate's record goes where this run's deployment step reads it (mlops_assets.handover)
    resources_for(pipeline.profile)["lake"].write_json(
        {"version": version, "serve_version": version, "promote": True, "gate.decision": "promoted", "gate.reason": "passed the offline gate (test)"},
        NAME, "runs", run_id, "champion_gate.json",
    )
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=pipeline.instance, asset_selection=[keys.model_key(NAME, "deployed_endpoint")], tags={TRIGGER_TAG: "test-rollout"}, run_id=run_id
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def send(url: str, requests: list[dict]) -> None:
    with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        for body in requests:
            reply = client.post("/predict", json=body)
            assert reply.status_code == 200, reply.text
    time.sleep(LOG_FLUSH_S)


def test_shadow_is_staged_then_promoted_or_ended_on_logged_outcomes(pipeline: Pipeline):
    registry = resources_for(pipeline.profile)["registry"]
    client = registry.client()
    champion = registry.champion(CREDIT_MODEL.registered_model)
    client.create_registered_model(NAME)
    for _ in range(3):  # v1 serves; v2 and v3 will be shadows: same model, so equal scores
        client.create_model_version(NAME, champion.source, run_id=champion.run_id, tags=champion.tags)
    registry.set_champion(NAME, "1", by="test", reason="setup")
    # margin 0: a challenger that only equals the champion is promoted; margin 0.01: it is ended
    equal_wins = replace(CREDIT_MODEL, name=NAME, rollout="shadow", margin=0.0, rollout_min_outcomes=150)
    equal_loses = replace(equal_wins, margin=0.01)

    with serving(pipeline.profile, equal_wins) as server:
        defs = build_definitions((equal_wins,), profile=pipeline.profile)
        staged = stage(pipeline, defs, "2")
        assert staged["promoted_this_run"] is False and "runs v2 as its shadow" in staged["server"]
        assert httpx.get(f"{server.url}/version", trust_env=False).json()["shadow"] == {"version": "2"}
        assert str(registry.champion(NAME).version) == "1"  # passing the gate is not enough in shadow mode

        send(server.url, labelled_requests(pipeline, 100, skip=0))
        waiting = run_job(defs, pipeline.instance, equal_wins.rollout_job, trigger="test-rollout")
        assert waiting.success
        decision = resources_for(pipeline.profile)["lake"].read_json(NAME, "rollout_decision.json")
        assert decision["action"] == "wait" and "each arm needs 150" in decision["rollout.reason"]

        send(server.url, labelled_requests(pipeline, 200, skip=100))
        promoted = run_job(defs, pipeline.instance, equal_wins.rollout_job, trigger="test-rollout")
        assert promoted.success
        decision = resources_for(pipeline.profile)["lake"].read_json(NAME, "rollout_decision.json")
        assert decision["action"] == "promote", decision
        assert decision["comparison"]["challenger"]["outcomes"] == 300
        assert decision["comparison"]["score_mean_abs_diff"] == 0.0  # a copy scores exactly like the champion
        assert str(registry.champion(NAME).version) == "2"
        moved = registry.history(NAME)[-1]
        assert moved["version"] == "2" and moved["by"] == "test-rollout" and "shadow on live traffic" in moved["reason"]
        state = httpx.get(f"{server.url}/version", trust_env=False).json()
        assert state["model_version"] == "2" and state["shadow"] is None  # the server followed and ended the shadow
        assert registry.version(NAME, "2").tags["rollout.decision"] == "promoted"

        defs = build_definitions((equal_loses,), profile=pipeline.profile)
        stage(pipeline, defs, "3")
        send(server.url, labelled_requests(pipeline, 200, skip=300))
        ended = run_job(defs, pipeline.instance, equal_loses.rollout_job, trigger="test-rollout")
        assert ended.success
        decision = resources_for(pipeline.profile)["lake"].read_json(NAME, "rollout_decision.json")
        assert decision["action"] == "end" and "does not beat" in decision["rollout.reason"]
        assert decision["comparison"]["challenger"]["outcomes"] == 200  # only traffic since v3's shadow started
        assert str(registry.champion(NAME).version) == "2"
        assert httpx.get(f"{server.url}/version", trust_env=False).json()["shadow"] is None
        assert registry.version(NAME, "3").tags["rollout.decision"] == "ended"


def test_without_an_experiment_the_decision_is_a_no_op(pipeline: Pipeline, server):
    defs = build_definitions(profile=pipeline.profile)
    result = run_job(defs, pipeline.instance, CREDIT_MODEL.rollout_job, trigger="test-rollout")
    assert result.success
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == keys.model_key("credit", "rollout_decision")]
    assert event.materialization.metadata["action"].value == "none"
    assert "runs no shadow or canary" in event.materialization.metadata["status"].value
