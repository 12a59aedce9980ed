"""The whole graph of both domains, materialized for real: registry, report, alias, live server, bad batches."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pandas as pd
import pytest

from domains.access_requests import ACCESS_MODEL
from domains.credit import CREDIT_MODEL
from mlops_assets import keys
from mlops_assets.runs import run_job
from mlops_assets.simulate.landing import landing_path
from resources import resources_for
from tests.conftest import Pipeline

STAGES = ["training_set", "candidate_model", "evaluation_report", "champion_gate", "deployed_endpoint"]
MODELS = [CREDIT_MODEL, ACCESS_MODEL]
BY_NAME = pytest.mark.parametrize("spec", MODELS, ids=[m.name for m in MODELS])


def record(pipeline: Pipeline, name: str, model: str = "credit") -> dict:
    """What a stage of the session's pipeline run handed to the next (mlops_assets.handover)."""
    return json.loads((pipeline.profile.lake_root / model / "runs" / pipeline.result.run_id / f"{name}.json").read_text())


def materialization(pipeline: Pipeline, key) -> dict:
    """The metadata of ``key``'s materialization in the session's pipeline run (later tests retrain too)."""
    [event] = [e for e in pipeline.result.get_asset_materialization_events() if e.asset_key == key]
    return event.materialization.metadata


def registry(pipeline: Pipeline):
    return resources_for(pipeline.profile)["registry"]


def served_fields(server, spec) -> list[str]:
    """The request fields the server validates for a model, as it lists them."""
    return [f["name"] for f in httpx.get(f"{server.url}/models").json()["models"][spec.name]["fields"]]


def valid_rows(frame: pd.DataFrame, spec) -> pd.DataFrame:
    """Rows the contract accepts (the real loans hold a few ages and job lengths out of range)."""
    ok = pd.Series(True, index=frame.index)
    for column in spec.source.columns:
        if column.name in frame and column.maximum is not None:
            ok &= frame[column.name] <= column.maximum
    return frame[ok]


def request_from(row: pd.Series, fields: list[str]) -> dict:
    return json.loads(row[fields].to_json())


def test_one_run_materializes_every_stage_of_both_domains(pipeline: Pipeline):
    assert pipeline.result.success
    done = {e.asset_key for e in pipeline.result.get_asset_materialization_events()}
    for spec in MODELS:
        source = spec.source
        expected = {source.key("raw"), source.key("validated"), source.key("quarantined"), source.key("labels"), source.key("validated_labels"),
                    source.key("quarantined_labels"), source.key("labelled"),
                    *(t.key for t in source.feature_tables), *(keys.model_key(spec.name, s) for s in STAGES)}  # fmt: skip
        assert expected <= done, expected - done
    assert {keys.FEATURE_VIEWS, keys.ONLINE_FEATURES} <= done
    checks = [e.event_specific_data for e in pipeline.result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert {c.check_name for c in checks} == {"applications_meet_expectations", "access_requests_meet_expectations", "online_matches_offline",
                                              "landing_files_readable", "applications_labels_meet_expectations",
                                              "access_requests_labels_meet_expectations"}  # fmt: skip
    assert all(c.passed for c in checks)


@BY_NAME
def test_registered_version_carries_its_provenance(pipeline: Pipeline, spec):
    import mlflow

    candidate = record(pipeline, "candidate_model", spec.name)
    version = registry(pipeline).version(spec.name, candidate["version"])
    tags = version.tags
    assert tags["dagster_run_id"] == pipeline.result.run_id
    assert tags["feature_service"] == spec.feature_service
    assert tags["trigger"] == "test"
    assert len(tags["training_set_hash"]) == 16
    assert tags["git_sha"]
    # outcomes trail events by the label delay: the newest labelled event is that many days old
    last_day = pipeline.landed[spec.source.name].last_day
    assert pd.Timestamp(tags["data_window.holdout_end"]).date() == last_day - pd.Timedelta(days=spec.source.labels.delay_days)
    assert pd.Timestamp(tags["data_window.train_start"]) < pd.Timestamp(tags["data_window.holdout_start"])
    assert tags["trained_through"] == tags["data_window.train_end"]  # the challenger never saw its holdout
    training_set = pipeline.training_set(spec.name)
    assert int(tags["train_rows"]) == int((training_set["_split"] == "train").sum())
    profile = json.loads(mlflow.artifacts.load_text(tags["reference_profile"]))
    assert [f["name"] for f in profile["features"]] == candidate["features"]  # this model's drift reference, not the other's
    info = mlflow.models.get_model_info(candidate["model_uri"])
    assert info.signature is not None and info.saved_input_example_info is not None
    run = mlflow.get_run(candidate["run_id"])  # the model's own child run of the Dagster run's MLflow run
    assert run.data.tags["dagster_run_id"] == pipeline.result.run_id and run.data.tags["model"] == spec.name
    assert run.info.status == "FINISHED"
    parent = mlflow.get_run(run.data.tags["mlflow.parentRunId"])
    assert parent.data.tags["dagster_run_id"] == pipeline.result.run_id and parent.info.status == "FINISHED"  # dagster-mlflow's hook ended it


@BY_NAME
def test_champion_is_the_gated_version_refit_on_its_holdout_days_too(pipeline: Pipeline, spec):
    candidate = record(pipeline, "candidate_model", spec.name)
    gate = record(pipeline, "champion_gate", spec.name)
    champion = registry(pipeline).champion(spec.name)
    assert gate["version"] == candidate["version"] and str(champion.version) == gate["serve_version"] != candidate["version"]
    assert champion.tags["refit_of"] == candidate["version"] and champion.tags["trained_through"] == champion.tags["data_window.holdout_end"]
    training_set = pipeline.training_set(spec.name)
    assert int(champion.tags["train_rows"]) == len(training_set)  # every row, the holdout's included
    assert registry(pipeline).version(spec.name, candidate["version"]).tags["refit_as"] == gate["serve_version"]
    assert champion.tags["gate.decision"] == "promoted"
    assert champion.tags["gate.reference_name"] == "baseline"
    assert float(champion.tags["gate.challenger"]) > float(champion.tags["gate.reference"])
    history = registry(pipeline).history(spec.name)
    assert history[-1]["version"] == gate["serve_version"] and history[-1]["by"] == "test"


@pytest.mark.parametrize(("spec", "floor"), [(CREDIT_MODEL, 0.80), (ACCESS_MODEL, 0.75)], ids=["credit", "access"])
def test_report_metrics_are_sane_and_auc_clears_the_floor(pipeline: Pipeline, spec, floor):
    metrics = record(pipeline, "evaluation_report", spec.name)["metrics"]
    for name in ("roc_auc", "pr_auc", "brier", "ece"):
        assert 0.0 <= metrics["challenger"][name] <= 1.0, name
    assert math.isfinite(metrics["challenger"]["log_loss"]) and metrics["challenger"]["log_loss"] > 0
    assert metrics["challenger"]["roc_auc"] >= floor
    print(f"\n{spec.name}: holdout ROC-AUC {metrics['challenger']['roc_auc']:.4f} (baseline {metrics['baseline']['roc_auc']:.4f}) "
          f"on {metrics['challenger']['n']} events")  # fmt: skip


def test_report_is_attached_to_dagster_and_mlflow(pipeline: Pipeline):
    metadata = materialization(pipeline, keys.model_key("credit", "evaluation_report"))
    assert "data:image/png;base64," in metadata["report"].value
    assert 0.8 <= metadata["roc_auc"].value <= 1.0
    plots = metadata["dagster/column_schema"].value.columns  # what the asset page shows without a click (decision 0007)
    assert [c.name for c in plots] == ["roc", "pr", "calibration", "slices"]
    assert all(c.description.startswith(f"![{c.name}](data:image/png;base64,") for c in plots)
    run_id = record(pipeline, "candidate_model")["run_id"]
    names = {a.path for a in registry(pipeline).client().list_artifacts(run_id, "evaluation")}
    assert {"evaluation/report.md", "evaluation/roc.png", "evaluation/calibration.png"} <= names


@BY_NAME
def test_model_assets_link_to_their_mlflow_run_and_registry_version(pipeline: Pipeline, spec):
    import mlflow

    candidate = record(pipeline, "candidate_model", spec.name)
    ui = pipeline.profile.mlflow_ui_url
    run = f"{ui}/#/experiments/{mlflow.get_run(candidate['run_id']).info.experiment_id}/runs/{candidate['run_id']}"
    version = f"{ui}/#/models/{spec.registered_model}/versions/{candidate['version']}"
    for stage in ("candidate_model", "evaluation_report", "champion_gate"):
        metadata = materialization(pipeline, keys.model_key(spec.name, stage))
        assert (metadata["mlflow_run"].url, metadata["registry_version"].url) == (run, version), stage
    champion = registry(pipeline).version(spec.name, record(pipeline, "champion_gate", spec.name)["serve_version"])  # the refit
    metadata = materialization(pipeline, keys.model_key(spec.name, "deployed_endpoint"))
    assert metadata["registry_version"].url == f"{ui}/#/models/{spec.registered_model}/versions/{champion.version}"
    assert metadata["mlflow_run"].url.endswith(f"/runs/{champion.run_id}")


@BY_NAME
def test_live_server_answers_with_the_champion(pipeline: Pipeline, server, spec):
    champion = str(registry(pipeline).champion(spec.name).version)
    holdout = pipeline.training_set(spec.name).query("_split == 'holdout'")
    fields = served_fields(server, spec)
    assert set(fields) >= set(spec.entity_keys)
    row = request_from(valid_rows(holdout, spec).iloc[0], fields)
    reply = httpx.post(f"{server.url}/models/{spec.name}/predict", json=row)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["model_version"] == champion == reply.headers["x-model-version"] and body["model_name"] == spec.name
    assert 0.0 < body["score"] < 1.0
    assert httpx.post(f"{server.url}/predict", json=row).status_code == 404  # two models: no root route, the path names one


def test_an_unknown_required_entity_is_the_clients_error_and_an_unknown_optional_one_is_missing(pipeline: Pipeline, server):
    frame = valid_rows(pipeline.training_set("credit"), CREDIT_MODEL)
    row = request_from(frame.iloc[0], served_fields(server, CREDIT_MODEL))
    unknown = httpx.post(f"{server.url}/models/credit/predict", json={**row, "zipcode": 1})
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "zipcode"
    access = pipeline.training_set("access")
    new_resource = {**request_from(access.iloc[0], served_fields(server, ACCESS_MODEL)), "resource": 999_999_999}
    assert httpx.post(f"{server.url}/models/access/predict", json=new_resource).status_code == 200  # no history yet: features missing


@BY_NAME
def test_served_scores_equal_the_offline_model_on_the_same_rows(pipeline: Pipeline, server, spec):
    """No training/serving skew: online features + the on-demand view give the offline features' score."""
    from mlops_assets.training.model_io import load_trained

    champion = registry(pipeline).champion(spec.name)  # what the server serves: the gated candidate, refit
    frame = pipeline.training_set(spec.name)
    # the newest rows: their entities' stored features are the latest ones, which the online store serves
    rows = valid_rows(frame, spec).sort_values(spec.event_time).tail(200).sample(25, random_state=1)
    registry(pipeline).client()
    model = load_trained(f"models:/{spec.name}/{champion.version}", flavor=champion.tags["flavor"], features=json.loads(champion.tags["features"]))
    offline = model.predict(rows)
    fields = served_fields(server, spec)
    online = [httpx.post(f"{server.url}/models/{spec.name}/predict", json=request_from(r, fields)).json()["score"] for _, r in rows.iterrows()]
    if spec is ACCESS_MODEL:  # histories grow after each event: compare with the features as of now, not as of the event
        online_features = offline_as_of_now(pipeline, spec, rows)
        offline = model.predict(online_features)
    assert online == pytest.approx(list(offline), abs=1e-9)


def offline_as_of_now(pipeline: Pipeline, spec, rows: pd.DataFrame) -> pd.DataFrame:
    """The rows' features looked up at the time the online store was materialized (now), through Feast offline."""
    from mlops_assets.features.retrieval import model_inputs

    now = rows.assign(**{spec.event_time: pd.Timestamp.now(tz="UTC")})
    store = resources_for(pipeline.profile)["feast"].store()
    return model_inputs(store, spec, now).set_index(spec.id_column).loc[rows[spec.id_column]].reset_index()


def bad_batch(pipeline: Pipeline, kind: str, offset: int) -> pd.DataFrame:
    last = pd.read_parquet(landing_path(pipeline.profile.landing_root, "applications", pipeline.landed["applications"].last_day))
    frame = last.head(40).copy()
    frame["loan_id"] = frame["loan_id"] + 1_000_000
    for column in ("event_timestamp", "created_timestamp"):  # moved onto the day it lands under
        frame[column] += pd.Timedelta(days=offset)
    if kind == "missing_column":
        return frame.drop(columns=["loan_int_rate"])
    frame["person_income"] = frame["person_income"].astype("float64")
    frame.loc[frame.index[:10], "person_income"] = None
    frame.loc[frame.index[10:20], "person_age"] = 150
    return frame


@pytest.mark.parametrize("kind, offset, reason", [("nulls_and_ranges", 1, "person_income is null"), ("missing_column", 2, "loan_int_rate")])
def test_bad_batch_is_blocked_quarantined_and_the_champion_keeps_serving(pipeline: Pipeline, server, kind, offset, reason):
    import dagster as dg

    client = registry(pipeline)
    before = str(client.champion("credit").version)
    day = pipeline.landed["applications"].last_day + pd.Timedelta(days=offset)
    frame = bad_batch(pipeline, kind, offset)
    path = landing_path(pipeline.profile.landing_root, "applications", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)

    credit = (dg.AssetSelection.tag("mlops/source", "applications") - dg.AssetSelection.groups("monitoring", "rollout")).resolve(
        pipeline.defs.resolve_asset_graph())  # the pipeline job, for the credit domain only
    result = run_job(pipeline.defs, pipeline.instance, "pipeline", days=(day.isoformat(), day.isoformat()), trigger="test", assets=credit)

    assert not result.success
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.event_specific_data.check_name == "applications_meet_expectations"]
    assert len(checks) == 1 and not checks[0].passed
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert keys.model_key("credit", "candidate_model") not in done and CREDIT_MODEL.events not in done
    quarantined = pd.read_parquet(pipeline.profile.lake_root / "quarantined_applications" / f"date={day}" / "part.parquet")
    if kind == "missing_column":  # the file breaks the schema: quarantined whole, as a file, and the day has nothing usable
        manifest = json.loads((pipeline.profile.lake_root / "quarantine" / "files" / "raw_applications" / f"date={day}" / "manifest.json").read_text())
        assert [Path(r["path"]).name for r in manifest] == [path.name] and f"missing column(s) {reason}" in manifest[0]["reason"]
        assert quarantined.empty and "was quarantined as a file" in checks[0].description
    else:
        assert len(quarantined) == len(frame)  # nothing dropped
        assert quarantined["_reason"].str.contains(reason).any()
    assert pd.read_parquet(pipeline.profile.lake_root / "validated_applications" / f"date={day}" / "part.parquet").empty
    assert str(client.champion("credit").version) == before
    assert httpx.get(f"{server.url}/models/credit/version").json()["model_version"] == before
    events = valid_rows(pd.read_parquet(pipeline.profile.lake_root / "labelled_applications" / "part.parquet"), CREDIT_MODEL)
    ok = httpx.post(f"{server.url}/models/credit/predict", json=request_from(events.iloc[0], served_fields(server, CREDIT_MODEL)))
    assert ok.status_code == 200 and ok.json()["model_version"] == before
