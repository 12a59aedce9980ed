"""Deployment stages: the champion gate and the deployed endpoint (which stages a shadow or canary when the spec says so)."""

from datetime import datetime, timezone

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from mlops_assets import keys
from mlops_assets.deployment.gate import GateDecision, decide
from mlops_assets.evaluation.assets import holdout_frame
from mlops_assets.evaluation.metrics import classification_metrics, higher_is_better, slice_metrics
from mlops_assets.provenance import trigger
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.model_io import FEATURES_TAG, FLAVOR_TAG, load_trained
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from resources.serving import EndpointResource

GROUP = "deployment"


def _slice_scores(frame: pd.DataFrame, spec: ModelSpec, score: str) -> dict[str, float]:
    table = slice_metrics(frame, label=spec.label, score=score, slices=[s for s in spec.slices if s in frame.columns])
    return {f"{row.slice}={row.value}": float(row.roc_auc) for row in table.itertuples() if pd.notna(row.roc_auc)}


def champion_comparison(spec: ModelSpec, lake: LakeResource, registry: RegistryResource, candidate: dict) -> GateDecision:
    """Challenger vs the serving champion on the same holdout; vs the baseline for a first model."""
    import json

    evaluation = lake.read_json(spec.name, "evaluation_report.json")
    challenger_score = evaluation["metrics"]["challenger"][spec.metric]
    champion = registry.champion(spec.registered_model)
    common = {"metric": spec.metric, "challenger": challenger_score, "margin": spec.margin,
              "higher_is_better": higher_is_better(spec.metric), "max_slice_regression": spec.max_slice_regression}
    if champion is None or str(champion.version) == str(candidate["version"]):
        return decide(reference=evaluation["metrics"]["baseline"][spec.metric], reference_name="baseline", **common)
    holdout = holdout_frame(lake, spec)
    features = json.loads(champion.tags[FEATURES_TAG])
    absent = [f for f in features if f not in holdout.columns]
    if absent:
        raise dg.Failure(f"champion v{champion.version} needs features {absent} the new training set lacks; compare by hand or retire it")
    registry.client()
    incumbent = load_trained(f"models:/{spec.registered_model}/{champion.version}", flavor=champion.tags[FLAVOR_TAG], features=features)
    challenger = load_trained(candidate["model_uri"], flavor=candidate["flavor"], features=candidate["features"])
    scored = holdout.assign(champion=incumbent.predict(holdout), challenger=challenger.predict(holdout))
    reference = classification_metrics(scored[spec.label], scored["champion"])[spec.metric]
    new, old = _slice_scores(scored, spec, "challenger"), _slice_scores(scored, spec, "champion")
    deltas = {name: new[name] - old[name] for name in new.keys() & old.keys()}
    return decide(reference=reference, reference_name=f"champion v{champion.version}", slice_deltas=deltas, **common)


def champion_gate_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("champion_gate", GROUP),
        deps=[keys.model_key(spec.name, "evaluation_report")],
        kinds={"mlflow"},
        description=f"Promote the {spec.name} challenger only if it beats the champion by {spec.margin} {spec.metric}.",
    )
    def champion_gate(context: AssetExecutionContext, lake: LakeResource, registry: RegistryResource) -> dg.MaterializeResult:
        candidate = lake.read_json(spec.name, "candidate_model.json")
        decision = champion_comparison(spec, lake, registry, candidate)
        record = {
            **decision.as_tags(),
            "gate.trigger": trigger(context),
            "gate.dagster_run_id": context.run.run_id,
            "gate.decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        registry.tag_version(spec.registered_model, candidate["version"], record)
        lake.write_json({"version": candidate["version"], "promote": decision.promote, **record}, spec.name, "champion_gate.json")
        context.log.info(f"gate for v{candidate['version']}: {record['gate.decision']}: {decision.reason}")
        return dg.MaterializeResult(
            metadata={
                "decision": dg.MetadataValue.text(record["gate.decision"]),
                "reason": dg.MetadataValue.text(decision.reason),
                "challenger_version": dg.MetadataValue.text(candidate["version"]),
                "challenger": dg.MetadataValue.float(decision.challenger),
                "reference": dg.MetadataValue.float(decision.reference),
                "reference_name": dg.MetadataValue.text(decision.reference_name),
                "trigger": dg.MetadataValue.text(record["gate.trigger"]),
                **registry.links(run_id=candidate["run_id"], model=spec.registered_model, version=candidate["version"]),
            }
        )

    return champion_gate


def stage_challenger(context: AssetExecutionContext, spec: ModelSpec, registry: RegistryResource, endpoint: EndpointResource, version: str) -> str:
    """Start the gated challenger as the server's shadow or canary; rollout_decision ends the experiment."""
    if endpoint.running(spec.name) is None:
        return f"v{version} passed the gate and waits for a running server to start its {spec.rollout} (`mlops serve`, then rematerialize)"
    started = endpoint.start_experiment(spec.name, spec.rollout, version, spec.canary_percent)
    registry.tag_version(spec.registered_model, version, {
        "rollout.mode": spec.rollout,
        "rollout.started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "rollout.decision": "running",
        "rollout.started_by": trigger(context),
    })  # fmt: skip
    return started


def deployed_endpoint_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("deployed_endpoint", GROUP),
        deps=[keys.model_key(spec.name, "champion_gate"), keys.ONLINE_FEATURES],
        kinds={"mlflow"},
        description=f"Registry alias `champion` of {spec.name} and the running server following it. {spec.description}".strip(),
    )
    def deployed_endpoint(
        context: AssetExecutionContext, lake: LakeResource, registry: RegistryResource, endpoint: EndpointResource
    ) -> dg.MaterializeResult:
        gate = lake.read_json(spec.name, "champion_gate.json")
        # a first model has nothing to be compared with on traffic: it is promoted whatever the rollout
        staged = gate["promote"] and spec.rollout != "gate" and registry.champion(spec.registered_model) is not None
        if gate["promote"] and not staged:
            registry.set_champion(spec.registered_model, gate["version"], by=trigger(context), reason=gate["gate.reason"])
        champion = registry.champion(spec.registered_model)
        if champion is None:
            raise dg.Failure(f"{spec.name} has no champion: the first model was refused ({gate['gate.reason']})")
        served = endpoint.follow(spec.name, str(champion.version))
        if staged:
            served += "; " + stage_challenger(context, spec, registry, endpoint, gate["version"])
        context.log.info(f"{spec.name}: champion v{champion.version}; server: {served}")
        return dg.MaterializeResult(
            metadata={
                "champion_version": dg.MetadataValue.text(str(champion.version)),
                "promoted_this_run": dg.MetadataValue.bool(bool(gate["promote"]) and not staged),
                "rollout": dg.MetadataValue.text(spec.rollout),
                "gate_reason": dg.MetadataValue.text(gate["gate.reason"]),
                "server": dg.MetadataValue.text(served),
                **registry.links(run_id=champion.run_id, model=spec.registered_model, version=str(champion.version)),
            }
        )

    return deployed_endpoint
