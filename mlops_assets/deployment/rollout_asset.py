"""The rollout decision: the running shadow or canary against the champion on logged traffic, acted upon."""

from datetime import datetime, timezone
from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets import keys
from mlops_assets.deployment.rollout import END, PROMOTE, TrafficComparison, compare_on_traffic, decide_rollout
from mlops_assets.monitoring.assets import outcomes
from mlops_assets.provenance import trigger
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from resources.serving import EndpointResource

GROUP = "rollout"  # kept out of the `pipeline` job: it decides on traffic, on its own schedule


def running_challenger(state: dict[str, Any] | None) -> tuple[str, str] | None:
    """(mode, version) of the experiment the server runs, from its /version state; None when there is none."""
    if state is None:
        return None
    for mode in ("canary", "shadow"):
        if state.get(mode):
            return mode, str(state[mode]["version"])
    return None


def rollout_decision_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("rollout_decision", GROUP),
        deps=[keys.model_key(spec.name, "prediction_log"), spec.source.key("validated_labels")],
        kinds={"mlflow"},
        description=(
            f"The {spec.name} shadow or canary vs the champion on logged traffic with known outcomes: "
            f"promoted when it wins by {spec.margin} {spec.metric}, ended when it does not, kept running while outcomes are few."
        ),
    )
    def rollout_decision(
        context: AssetExecutionContext, lake: LakeResource, registry: RegistryResource, endpoint: EndpointResource
    ) -> dg.MaterializeResult:
        state = endpoint.experiment(spec.name)
        running = running_challenger(state)
        if state is None or running is None:
            status = "no server running" if state is None else f"the server runs no shadow or canary (champion v{state['model_version']})"
            context.log.info(f"{spec.name}: nothing to decide: {status}")
            return dg.MaterializeResult(metadata={"action": dg.MetadataValue.text("none"), "status": dg.MetadataValue.text(status)})
        mode, challenger = running
        champion = str(state["model_version"])
        started = registry.version(spec.registered_model, challenger).tags.get("rollout.started_at")
        log_path = lake.path(spec.name, "prediction_log", "part.parquet")
        log = pd.read_parquet(log_path) if log_path.exists() else pd.DataFrame(columns=["request_id", "ts", "model_version", "score", "latency_ms", "shadow_version", "shadow_score"])
        comparison = compare_on_traffic(
            log, outcomes(lake, spec).to_pandas(), mode=mode, champion=champion, challenger=challenger,
            label=spec.label, metric=spec.metric, since=datetime.fromisoformat(started) if started else None,
        )  # fmt: skip
        decision = decide_rollout(comparison, margin=spec.margin, min_outcomes=spec.rollout_min_outcomes)
        by = trigger(context)
        if decision.action == PROMOTE:
            registry.set_champion(spec.registered_model, challenger, by=by, reason=f"{mode} on live traffic: {decision.reason}")
            server = endpoint.follow(spec.name, challenger)  # the server ends an experiment whose version becomes champion
        elif decision.action == END:
            server = endpoint.end_experiment(spec.name, mode)
        else:
            server = f"{mode} of v{challenger} keeps running"
        record = {
            "rollout.decision": {PROMOTE: "promoted", END: "ended"}.get(decision.action, "running"),
            "rollout.reason": decision.reason,
            "rollout.mode": mode,
            "rollout.champion": champion,
            "rollout.outcomes": f"{comparison.champion.outcomes}/{comparison.challenger.outcomes}",
            "rollout.decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rollout.decided_by": by,
            "rollout.dagster_run_id": context.run.run_id,
        }
        registry.tag_version(spec.registered_model, challenger, record)
        lake.write_json({"challenger": challenger, "action": decision.action, **record, "comparison": comparison.as_record()}, spec.name, "rollout_decision.json")
        context.log.info(f"{spec.name} {mode} v{challenger} vs champion v{champion}: {decision.action}: {decision.reason}")
        return dg.MaterializeResult(metadata={
            "action": dg.MetadataValue.text(decision.action),
            "reason": dg.MetadataValue.text(decision.reason),
            "mode": dg.MetadataValue.text(mode),
            "champion_version": dg.MetadataValue.text(champion),
            "challenger_version": dg.MetadataValue.text(challenger),
            "comparison": dg.MetadataValue.md(_table(comparison)),
            "server": dg.MetadataValue.text(server),
            "trigger": dg.MetadataValue.text(by),
            **registry.links(model=spec.registered_model, version=challenger),
        })  # fmt: skip

    return rollout_decision


def _table(comparison: TrafficComparison) -> str:
    rows = [
        {"role": role, "version": arm.version, "requests": arm.requests, "with outcome": arm.outcomes,
         comparison.metric: arm.metric, "latency p99 ms": arm.latency_p99_ms}
        for role, arm in (("champion", comparison.champion), ("challenger", comparison.challenger))
    ]  # fmt: skip
    table = pd.DataFrame(rows).to_markdown(index=False, floatfmt=".4f")
    if comparison.score_mean_abs_diff is not None:
        table += f"\n\nmean |champion - shadow| score on the same requests: {comparison.score_mean_abs_diff:.4f}"
    return table
