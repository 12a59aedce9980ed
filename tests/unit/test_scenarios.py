"""Simulation scenarios: they continue the landed story and inject exactly what they say."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_assets.schema import APPLICATION_COLUMNS, HOME_OWNERSHIP, LABEL, LOAN_INTENT
from mlops_assets.simulate import LabelModel, SourceTables, landed_days, landing_path, synthetic_source, write_landing
from mlops_assets.simulate.scenarios import SCENARIO_TABLE, SCENARIOS, simulate
from mlops_assets.validated.expectations import BETWEEN, IN_SET, NOT_NULL, RULES

HISTORY = synthetic_source(seed=3, days=60)
LANDED_DAYS = 40
LAST_LANDED = HISTORY.day_range()[1]
FIRST_NEW = LAST_LANDED + timedelta(days=1)
FEATURES = ["person_age", "person_income", "person_emp_length", "loan_amnt", "loan_int_rate"]


def land_history(root: Path) -> Path:
    write_landing(HISTORY, root, days=LANDED_DAYS, label_delay_days=7)
    return root


@pytest.fixture()
def landed(tmp_path: Path) -> Path:
    return land_history(tmp_path)


def read(root: Path, kind: str, first: date = date.min, last: date = date.max) -> pd.DataFrame:
    frames = [pd.read_parquet(landing_path(root, kind, d)) for d in landed_days(root, kind) if first <= d <= last]
    return pd.concat(frames, ignore_index=True)


def new_applications(root: Path, summary) -> pd.DataFrame:
    return read(root, "applications", summary.first_day, summary.last_day)


def with_outcomes(root: Path, applications: pd.DataFrame) -> pd.DataFrame:
    labels = read(root, "labels").set_index("loan_id")[LABEL]
    return applications.assign(**{LABEL: applications["loan_id"].map(labels)}).dropna(subset=[LABEL])


def broken_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows breaking a row-level rule of the validation suite (nulls, bounds, sets)."""
    broken = pd.Series(False, index=frame.index)
    for rule in RULES:
        if rule.expectation == NOT_NULL:
            broken |= frame[rule.column].isna()
        elif rule.expectation == BETWEEN:
            lo, hi = rule.bounds
            values = frame[rule.column]
            broken |= values.notna() & ~((values > lo if rule.strict_min else values >= lo) & (values <= hi))
        elif rule.expectation == IN_SET:
            broken |= frame[rule.column].notna() & ~frame[rule.column].isin(rule.allowed)
    return broken


def features(loans: pd.DataFrame) -> pd.DataFrame:
    return loans[FEATURES].assign(
        home=pd.Categorical(loans["person_home_ownership"], categories=HOME_OWNERSHIP).codes,
        intent=pd.Categorical(loans["loan_intent"], categories=LOAN_INTENT).codes,
    )


def test_every_scenario_is_listed() -> None:
    assert SCENARIOS == ("stable", "covariate-drift", "concept-drift", "label-delay", "schema-break", "garbage-rows")


def test_unknown_scenario_lists_the_names(landed: Path) -> None:
    with pytest.raises(ValueError, match="meteor.*stable, covariate-drift, concept-drift, label-delay, schema-break, garbage-rows"):
        simulate(landed, "meteor")


def test_a_landed_history_is_required_and_never_overwritten(tmp_path: Path, landed: Path) -> None:
    with pytest.raises(ValueError, match="no landed history"):
        simulate(tmp_path / "empty", "stable")
    with pytest.raises(ValueError, match=f"after the last landed day {LAST_LANDED}"):
        simulate(landed, "stable", start=LAST_LANDED)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_continue_after_the_history(landed: Path, scenario: str) -> None:
    before = read(landed, "applications")
    lines: list[str] = []
    summary = simulate(landed, scenario, days=12, seed=1, history=HISTORY, progress=lines.append)
    assert (summary.scenario, summary.first_day, summary.last_day) == (scenario, FIRST_NEW, FIRST_NEW + timedelta(days=11))
    assert summary.notes == SCENARIO_TABLE[scenario].notes(FIRST_NEW, 12) and "\n" not in summary.notes
    assert landed_days(landed)[-12:] == [FIRST_NEW + timedelta(days=i) for i in range(12)]
    assert len(lines) == 2 and str(summary.last_day) in lines[-1]
    new = new_applications(landed, summary)
    assert len(new) == summary.applications == 12 * 80
    assert new["loan_id"].is_unique and new["loan_id"].min() == before["loan_id"].max() + 1
    zipcodes = pd.read_parquet(landed / "reference" / "zipcodes.parquet")["zipcode"]
    credit = pd.read_parquet(landed / "reference" / "credit_history.parquet")["dob_ssn"]
    assert new["zipcode"].isin(zipcodes).all() and 0.02 < new["dob_ssn"].isin(credit).mean() < 0.08

    labels = read(landed, "labels")
    assert labels["loan_id"].is_unique and labels["loan_id"].isin(pd.concat([before, new])["loan_id"]).all()
    assert summary.labels == len(read(landed, "labels", summary.first_day, summary.last_day))
    waiting = before[before["event_timestamp"].dt.date > LAST_LANDED - timedelta(days=7)]  # due in the new window
    arrived = labels.set_index("loan_id").loc[waiting["loan_id"]]
    truth = HISTORY.loans.set_index("loan_id").loc[waiting["loan_id"], LABEL]
    np.testing.assert_array_equal(arrived[LABEL], truth)  # the history's own outcomes, a week later
    assert (arrived["labelled_at"].to_numpy() - waiting["event_timestamp"].to_numpy() == pd.Timedelta(days=7)).all()


def test_outcomes_keep_their_own_delay_across_windows(landed: Path) -> None:
    delayed = simulate(landed, "label-delay", days=30, seed=1)
    late = new_applications(landed, delayed)
    labels = read(landed, "labels").set_index("loan_id")
    arrived = late["loan_id"].isin(labels.index)
    assert arrived.any() and not late.loc[late["event_timestamp"].dt.date > delayed.last_day - timedelta(days=21), "loan_id"].isin(labels.index).any()
    arrived_at = labels.loc[late.loc[arrived, "loan_id"], "labelled_at"].to_numpy()
    assert (arrived_at - late.loc[arrived, "event_timestamp"].to_numpy() == pd.Timedelta(days=21)).all()

    after = simulate(landed, "stable", days=30, seed=2)  # the usual 7 days again, for new loans only
    labels = read(landed, "labels").set_index("loan_id")
    assert labels.index.is_unique and late["loan_id"].isin(labels.index).all()
    lag = labels.loc[late["loan_id"], "labelled_at"].to_numpy() - late["event_timestamp"].to_numpy()
    assert (lag == pd.Timedelta(days=21)).all()
    fresh = new_applications(landed, after)
    due = fresh[fresh["event_timestamp"].dt.date <= after.last_day - timedelta(days=7)]
    lag = labels.loc[due["loan_id"], "labelled_at"].to_numpy() - due["event_timestamp"].to_numpy()
    assert (lag == pd.Timedelta(days=7)).all()


def test_without_the_source_earlier_outcomes_are_drawn_not_lost(landed: Path) -> None:
    simulate(landed, "stable", days=10, seed=1)
    waiting = read(landed, "applications", LAST_LANDED - timedelta(days=6), LAST_LANDED)
    assert waiting["loan_id"].isin(read(landed, "labels")["loan_id"]).all()


@pytest.mark.parametrize("scenario", ["covariate-drift", "garbage-rows"])
def test_same_seed_same_files(tmp_path: Path, scenario: str) -> None:
    def run(name: str, seed: int) -> dict[str, bytes]:
        root = land_history(tmp_path / name)
        simulate(root, scenario, days=8, seed=seed)
        simulate(root, "label-delay", days=5, seed=seed)
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}

    first, again, other = run("a", 4), run("b", 4), run("c", 5)
    assert first == again
    assert first.keys() == other.keys() and first != other


def test_stable_resembles_the_history_and_concept_drift_keeps_its_inputs(tmp_path: Path) -> None:
    roots = {name: land_history(tmp_path / name) for name in ("stable", "concept-drift")}
    summaries = {name: simulate(root, name, days=20, seed=7, label_delay_days=0) for name, root in roots.items()}
    stable = new_applications(roots["stable"], summaries["stable"])
    drifted = new_applications(roots["concept-drift"], summaries["concept-drift"])
    pd.testing.assert_frame_equal(stable, drifted)  # same seed, same applicants: only outcomes differ
    history = HISTORY.loans
    for column in FEATURES:
        assert abs(np.log(stable[column].median() / history[column].median())) < 0.1
    rate = with_outcomes(roots["stable"], stable)[LABEL].mean()
    assert abs(rate - history[LABEL].mean()) < 0.04


def test_covariate_drift_moves_the_inputs_not_the_label_model(tmp_path: Path) -> None:
    from mlops_assets.monitoring.drift import build_profile, drift_table

    drift = SCENARIO_TABLE["covariate-drift"]
    roots = {name: land_history(tmp_path / name) for name in ("stable", "covariate-drift")}
    summaries = {name: simulate(root, name, days=30, seed=2, label_delay_days=0) for name, root in roots.items()}
    stable = new_applications(roots["stable"], summaries["stable"])
    new = with_outcomes(roots["covariate-drift"], new_applications(roots["covariate-drift"], summaries["covariate-drift"]))
    assert new["loan_int_rate"].mean() - stable["loan_int_rate"].mean() == pytest.approx(drift.int_rate_shift, abs=0.3)
    assert new["person_income"].median() / stable["person_income"].median() == pytest.approx(drift.income_factor, abs=0.05)
    assert (new["person_home_ownership"] == "RENT").mean() > 0.65 > (stable["person_home_ownership"] == "RENT").mean()
    history = read(roots["covariate-drift"], "applications", last=LAST_LANDED)
    psi = {d.feature: d.psi for d in drift_table(build_profile(history, FEATURES), new)}
    assert psi["loan_int_rate"] > 0.25 and psi["person_income"] > 0.25

    # P(default | inputs) unchanged: observed default rates match the generator's model per risk bucket
    probability = 1 / (1 + np.exp(-LabelModel().log_odds(new)))
    bucket = pd.qcut(probability, 5, labels=False)
    observed, expected = new[LABEL].groupby(bucket).mean(), pd.Series(probability).groupby(bucket).mean()
    assert np.abs(observed.to_numpy() - expected.to_numpy()).max() < 0.06


def test_concept_drift_defeats_the_old_model_and_a_retrain_recovers(landed: Path) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    def fit(loans: pd.DataFrame) -> HistGradientBoostingClassifier:
        model = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, learning_rate=0.05, random_state=0)
        return model.fit(features(loans), loans[LABEL].astype(int))

    def auc(model: HistGradientBoostingClassifier, loans: pd.DataFrame) -> float:
        return roc_auc_score(loans[LABEL].astype(int), model.predict_proba(features(loans))[:, 1])

    history = HISTORY.loans
    cut = pd.Timestamp(LAST_LANDED - timedelta(days=9), tz="UTC")
    old = fit(history[history["event_timestamp"] < cut])
    summary = simulate(landed, "concept-drift", days=35, seed=1, label_delay_days=0)
    drifted = with_outcomes(landed, new_applications(landed, summary))
    split = drifted["event_timestamp"].dt.date < summary.first_day + timedelta(days=21)
    retrained = fit(drifted[split])  # three weeks of the new outcomes
    before, after, recovered = auc(old, history[history["event_timestamp"] >= cut]), auc(old, drifted[~split]), auc(retrained, drifted[~split])
    assert abs(drifted[LABEL].mean() - history[LABEL].mean()) > 0.05  # the default rate moves too
    assert before - after > 0.15, (before, after)
    assert recovered - after > 0.1, (after, recovered)


def test_schema_break_renames_the_column_from_its_day_and_validation_stops_it(landed: Path) -> None:
    from mlops_assets.validated.validate import validate_applications

    brk = SCENARIO_TABLE["schema-break"]
    summary = simulate(landed, "schema-break", days=6, seed=1)
    first_broken = summary.first_day + timedelta(days=brk.from_day - 1)
    assert str(first_broken) in summary.notes
    for day in landed_days(landed)[-6:]:
        columns = list(pd.read_parquet(landing_path(landed, "applications", day)).columns)
        renamed = [brk.renamed_to if c == brk.column else c for c in APPLICATION_COLUMNS]
        assert columns == (renamed if day >= first_broken else list(APPLICATION_COLUMNS)), day
    clean = validate_applications(read(landed, "applications", summary.first_day, summary.first_day))
    broken = validate_applications(read(landed, "applications", first_broken, first_broken))
    assert clean.passed and not broken.schema_ok and not broken.passed
    assert brk.column in " ".join(broken.schema_problems)
    short = simulate(landed, "schema-break", days=2, seed=1)  # a short window still breaks, on its last day
    assert brk.renamed_to in pd.read_parquet(landing_path(landed, "applications", short.last_day)).columns


def test_garbage_rows_break_rules_and_sink_some_days(landed: Path) -> None:
    from mlops_assets.validated.validate import validate_applications

    low, high = SCENARIO_TABLE["garbage-rows"].share
    summary = simulate(landed, "garbage-rows", days=12, seed=1)
    days = {day: pd.read_parquet(landing_path(landed, "applications", day)) for day in landed_days(landed)[-12:]}
    shares = {day: broken_rows(frame).mean() for day, frame in days.items()}
    assert all(low - 0.01 <= s <= high + 0.01 for s in shares.values()), shares
    assert max(shares.values()) > 0.2 and summary.applications == 12 * 80
    assert all({c: str(t) for c, t in f.dtypes.items()} == APPLICATION_COLUMNS for f in days.values())  # rows break, not the schema
    values = pd.concat(days.values())
    assert (values["person_age"] == 150).any() and (values["loan_intent"] == "CAR").any()
    assert (values["person_income"] < 0).any() and values["loan_int_rate"].isna().any()
    worst = max(shares, key=shares.get)
    outcome = validate_applications(days[worst])
    assert outcome.schema_ok and not outcome.passed and outcome.reject_fraction == pytest.approx(shares[worst])


def test_a_real_history_continues_with_its_own_outcomes(tmp_path: Path, credit_dir: Path) -> None:
    from mlops_assets.simulate import load_credit_risk

    real: SourceTables = load_credit_risk(credit_dir)
    write_landing(real, tmp_path, days=20)
    summary = simulate(tmp_path, "stable", days=10, seed=0, history=real)
    assert summary.first_day == real.day_range()[1] + timedelta(days=1)
    new = new_applications(tmp_path, summary)
    assert new["loan_id"].min() > real.loans["loan_id"].max()
    assert new["zipcode"].isin(real.zipcodes["zipcode"]).all() and new["dob_ssn"].isin(real.credit_history["dob_ssn"]).any()
    labels = read(tmp_path, "labels", summary.first_day, summary.first_day + timedelta(days=6)).set_index("loan_id")
    old = labels.index[labels.index <= real.loans["loan_id"].max()]
    assert len(old) > 400  # the replayed week's outcomes, as the source has them
    np.testing.assert_array_equal(labels.loc[old, LABEL], real.loans.set_index("loan_id").loc[old, LABEL])
