"""Concept drift: the policy-driven loop ends with better live AUC on the drift than a model never retrained."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from tests.conftest import TOKEN


@pytest.mark.integration
def test_retraining_loop_beats_the_frozen_model_on_concept_drift(tmp_path, credit_dir, capsys):
    from mlops_assets.credit import CREDIT_MODEL
    from mlops_assets.definitions import build_definitions
    from mlops_assets.demo import second_chapter
    from mlops_assets.demo_story import DEMO_MODEL
    from mlops_assets.evaluation.metrics import classification_metrics
    from mlops_assets.features.retrieval import model_inputs
    from mlops_assets.instance import ensure_instance
    from mlops_assets.profile import load_profile
    from mlops_assets.runs import run_job
    from mlops_assets.serving.app import create_app
    from mlops_assets.serving.scorer import scorer_loader
    from mlops_assets.serving.server import BackgroundServer
    from mlops_assets.simulate import load_credit_risk, write_landing
    from mlops_assets.training.model_io import load_trained
    from resources import resources_for
    from resources.serving import prediction_log_folder, server_state_file

    profile = load_profile({"MLOPS_HOME": str(tmp_path / "home"), "MLOPS_ADMIN_TOKEN": TOKEN})
    summary = write_landing(load_credit_risk(credit_dir), profile.landing_root, days=60)
    defs = build_definitions(profile, models=[DEMO_MODEL])
    assert run_job(defs, ensure_instance(profile), "pipeline", days=(summary.first_day.isoformat(), summary.last_day.isoformat()), trigger="test").success
    resources = resources_for(profile)
    frozen_version = str(resources["registry"].champion("credit").version)

    app = create_app(scorer_loader(profile, CREDIT_MODEL), admin_token=TOKEN, log_folder=prediction_log_folder(profile.serving_root, "credit"))
    state = server_state_file(profile.serving_root, "credit")
    with BackgroundServer(app) as server:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"pid": os.getpid(), "url": server.url}))
        lines = second_chapter(profile, server.url)

    # drifted weeks whose outcomes have arrived: live (served) scores vs the frozen v1 on the same loans
    live = pd.concat(pd.read_parquet(p / "part.parquet") for p in sorted((profile.lake_root / "credit" / "live_performance").glob("date=*")))
    drift_start = str(pd.Timestamp(summary.last_day) + pd.Timedelta(days=8))  # week 1 is stable
    apps = pd.concat(pd.read_parquet(p) for p in sorted((profile.landing_root / "applications").glob("date=*/*.parquet")) if p.parent.name[5:] >= drift_start[:10])
    apps = apps[apps["loan_id"].astype(str).isin(live["request_id"])]
    drifted = live[live["request_id"].isin(apps["loan_id"].astype(str))]
    frozen = load_trained(f"models:/credit/{frozen_version}", flavor="lightgbm", features=json.loads(resources["registry"].version("credit", frozen_version).tags["features"]))
    inputs = model_inputs(resources["feast"].store(), CREDIT_MODEL, apps)
    frozen_scores = pd.Series(frozen.predict(inputs), index=inputs["loan_id"].astype(str))
    labels = drifted.set_index("request_id")["loan_status"]
    live_auc = classification_metrics(labels, drifted.set_index("request_id")["score"])["roc_auc"]
    frozen_auc = classification_metrics(labels, frozen_scores.loc[labels.index])["roc_auc"]
    served = sorted(drifted["model_version"].unique())
    day = apps.set_index(apps["loan_id"].astype(str))["event_timestamp"].dt.strftime("%Y-%m-%d")
    last_week = labels.index[day.loc[labels.index] > str(pd.Timestamp(max(day.loc[labels.index])) - pd.Timedelta(days=7))[:10]]
    last_live = classification_metrics(labels[last_week], drifted.set_index("request_id").loc[last_week, "score"])["roc_auc"]
    last_frozen = classification_metrics(labels[last_week], frozen_scores.loc[last_week])["roc_auc"]
    with capsys.disabled():
        print("\n" + "\n".join(lines))
        print(f"concept drift, {len(labels)} labelled loans: live AUC {live_auc:.4f} (versions {served}) vs never retrained v{frozen_version} {frozen_auc:.4f}")
        print(f"last drifted week, {len(last_week)} loans: live {last_live:.4f} vs never retrained {last_frozen:.4f}")
    assert len(served) > 1 or served != [frozen_version], "the loop never promoted a retrained model"
    assert live_auc > frozen_auc
    assert last_live > last_frozen
