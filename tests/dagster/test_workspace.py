"""The UI's entry point: workspace.yaml loads the project's Definitions in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dagster_validates_the_workspace(tmp_path):
    env = {**os.environ, "MLOPS_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).with_name("dagster")
    out = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr


def test_definitions_hold_the_graph_jobs_and_checks(tmp_path):
    from mlops_assets.definitions import build_definitions
    from mlops_assets.profile import load_profile

    defs = build_definitions(profile=load_profile({"MLOPS_HOME": str(tmp_path)}))
    graph = defs.resolve_asset_graph()
    names = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_applications", "validated_applications", "quarantined_applications", "applications_labels", "labelled_applications",
            "raw_access_requests", "labelled_access_requests", "resource_history", "feature_views", "online_features",
            "credit/training_set", "credit/candidate_model", "credit/evaluation_report", "credit/champion_gate", "credit/deployed_endpoint",
            "credit/prediction_log", "access/deployed_endpoint", "access/prediction_log"} <= names  # fmt: skip
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"applications_ingest", "access_requests_ingest", "pipeline", "credit_retrain",
                                                           "access_retrain", "credit_prediction_log"}  # fmt: skip
    blocking = {c.name for c in graph.asset_check_keys}
    assert {"applications_meet_expectations", "access_requests_meet_expectations", "online_matches_offline"} <= blocking
    ingest = defs.resolve_job_def("access_requests_ingest")
    assert {k.to_user_string() for k in ingest.asset_layer.selected_asset_keys} >= {
        "raw_access_requests", "labelled_access_requests", "resource_history", "online_features", "access/drift_report",
        "access/live_performance", "access/prediction_log"}
    assert not any(k.to_user_string().startswith("credit/") for k in ingest.asset_layer.selected_asset_keys)


def test_a_user_model_is_one_more_spec(tmp_path):
    """The factory knows no model by name: a user's spec builds beside the shipped ones, every one kept."""
    from dataclasses import replace

    from domains import MODELS
    from domains.credit import CREDIT_MODEL
    from mlops_assets import build_definitions, keys, load_profile

    second = replace(CREDIT_MODEL, name="credit_challenger", holdout_days=21, params={"num_leaves": 15})
    defs = build_definitions([*MODELS, second], profile=load_profile({"MLOPS_HOME": str(tmp_path)}))
    graph = defs.resolve_asset_graph()
    for model in ("credit", "access", "credit_challenger"):
        assert keys.model_key(model, "deployed_endpoint") in graph.get_all_asset_keys()
    assert graph.get(keys.model_key("credit_challenger", "training_set")).parent_keys >= {CREDIT_MODEL.events, keys.FEATURE_VIEWS}
    assert "credit_challenger_retrain" in {j.name for j in defs.resolve_all_job_defs()}


def test_every_asset_has_kinds_a_description_and_its_owners(tmp_path):
    """The catalog's filters: kinds and a description everywhere; a spec's owners on its assets; shared assets owned by every source."""
    from domains import MODELS
    from domains.credit import CREDIT_MODEL
    from mlops_assets import keys
    from mlops_assets.definitions import build_definitions
    from mlops_assets.profile import load_profile
    from mlops_assets.spec_checks import sources_of

    owners = {source.name: set(source.owners) for source in sources_of(MODELS)}
    owners |= {model.name: set(model.owners) for model in MODELS}
    everyone = set().union(*owners.values())
    graph = build_definitions(profile=load_profile({"MLOPS_HOME": str(tmp_path)})).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node, name = graph.get(key), key.to_user_string()
        assert node.kinds and node.description, name
        spec = node.tags.get("mlops/model") or node.tags.get("mlops/source")
        assert set(node.owners) == (owners[spec] if spec else everyone), name
    candidate = graph.get(keys.model_key("credit", "candidate_model"))
    assert candidate.kinds >= {"lightgbm", "scikit-learn", "mlflow"}  # from the spec's trainers
    assert CREDIT_MODEL.description in candidate.description
