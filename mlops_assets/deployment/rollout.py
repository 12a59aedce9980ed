"""Deciding a canary or shadow on logged traffic: pure functions, so the rules are tested without a server.

A shadow scores the very requests the champion answered, so the two are compared pair by pair
on the same callers; a canary answers its own share of callers, so each arm is scored on
its own traffic since the canary started. Only requests whose outcome has arrived count, and
no decision is taken before each arm has ``min_outcomes`` of them (with both classes present):
until then the answer is "wait" and the experiment keeps running.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from mlops_assets.deployment.gate import GateDecision, decide
from mlops_assets.evaluation.metrics import classification_metrics, higher_is_better

MODES = ("shadow", "canary")
PROMOTE, END, WAIT = "promote", "end", "wait"


@dataclass(frozen=True)
class Arm:
    """One model's side of the comparison: how many labelled requests, its metric on them, its latency."""

    version: str
    requests: int
    outcomes: int
    metric: float | None
    latency_p99_ms: float | None


@dataclass(frozen=True)
class TrafficComparison:
    mode: str
    metric: str
    champion: Arm
    challenger: Arm
    score_mean_abs_diff: float | None  # shadow only: how far the two models' scores are apart on the same requests

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RolloutDecision:
    action: str  # PROMOTE | END | WAIT
    reason: str
    gate: GateDecision | None  # the margin rule's verdict, once there were enough outcomes


def compare_on_traffic(
    log: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    mode: str,
    champion: str,
    challenger: str,
    label: str,
    metric: str,
    since: datetime | None = None,
) -> TrafficComparison:
    """Both models' ``metric`` on the logged requests whose outcome is known.

    ``log`` is the prediction log (request_id, ts, model_version, score, latency_ms,
    shadow_version, shadow_score); ``outcomes`` holds request_id and ``label``; ``since``
    drops requests from before the experiment started.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if since is not None and len(log):
        log = log[pd.to_datetime(log["ts"], utc=True) >= pd.Timestamp(since)]
    known = outcomes[["request_id", label]].drop_duplicates("request_id", keep="last")
    if mode == "shadow":
        paired = log[(log["model_version"].astype(str) == champion) & (log["shadow_version"].astype(str) == challenger)]
        paired = paired[paired["shadow_score"].notna()]
        labelled = paired.merge(known, on="request_id", how="inner")
        gap = float(np.mean(np.abs(paired["score"] - paired["shadow_score"]))) if len(paired) else None
        return TrafficComparison(
            mode, metric,
            _arm(champion, paired, labelled, "score", label, metric, latency=True),
            _arm(challenger, paired, labelled, "shadow_score", label, metric, latency=False),
            gap,
        )  # fmt: skip
    arms = []
    for version in (champion, challenger):
        served = log[log["model_version"].astype(str) == version]
        arms.append(_arm(version, served, served.merge(known, on="request_id", how="inner"), "score", label, metric, latency=True))
    return TrafficComparison(mode, metric, arms[0], arms[1], None)


def decide_rollout(comparison: TrafficComparison, *, margin: float, min_outcomes: int) -> RolloutDecision:
    """Promote when the challenger beats the champion by ``margin`` on live outcomes; end it when it does not."""
    short = [arm for arm in (comparison.champion, comparison.challenger) if arm.outcomes < min_outcomes or arm.metric is None]
    if short:
        counts = ", ".join(f"v{arm.version} {arm.outcomes}" for arm in (comparison.champion, comparison.challenger))
        return RolloutDecision(WAIT, f"not enough outcomes yet ({counts}; each arm needs {min_outcomes} with both classes)", None)
    gate = decide(
        metric=comparison.metric,
        challenger=float(comparison.challenger.metric),  # type: ignore[arg-type]
        reference=float(comparison.champion.metric),  # type: ignore[arg-type]
        reference_name=f"champion v{comparison.champion.version} on the same {comparison.mode} traffic",
        margin=margin,
        higher_is_better=higher_is_better(comparison.metric),
    )
    return RolloutDecision(PROMOTE if gate.promote else END, gate.reason, gate)


def _arm(version: str, served: pd.DataFrame, labelled: pd.DataFrame, score: str, label: str, metric: str, *, latency: bool) -> Arm:
    value = None
    if len(labelled) and labelled[label].nunique() == 2:
        value = classification_metrics(labelled[label].to_numpy(), labelled[score].to_numpy())[metric]
    p99 = float(served["latency_ms"].quantile(0.99)) if latency and len(served) else None
    return Arm(version, int(len(served)), int(len(labelled)), value, p99)
