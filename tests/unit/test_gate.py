import pytest

from mlops_assets.deployment.gate import decide

COMMON = {"metric": "roc_auc", "reference_name": "champion v1", "margin": 0.002, "higher_is_better": True}


def test_promotes_when_margin_is_beaten():
    d = decide(challenger=0.905, reference=0.900, **COMMON)
    assert d.promote and "beats champion v1" in d.reason
    assert d.as_tags()["gate.decision"] == "promoted"


@pytest.mark.parametrize("challenger", [0.900, 0.9019, 0.85])
def test_refuses_below_margin(challenger):
    d = decide(challenger=challenger, reference=0.900, **COMMON)
    assert not d.promote and "does not beat" in d.reason
    assert d.as_tags()["gate.decision"] == "refused"


def test_lower_is_better_metric_direction():
    base = {**COMMON, "metric": "log_loss", "higher_is_better": False}
    assert decide(challenger=0.30, reference=0.35, **base).promote
    assert not decide(challenger=0.36, reference=0.35, **base).promote


def test_slice_regression_blocks_an_overall_win():
    d = decide(challenger=0.95, reference=0.90, slice_deltas={"loan_intent=MEDICAL": -0.08, "loan_intent=VENTURE": 0.01}, **COMMON)
    assert not d.promote
    assert d.slice_regressions == ("loan_intent=MEDICAL",)
    assert "MEDICAL" in d.reason


def test_slice_within_bound_does_not_block():
    assert decide(challenger=0.95, reference=0.90, slice_deltas={"a": -0.04}, max_slice_regression=0.05, **COMMON).promote
