"""Concept drift: the policy-driven loop ends with better live AUC on the drift than a model never retrained."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import TOKEN


@pytest.mark.integration
def test_retraining_loop_beats_the_frozen_model_on_concept_drift(tmp_path, credit_tables, capsys):
    from domains.credit import APPLICATIONS, CREDIT_MODEL
    from mlops_assets.definitions import build_definitions
    from mlops_assets.demo import demo_models, second_chapter
    from mlops_assets.evaluation.metrics import classification_metrics
    from mlops_assets.features.retrieval import model_inputs
    from mlops_assets.instance import ensure_instance
    from mlops_assets.profile import load_profile
    from mlops_assets.runs import run_job
    from mlops_assets.simulate import write_landing
    from mlops_assets.training.model_io import load_trained
    from resources import resources_for
    from tests.conftest import serving
    from tests.integration.online_parity import CREDIT_FIELDS

    profile = load_profile({"MLOPS_HOME": str(tmp_path / "home"), "MLOPS_ADMIN_TOKEN": TOKEN})
    summary = write_landing(APPLICATIONS, credit_tables, profile.landing_root, days=60)
    models = demo_models((CREDIT_MODEL,))
    defs = build_definitions(models, profile=profile)
    assert run_job(defs, ensure_instance(profile), "pipeline", days=(summary.first_day.isoformat(), summary.last_day.isoformat()), trigger="test").success
    resources = resources_for(profile)
    frozen_version = str(resources["registry"].champion("credit").version)

    with serving(profile, CREDIT_MODEL) as server:
        lines = second_chapter(profile, server.url, {"applications": credit_tables}, {"credit": CREDIT_FIELDS}, models)

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
