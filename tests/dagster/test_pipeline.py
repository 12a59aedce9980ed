"""The whole graph, materialized for real: registry, report, alias, live server, bad batches."""

from __future__ import annotations

import json
import math

import httpx
import pandas as pd
import pytest

from mlops_assets import keys
from mlops_assets.credit import CREDIT_MODEL
from mlops_assets.runs import run_job
from mlops_assets.simulate.landing import landing_path
from resources import resources_for

from tests.conftest import Pipeline

STAGES = ["training_set", "candidate_model", "evaluation_report", "champion_gate", "deployed_endpoint"]


def record(pipeline: Pipeline, name: str) -> dict:
    return json.loads((pipeline.profile.lake_root / "credit" / f"{name}.json").read_text())


def registry(pipeline: Pipeline):
    return resources_for(pipeline.profile)["registry"]


def request_from(row: pd.Series) -> dict:
    fields = ["person_age", "person_income", "person_home_ownership", "person_emp_length", "loan_intent", "loan_amnt", "loan_int_rate", "zipcode", "dob_ssn"]
    return json.loads(row[fields].to_json())


def test_one_run_materializes_every_stage(pipeline: Pipeline):
    assert pipeline.result.success
    done = {e.asset_key for e in pipeline.result.get_asset_materialization_events()}
    expected = {keys.RAW_APPLICATIONS, keys.VALIDATED_APPLICATIONS, keys.QUARANTINED_APPLICATIONS, keys.LABELLED_EVENTS,
                keys.FEATURE_VIEWS, keys.ONLINE_FEATURES, *(keys.model_key("credit", s) for s in STAGES)}
    assert expected <= done
    checks = [e.event_specific_data for e in pipeline.result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert checks and all(c.passed for c in checks)


def test_registered_version_carries_its_provenance(pipeline: Pipeline):
    import mlflow

    candidate = record(pipeline, "candidate_model")
    version = registry(pipeline).version("credit", candidate["version"])
    tags = version.tags
    assert tags["dagster_run_id"] == pipeline.result.run_id
    assert tags["feature_service"] == "credit_model_v1"
    assert tags["trigger"] == "test"
    assert len(tags["training_set_hash"]) == 16
    assert tags["git_sha"]
    # outcomes trail applications by the 7-day label delay: the newest labelled loan is 7 days old
    assert pd.Timestamp(tags["data_window.holdout_end"]).date() == (pd.Timestamp(pipeline.days[1]) - pd.Timedelta(days=7)).date()
    assert pd.Timestamp(tags["data_window.train_start"]) < pd.Timestamp(tags["data_window.holdout_start"])
    profile = mlflow.artifacts.load_text(tags["reference_profile"])
    assert '"features"' in profile and "int_rate" in profile  # drift reference stored with the model
    info = mlflow.models.get_model_info(candidate["model_uri"])
    assert info.signature is not None and info.saved_input_example_info is not None
    run = mlflow.get_run(candidate["run_id"])
    assert run.data.tags["dagster_run_id"] == pipeline.result.run_id
    assert run.info.status == "FINISHED"  # dagster-mlflow's hook ended it


def test_champion_alias_points_at_the_gated_version(pipeline: Pipeline):
    candidate = record(pipeline, "candidate_model")
    champion = registry(pipeline).champion("credit")
    assert str(champion.version) == candidate["version"]
    assert champion.tags["gate.decision"] == "promoted"
    assert champion.tags["gate.reference_name"] == "baseline"
    assert float(champion.tags["gate.challenger"]) > float(champion.tags["gate.reference"])
    history = registry(pipeline).history("credit")
    assert history[-1]["version"] == candidate["version"] and history[-1]["by"] == "test"


def test_report_metrics_are_sane_and_auc_clears_080(pipeline: Pipeline):
    metrics = record(pipeline, "evaluation_report")["metrics"]["challenger"]
    for name in ("roc_auc", "pr_auc", "brier", "ece"):
        assert 0.0 <= metrics[name] <= 1.0, name
    assert math.isfinite(metrics["log_loss"]) and metrics["log_loss"] > 0
    assert metrics["roc_auc"] >= 0.80
    print(f"\nholdout ROC-AUC {metrics['roc_auc']:.4f} on {metrics['n']} loans")


def test_report_is_attached_to_dagster_and_mlflow(pipeline: Pipeline):
    event = pipeline.instance.get_latest_materialization_event(keys.model_key("credit", "evaluation_report"))
    metadata = event.asset_materialization.metadata
    assert "data:image/png;base64," in metadata["report"].value
    assert 0.8 <= metadata["roc_auc"].value <= 1.0
    run_id = record(pipeline, "candidate_model")["run_id"]
    names = {a.path for a in registry(pipeline).client().list_artifacts(run_id, "evaluation")}
    assert {"evaluation/report.md", "evaluation/roc.png", "evaluation/calibration.png"} <= names


def test_live_server_answers_with_the_champion(pipeline: Pipeline, server):
    champion = str(registry(pipeline).champion("credit").version)
    holdout = pd.read_parquet(pipeline.profile.lake_root / "credit" / "training_set" / "part.parquet").query("_split == 'holdout'")
    valid = holdout[(holdout.person_age <= 100) & (holdout.person_emp_length <= 60)]
    reply = httpx.post(f"{server.url}/predict", json=request_from(valid.iloc[0]))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model_version"] == champion == reply.headers["x-model-version"]
    assert 0.0 < body["score"] < 1.0
    unknown = httpx.post(f"{server.url}/predict", json={**request_from(valid.iloc[0]), "zipcode": 1})
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "zipcode"


def test_served_scores_equal_the_offline_model_on_the_same_rows(pipeline: Pipeline, server):
    """No training/serving skew: online features + encoder give the offline features' score."""
    from mlops_assets.training.model_io import load_trained

    candidate = record(pipeline, "candidate_model")
    frame = pd.read_parquet(pipeline.profile.lake_root / "credit" / "training_set" / "part.parquet")
    rows = frame[(frame.person_age <= 100) & (frame.person_emp_length <= 60)].sample(25, random_state=1)
    registry(pipeline).client()
    model = load_trained(candidate["model_uri"], flavor=candidate["flavor"], features=candidate["features"])
    offline = model.predict(rows)
    online = [httpx.post(f"{server.url}/predict", json=request_from(r)).json()["score"] for _, r in rows.iterrows()]
    assert online == pytest.approx(list(offline), abs=1e-9)


def bad_batch(pipeline: Pipeline, kind: str) -> pd.DataFrame:
    last = pd.read_parquet(landing_path(pipeline.profile.landing_root, "applications", pd.Timestamp(pipeline.days[1]).date()))
    frame = last.head(40).copy()
    frame["loan_id"] = frame["loan_id"] + 1_000_000
    if kind == "missing_column":
        return frame.drop(columns=["loan_int_rate"])
    frame["person_income"] = frame["person_income"].astype("float64")
    frame.loc[frame.index[:10], "person_income"] = None
    frame.loc[frame.index[10:20], "person_age"] = 150
    return frame


@pytest.mark.parametrize("kind, offset, reason", [("nulls_and_ranges", 1, "person_income is null"), ("missing_column", 2, "loan_int_rate")])
def test_bad_batch_is_blocked_quarantined_and_the_champion_keeps_serving(pipeline: Pipeline, server, kind, offset, reason):
    client = registry(pipeline)
    before = str(client.champion("credit").version)
    day = (pd.Timestamp(pipeline.days[1]) + pd.Timedelta(days=offset)).date()
    frame = bad_batch(pipeline, kind)
    path = landing_path(pipeline.profile.landing_root, "applications", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)

    result = run_job(pipeline.defs, pipeline.instance, "pipeline", days=(day.isoformat(), day.isoformat()), trigger="test")

    assert not result.success
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.event_specific_data.check_name == "applications_meet_expectations"]
    assert len(checks) == 1 and not checks[0].passed
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert keys.model_key("credit", "candidate_model") not in done and keys.LABELLED_EVENTS not in done
    quarantined = pd.read_parquet(pipeline.profile.lake_root / "quarantined_applications" / f"date={day}" / "part.parquet")
    assert len(quarantined) == len(frame)  # nothing dropped
    assert quarantined["_reason"].str.contains(reason).any()
    assert pd.read_parquet(pipeline.profile.lake_root / "validated_applications" / f"date={day}" / "part.parquet").empty
    assert str(client.champion("credit").version) == before
    assert httpx.get(f"{server.url}/version").json()["model_version"] == before
    ok = httpx.post(f"{server.url}/predict", json=request_from(pd.read_parquet(pipeline.profile.lake_root / "labelled_events" / "part.parquet").query("person_age <= 100 and person_emp_length <= 60").iloc[0]))
    assert ok.status_code == 200 and ok.json()["model_version"] == before
