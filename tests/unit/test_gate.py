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


def test_waiting_is_neither_a_promotion_nor_a_refusal():
    from mlops_assets.deployment.gate import wait

    d = wait(reason="too few rows", metric="roc_auc", reference_name="champion v1", margin=0.002, rows={"count": "3"})
    assert not d.promote and d.as_tags()["gate.decision"] == "waiting" and d.as_tags()["gate.rows.count"] == "3"


def _rows(days, positives_every=3):
    import pandas as pd

    times = pd.Series(pd.date_range("2021-09-01", periods=days * 24, freq="h", tz="UTC"))
    labels = pd.Series([int(i % positives_every == 0) for i in range(len(times))])
    return times, labels


def test_comparison_rows_are_after_both_training_windows():
    import pandas as pd

    from mlops_assets.deployment.gate import comparison_rows

    times, labels = _rows(10)
    champion_through = pd.Timestamp("2021-09-06 23:00", tz="UTC")  # a refit champion saw the first 6 days
    fair = comparison_rows(times, labels, challenger_through=pd.Timestamp("2021-09-03", tz="UTC"),
                           champion_through=pd.Timestamp("2021-09-02", tz="UTC"), min_rows=10, min_per_class=2)
    assert fair.wait is None and fair.rows == int((times > pd.Timestamp("2021-09-03", tz="UTC")).sum())
    later = comparison_rows(times, labels, challenger_through=pd.Timestamp("2021-09-07 12:00", tz="UTC"),
                            champion_through=champion_through, min_rows=10, min_per_class=2)
    assert later.wait is None and times[later.mask].min() > pd.Timestamp("2021-09-07 12:00", tz="UTC")


def test_the_gate_waits_when_the_challenger_saw_nothing_newer_than_the_champion():
    """The leakage the demo showed: a longer holdout reaching into the champion's training days."""
    import pandas as pd

    from mlops_assets.deployment.gate import comparison_rows

    times, labels = _rows(14)
    fair = comparison_rows(times, labels, challenger_through=pd.Timestamp("2021-09-01", tz="UTC"),
                           champion_through=pd.Timestamp("2021-09-10", tz="UTC"), min_rows=10, min_per_class=2)
    assert fair.wait and "no newer than the champion" in fair.wait and fair.rows == 0


@pytest.mark.parametrize("min_rows, min_per_class, waits", [(24, 2, False), (25, 2, True), (24, 9, True)])
def test_the_gate_waits_for_enough_rows_of_each_outcome(min_rows, min_per_class, waits):
    import pandas as pd

    from mlops_assets.deployment.gate import comparison_rows

    times, labels = _rows(3)  # 24 rows after the cut, 8 of them positive
    fair = comparison_rows(times, labels, challenger_through=pd.Timestamp("2021-09-02 23:00", tz="UTC"),
                           champion_through=pd.Timestamp("2021-09-01", tz="UTC"), min_rows=min_rows, min_per_class=min_per_class)
    assert fair.rows == 24 and bool(fair.wait) is waits


class _Scores:
    """A model whose scores are a column of the rows it is asked about."""

    def __init__(self, column: str) -> None:
        self.column = column

    def predict(self, rows):
        return rows[self.column].to_numpy()


@pytest.mark.parametrize(("min_per_class", "promoted"), [(20, True), (3, False)])
def test_a_slice_is_judged_only_where_it_holds_enough_of_each_outcome(min_per_class, promoted):
    """A challenger better overall that ranks a slice's 3 positives last: noise under gate_min_per_class=20, a refusal at 3."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from mlops_assets.deployment.assets import compare_on_rows
    from mlops_assets.simulate.synthetic import synthetic_spec

    rng = np.random.default_rng(0)
    big = pd.DataFrame({"label": rng.integers(0, 2, 400), "day_of_week": 0.0})
    big = big.assign(champion=np.clip(0.5 + 0.2 * (big.label - 0.5) + rng.normal(0, 0.25, 400), 0, 1),
                     challenger=np.clip(0.5 + 0.6 * (big.label - 0.5) + rng.normal(0, 0.25, 400), 0, 1))  # fmt: skip
    tiny = pd.DataFrame({"label": [1] * 3 + [0] * 37, "day_of_week": 6.0})
    tiny = tiny.assign(champion=np.where(tiny.label == 1, 0.9, 0.2), challenger=np.where(tiny.label == 1, 0.1, 0.2 + 0.01 * np.arange(40)))
    spec = replace(synthetic_spec("stationary"), slices=("day_of_week",), gate_min_per_class=min_per_class)
    decision = compare_on_rows(spec, pd.concat([big, tiny], ignore_index=True), _Scores("champion"), _Scores("challenger"),
                               reference_name="champion v1")  # fmt: skip
    assert decision.challenger > decision.reference + 0.1
    assert decision.promote is promoted
    assert decision.slice_regressions == (() if promoted else ("day_of_week=6.0",))
