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

    defs = build_definitions(load_profile({"MLOPS_HOME": str(tmp_path)}))
    graph = defs.resolve_asset_graph()
    names = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"raw_applications", "validated_applications", "quarantined_applications", "labelled_events", "feature_views",
            "online_features", "credit/training_set", "credit/candidate_model", "credit/evaluation_report",
            "credit/champion_gate", "credit/deployed_endpoint", "credit/prediction_log"} <= names
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"ingest", "pipeline", "credit_retrain", "credit_prediction_log"}
    blocking = {c.name for c in graph.asset_check_keys}
    assert {"applications_meet_expectations", "online_matches_offline"} <= blocking


def test_a_second_model_is_one_more_spec(tmp_path):
    """The factory knows no model by name: a second spec merges beside the credit model."""
    import dagster as dg

    from mlops_assets import ModelSpec, build_model_assets, keys
    from mlops_assets.definitions import build_definitions
    from mlops_assets.profile import load_profile

    second = ModelSpec(name="credit_challenger", feature_service="credit_model_v1", label="loan_status",
                       entity_keys=("zipcode", "dob_ssn"), holdout_days=21, params={"num_leaves": 15})
    defs = dg.Definitions.merge(build_definitions(load_profile({"MLOPS_HOME": str(tmp_path)})), build_model_assets(second))
    graph = defs.resolve_asset_graph()
    assert keys.model_key("credit_challenger", "deployed_endpoint") in graph.get_all_asset_keys()
    assert graph.get(keys.model_key("credit_challenger", "training_set")).parent_keys >= {keys.LABELLED_EVENTS, keys.FEATURE_VIEWS}
    assert "credit_challenger_retrain" in {j.name for j in defs.resolve_all_job_defs()}
