"""Deployment stages: the champion gate and the deployed endpoint (which stages a shadow or canary when the spec says so)."""

from datetime import datetime, timezone
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from mlops_assets import keys
from mlops_assets.deployment.gate import GateDecision, comparison_rows, decide, rows_fingerprint, wait
from mlops_assets.evaluation.assets import holdout_frame
from mlops_assets.handover import read_stage, read_training_set, run_folder, write_stage
from mlops_assets.evaluation.metrics import classification_metrics, higher_is_better, slice_metrics
from mlops_assets.provenance import trigger
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.assets import fit_and_register, trained_through
from mlops_assets.training.model_io import FEATURES_TAG, FLAVOR_TAG, load_trained
from resources.lake import LakeResource
from resources.mlflow import RegistryResource
from resources.serving import EndpointResource

GROUP = "deployment"


def _slice_scores(frame: pd.DataFrame, spec: ModelSpec, score: str) -> dict[str, float]:
    """ROC-AUC per slice value, only where the slice holds ``gate_min_per_class`` of each outcome, as the whole comparison must."""
    table = slice_metrics(frame, label=spec.label, score=score, slices=[s for s in spec.slices if s in frame.columns],
                          min_per_class=spec.gate_min_per_class)  # fmt: skip
    return {f"{row.slice}={row.value}": float(row.roc_auc) for row in table.itertuples() if pd.notna(row.roc_auc)}


def gate_terms(spec: ModelSpec) -> dict[str, Any]:
    """The spec's terms every gate decision is taken on: metric, margin, its direction, the slice tolerance."""
    return {"metric": spec.metric, "margin": spec.margin, "higher_is_better": higher_is_better(spec.metric),
            "max_slice_regression": spec.max_slice_regression}  # fmt: skip


def compare_on_rows(spec: ModelSpec, rows: pd.DataFrame, champion: Any, challenger: Any, *, reference_name: str,
                    used: dict[str, str] | None = None) -> GateDecision:  # fmt: skip
    """Both models scored on ``rows`` (labelled rows neither was trained on): the metric, each slice, `decide`.

    The continuous-training benchmark calls this too, so the replayed gate is this one.
    """
    scored = rows.assign(champion=champion.predict(rows), challenger=challenger.predict(rows))
    score = {side: classification_metrics(scored[spec.label], scored[side])[spec.metric] for side in ("champion", "challenger")}
    new, old = _slice_scores(scored, spec, "challenger"), _slice_scores(scored, spec, "champion")
    deltas = {name: new[name] - old[name] for name in new.keys() & old.keys()}
    return decide(challenger=score["challenger"], reference=score["champion"], reference_name=reference_name,
                  slice_deltas=deltas, rows=used, **gate_terms(spec))


def champion_comparison(spec: ModelSpec, lake: LakeResource, registry: RegistryResource, candidate: dict, evaluation: dict) -> GateDecision:
    """Challenger vs the serving champion on holdout rows neither was trained on; vs the baseline for a first model."""
    import json

    common = gate_terms(spec)
    champion = registry.champion(spec.registered_model)
    if champion is None or str(champion.version) == str(candidate["version"]):
        metrics = evaluation["metrics"]  # both fitted on the same training rows, compared on the holdout after them
        return decide(challenger=metrics["challenger"][spec.metric], reference=metrics["baseline"][spec.metric], reference_name="baseline", **common)
    reference_name = f"champion v{champion.version}"
    holdout = holdout_frame(lake, spec, candidate["training_set_run"])
    fair = comparison_rows(
        holdout[spec.event_time], holdout[spec.label],
        challenger_through=trained_through(registry.version(spec.registered_model, candidate["version"]).tags),
        champion_through=trained_through(champion.tags), min_rows=spec.gate_min_rows, min_per_class=spec.gate_min_per_class,
    )
    rows = holdout[fair.mask]
    used = {"count": str(len(rows)), "after": str(fair.after), "ids_sha": rows_fingerprint(rows[spec.id_column]) if len(rows) else ""}
    if len(rows):
        used |= {"from": str(rows[spec.event_time].min()), "to": str(rows[spec.event_time].max())}
    if fair.wait:
        return wait(reason=fair.wait, metric=spec.metric, reference_name=reference_name, margin=spec.margin, rows=used)
    features = json.loads(champion.tags[FEATURES_TAG])
    absent = [f for f in features if f not in rows.columns]
    if absent:
        raise dg.Failure(f"champion v{champion.version} needs features {absent} the new training set lacks; compare by hand or retire it")
    registry.client()
    incumbent = load_trained(f"models:/{spec.registered_model}/{champion.version}", flavor=champion.tags[FLAVOR_TAG], features=features)
    challenger = load_trained(candidate["model_uri"], flavor=candidate["flavor"], features=candidate["features"])
    return compare_on_rows(spec, rows, incumbent, challenger, reference_name=reference_name, used=used)


def refit(context: AssetExecutionContext, spec: ModelSpec, lake: LakeResource, registry: RegistryResource, candidate: dict, gate_tags: dict) -> str:
    """The passed challenger refit on every row of its training set, holdout days included, with the same parameters."""
    frame = read_training_set(lake, spec, candidate["training_set_run"])
    challenger = registry.version(spec.registered_model, candidate["version"]).tags
    inherited = {k: v for k, v in challenger.items() if k.startswith(("data_window.", "feature_service", "training_set", "git_sha", "trigger", "model"))}
    tags = {**inherited, **gate_tags, "dagster_run_id": context.run.run_id, "refit_of": candidate["version"],
            "refit.params": "same as the challenger (ModelSpec.params, seed)", "refit.rows": "train + holdout"}
    context.log.info(f"refitting {spec.name} v{candidate['version']} on all {len(frame)} rows (holdout days included)")
    record = fit_and_register(spec, frame, candidate["features"], registry=registry, run_name=f"{spec.name}-refit", tags=tags, baseline=False)
    registry.tag_version(spec.registered_model, candidate["version"], {"refit_as": record["version"]})
    return record["version"]


def champion_gate_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    @dg.asset(
        **spec.asset_attributes("champion_gate", GROUP),
        deps=[keys.model_key(spec.name, "evaluation_report")],
        kinds={"mlflow"},
        description=f"Promote the {spec.name} challenger only if it beats the champion by {spec.margin} {spec.metric}.",
    )
    def champion_gate(
        context: AssetExecutionContext, lake: LakeResource, registry: RegistryResource, mlflow: dg.ResourceParam[Any]
    ) -> dg.MaterializeResult:
        evaluation = read_stage(context, lake, spec, "evaluation_report")
        candidate = lake.read_json(*run_folder(spec, evaluation["candidate_run"]), "candidate_model.json")
        decision = champion_comparison(spec, lake, registry, candidate, evaluation)
        record = {
            **decision.as_tags(),
            "gate.trigger": trigger(context),
            "gate.dagster_run_id": context.run.run_id,
            "gate.decided_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        registry.tag_version(spec.registered_model, candidate["version"], record)
        serve = refit(context, spec, lake, registry, candidate, record) if decision.promote and spec.refit_after_gate else candidate["version"]
        write_stage(lake, spec, context.run.run_id, "champion_gate",
                    {"version": candidate["version"], "serve_version": serve, "promote": decision.promote, **record})
        context.log.info(f"gate for v{candidate['version']}: {record['gate.decision']}: {decision.reason}")
        return dg.MaterializeResult(
            metadata={
                "decision": dg.MetadataValue.text(record["gate.decision"]),
                "reason": dg.MetadataValue.text(decision.reason),
                "challenger_version": dg.MetadataValue.text(candidate["version"]),
                "serve_version": dg.MetadataValue.text(serve),
                "compared_rows": dg.MetadataValue.json(decision.rows or {"on": "the whole holdout (first model vs baseline)"}),
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
        gate = read_stage(context, lake, spec, "champion_gate")
        # a first model has nothing to be compared with on traffic: it is promoted whatever the rollout
        staged = gate["promote"] and spec.rollout != "gate" and registry.champion(spec.registered_model) is not None
        if gate["promote"] and not staged:
            registry.set_champion(spec.registered_model, gate["serve_version"], by=trigger(context), reason=gate["gate.reason"])
        champion = registry.champion(spec.registered_model)
        if champion is None:
            raise dg.Failure(f"{spec.name} has no champion: the first model was {gate['gate.decision']} ({gate['gate.reason']})")
        served = endpoint.follow(spec.name, str(champion.version))
        if staged:
            served += "; " + stage_challenger(context, spec, registry, endpoint, gate["serve_version"])
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
