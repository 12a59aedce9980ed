"""The leakage a demo showed: after the champion is trained, a retrain with a longer holdout reaches into days
the champion was trained on. The old gate compared the two there (the champion scored 0.9066 on days it had
seen, the challenger 0.2769) and refused; the gate now compares only on rows neither has seen, and waits.
"""

from __future__ import annotations

import json
from dataclasses import replace

from domains.access_requests import ACCESS_MODEL
from domains.credit import CREDIT_MODEL
from mlops_assets.definitions import build_definitions
from mlops_assets.runs import run_job
from resources import resources_for
from sensors.retrain import retrain_history
from tests.conftest import Pipeline


def test_a_retrain_whose_holdout_overlaps_the_champions_training_waits_and_keeps_the_champion(pipeline: Pipeline):
    registry = resources_for(pipeline.profile)["registry"]
    before = registry.champion(CREDIT_MODEL.name)
    refused_before = retrain_history(pipeline.instance, CREDIT_MODEL, registry).refused_in_a_row
    longer = replace(CREDIT_MODEL, holdout_days=CREDIT_MODEL.holdout_days + 7)
    defs = build_definitions((longer, ACCESS_MODEL), profile=pipeline.profile)
    result = run_job(defs, pipeline.instance, longer.retrain_job, trigger="test-leakage")
    assert result.success
    gate = json.loads((pipeline.profile.lake_root / "credit" / "runs" / result.run_id / "champion_gate.json").read_text())
    assert gate["gate.decision"] == "waiting" and "no newer than the champion" in gate["gate.reason"], gate["gate.reason"]
    assert gate["gate.rows.count"] == "0"
    assert registry.version("credit", gate["version"]).tags["gate.decision"] == "waiting"
    assert str(registry.champion(CREDIT_MODEL.name).version) == str(before.version)  # the champion keeps serving
    assert retrain_history(pipeline.instance, CREDIT_MODEL, registry).refused_in_a_row == refused_before  # a wait is not a refusal
