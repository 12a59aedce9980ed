"""Rollout rules on synthetic logged traffic: pairs for a shadow, arms for a canary, and waiting for outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mlops_assets.deployment.rollout import END, PROMOTE, WAIT, compare_on_traffic, decide_rollout
from mlops_assets.deployment.rollout_asset import running_challenger

START = datetime(2026, 1, 1, tzinfo=UTC)


def traffic(n: int, *, seed: int = 0, champion_noise: float = 1.5, challenger_noise: float = 0.5):
    """Requests with a true label; a score is the label's signal plus noise: less noise, better model."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    signal = label * 1.0

    def score(noise: float) -> np.ndarray:
        return 1 / (1 + np.exp(-(signal - 0.5 + rng.normal(0, noise, n)) * 3))

    ids = [f"r{i}" for i in range(n)]
    outcomes = pd.DataFrame({"request_id": ids, "loan_status": label})
    return ids, score(champion_noise), score(challenger_noise), outcomes


def shadow_log(n: int, **kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids, champion, challenger, outcomes = traffic(n, **kw)
    log = pd.DataFrame({
        "request_id": ids, "ts": [START + timedelta(seconds=i) for i in range(n)], "model_version": "1", "score": champion,
        "latency_ms": 0.3, "shadow_version": "2", "shadow_score": challenger,
    })  # fmt: skip
    return log, outcomes


def compare(log, outcomes, mode="shadow", **kw):
    return compare_on_traffic(log, outcomes, mode=mode, champion="1", challenger="2", label="loan_status", metric="roc_auc", **kw)


def test_a_better_shadow_is_promoted_on_the_same_requests():
    log, outcomes = shadow_log(600)
    comparison = compare(log, outcomes)
    assert comparison.champion.outcomes == comparison.challenger.outcomes == 600
    assert comparison.challenger.metric > comparison.champion.metric + 0.05
    assert comparison.score_mean_abs_diff > 0
    decision = decide_rollout(comparison, margin=0.002, min_outcomes=200)
    assert decision.action == PROMOTE and "beats champion v1" in decision.reason


def test_a_worse_shadow_is_ended():
    log, outcomes = shadow_log(600, champion_noise=0.5, challenger_noise=1.5)
    decision = decide_rollout(compare(log, outcomes), margin=0.002, min_outcomes=200)
    assert decision.action == END and "does not beat" in decision.reason


def test_no_decision_until_each_arm_has_enough_outcomes():
    log, outcomes = shadow_log(600)
    few = outcomes.head(150)  # the other outcomes are still due
    decision = decide_rollout(compare(log, few), margin=0.002, min_outcomes=200)
    assert decision.action == WAIT and "v1 150, v2 150" in decision.reason and decision.gate is None
    one_class = outcomes.assign(loan_status=0)
    assert decide_rollout(compare(log, one_class), margin=0.002, min_outcomes=200).action == WAIT


def test_a_shadow_pair_counts_only_requests_the_shadow_scored():
    log, outcomes = shadow_log(600)
    log.loc[:99, "shadow_score"] = None  # skipped: the shadow was behind
    log.loc[100:199, "shadow_version"] = "3"  # another experiment's requests
    comparison = compare(log, outcomes)
    assert comparison.champion.requests == comparison.challenger.requests == 400


def test_a_canary_compares_each_arm_on_its_own_traffic_since_it_started():
    ids, champion, challenger, outcomes = traffic(1000, seed=1)
    served_by = np.where(np.arange(1000) % 5 == 0, "2", "1")  # 20 % canary
    before = 200  # the first 200 requests predate the canary: all champion
    served_by[:before] = "1"
    log = pd.DataFrame({
        "request_id": ids, "ts": [START + timedelta(seconds=i) for i in range(1000)], "model_version": served_by,
        "score": np.where(served_by == "2", challenger, champion), "latency_ms": np.where(served_by == "2", 0.5, 0.3),
        "shadow_version": None, "shadow_score": None,
    })  # fmt: skip
    comparison = compare(log, outcomes, mode="canary", since=START + timedelta(seconds=before))
    assert comparison.champion.requests == 640 and comparison.challenger.requests == 160
    assert comparison.challenger.latency_p99_ms == pytest.approx(0.5) and comparison.score_mean_abs_diff is None
    assert decide_rollout(comparison, margin=0.002, min_outcomes=100).action == PROMOTE
    assert decide_rollout(comparison, margin=0.002, min_outcomes=200).action == WAIT  # 160 canary outcomes are too few


def test_the_running_experiment_is_read_from_the_server_state():
    assert running_challenger(None) is None
    assert running_challenger({"model_version": "1", "canary": None, "shadow": None}) is None
    assert running_challenger({"model_version": "1", "canary": None, "shadow": {"version": "4"}}) == ("shadow", "4")
    assert running_challenger({"model_version": "1", "canary": {"version": "5", "percent": 10}, "shadow": None}) == ("canary", "5")
    with pytest.raises(ValueError, match="mode"):
        compare(*shadow_log(10), mode="blue-green")
