from datetime import timedelta

import pandas as pd
import pytest

from domains.credit import APPLICATIONS
from domains.credit.data import synthetic_source
from domains.credit.scenarios import SCENARIOS, simulate
from mlops_assets.simulate import write_landing
from mlops_assets.validated.validate import validate_batch

HISTORY = synthetic_source(seed=3, days=40)


def validate_applications(frame):
    return validate_batch(frame, APPLICATIONS)


@pytest.fixture
def landed(tmp_path):
    write_landing(APPLICATIONS, HISTORY, tmp_path, days=30)
    return tmp_path


def applications(root, first, last):
    return pd.concat(pd.read_parquet(p) for p in sorted((root / "applications").glob("date=*/*.parquet")) if str(first) <= p.parent.name[5:] <= str(last))


def labels(root):
    return pd.concat(pd.read_parquet(p) for p in sorted((root / APPLICATIONS.labels_landing).glob("date=*/*.parquet")))


def test_unknown_scenario_lists_the_names(landed):
    with pytest.raises(ValueError, match="choose one of stable, covariate-drift"):
        simulate(APPLICATIONS, landed, "meteor")


def test_scenarios_continue_after_the_history_with_fresh_ids_and_pending_labels(landed):
    last = max(p.parent.name[5:] for p in (landed / "applications").glob("date=*/*.parquet"))
    summary = simulate(APPLICATIONS, landed, "stable", history=HISTORY, days=10, seed=1)
    assert str(summary.first_day) == str(pd.Timestamp(last).date() + timedelta(days=1))
    new = applications(landed, summary.first_day, summary.last_day)
    old = applications(landed, "2000-01-01", last)
    assert len(new) == 10 * 80 and new["loan_id"].min() > old["loan_id"].max()
    arrived = labels(landed)
    assert not arrived["loan_id"].duplicated().any()
    assert set(old["loan_id"].tail(80)) <= set(arrived["loan_id"])  # the history's last day got its outcome
    # a second window delivers the first window's outcomes
    simulate(APPLICATIONS, landed, "stable", history=HISTORY, days=7, seed=2)
    assert set(new["loan_id"].head(80)) <= set(labels(landed)["loan_id"])


def test_same_seed_same_files(tmp_path):
    roots = [tmp_path / "a", tmp_path / "b"]
    for root in roots:
        write_landing(APPLICATIONS, HISTORY, root, days=20)
        simulate(APPLICATIONS, root, "covariate-drift", days=5, seed=4)
    files = [sorted(r.rglob("applications/*/*.parquet")) for r in roots]
    assert all(pd.read_parquet(a).equals(pd.read_parquet(b)) for a, b in zip(*files))


def test_covariate_drift_moves_the_inputs(landed):
    summary = simulate(APPLICATIONS, landed, "covariate-drift", days=10, seed=1)
    new = applications(landed, summary.first_day, summary.last_day)
    old = applications(landed, "2000-01-01", "2099-01-01").query("loan_id < @new.loan_id.min()")
    assert new["loan_int_rate"].mean() - old["loan_int_rate"].mean() > 4
    assert new["person_income"].median() < 0.75 * old["person_income"].median()


def test_concept_drift_keeps_inputs_and_changes_the_relation(landed):
    summary = simulate(APPLICATIONS, landed, "concept-drift", history=HISTORY, days=14, seed=1)
    new = applications(landed, summary.first_day, summary.last_day)
    outcome = labels(landed).set_index("loan_id")["loan_status"]
    new = new.assign(y=new["loan_id"].map(outcome))
    seen = new.dropna(subset=["y"])
    high_rate = seen["loan_int_rate"] > seen["loan_int_rate"].median()
    assert seen.loc[high_rate, "y"].mean() < seen.loc[~high_rate, "y"].mean()  # flipped: higher rates default less
    hist = HISTORY.events
    assert hist.loc[hist["loan_int_rate"] > hist["loan_int_rate"].median(), "loan_status"].mean() > hist["loan_status"].mean()


def test_label_delay_outcomes_arrive_21_days_later(landed):
    summary = simulate(APPLICATIONS, landed, "label-delay", days=25, seed=1)
    new = applications(landed, summary.first_day, summary.last_day).set_index("loan_id")["event_timestamp"]
    arrived = labels(landed).set_index("loan_id")["labelled_at"]
    common = arrived.index.intersection(new.index)
    assert len(common) and ((arrived[common] - new[common]) == pd.Timedelta(days=21)).all()


def test_schema_break_and_garbage_rows_fail_validation(landed):
    broken = simulate(APPLICATIONS, landed, "schema-break", days=2, seed=1)
    frame = applications(landed, broken.first_day, broken.last_day)
    assert "loan_int_rate" not in frame.columns and "interest_rate" in frame.columns
    assert not validate_applications(frame).schema_ok
    garbage = simulate(APPLICATIONS, landed, "garbage-rows", days=3, seed=1)
    outcome = validate_applications(applications(landed, garbage.first_day, garbage.last_day))
    assert 0.2 < outcome.reject_fraction < 0.4 and not outcome.passed


def test_every_scenario_is_listed():
    assert SCENARIOS == ("stable", "covariate-drift", "concept-drift", "label-delay", "schema-break", "garbage-rows")
