"""The replay of the credit domain: daily landing files, label arrival, idempotency, the synthetic source.

Runs on the real loans when ../shared has them, else on the synthetic ones (the `credit_tables` fixture).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domains.credit.contract import HOME_OWNERSHIP, LOAN_INTENT
from domains.credit.data import CREDIT_HISTORY_COLUMNS, LABEL, ZIPCODE_COLUMNS, load_credit_risk, synthetic_source
from domains.credit.source import APPLICATIONS
from mlops_assets.simulate import ReplayTables, landed_days, write_landing

APPLICATION_COLUMNS = APPLICATIONS.dtypes
LABEL_COLUMNS = APPLICATIONS.label_dtypes
LABELS = APPLICATIONS.labels_landing

START = date(2021, 1, 1)
DAYS = 30
DELAY = 7


@pytest.fixture(scope="module")
def real(credit_tables: ReplayTables) -> ReplayTables:
    """The loans the suite replays: the real ones when present, else the synthetic ones."""
    return credit_tables


@pytest.fixture(scope="module")
def synthetic() -> ReplayTables:
    return synthetic_source(seed=0)


@pytest.fixture()
def replayed(real: ReplayTables, tmp_path: Path) -> Path:
    write_landing(APPLICATIONS, real, tmp_path, start=START, days=DAYS, label_delay_days=DELAY)
    return tmp_path


def window(start: date, days: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(days)]


def read_all(root: Path, folder: str) -> dict[date, pd.DataFrame]:
    return {day: pd.read_parquet(next((root / folder / f"date={day}").glob("*.parquet"))) for day in landed_days(root, folder)}


def dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {column: str(dtype) for column, dtype in frame.dtypes.items()}


@pytest.mark.real_data("credit_risk")
def test_load_credit_risk_conforms_to_the_contracts() -> None:
    from tests.conftest import DATA

    real = load_credit_risk(DATA / "credit_risk")
    assert dtypes(real.events) == {**APPLICATION_COLUMNS, LABEL: "int64"}
    assert dtypes(real.reference["zipcodes"]) == ZIPCODE_COLUMNS
    assert dtypes(real.reference["credit_history"]) == CREDIT_HISTORY_COLUMNS
    assert real.day_range(APPLICATIONS) == (date(2020, 8, 25), date(2021, 8, 25))


def test_load_credit_risk_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="loan_table.parquet.*MLOPS_DATA"):
        load_credit_risk(tmp_path)


def test_replay_lands_one_file_per_day_with_only_that_days_applications(real: ReplayTables, replayed: Path) -> None:
    landed = read_all(replayed, "applications")
    assert list(landed) == window(START, DAYS)
    for day, frame in landed.items():
        assert dtypes(frame) == APPLICATION_COLUMNS  # contract columns, order and dtypes; no label
        assert (frame["event_timestamp"].dt.date == day).all()
    in_window = real.events["event_timestamp"].dt.date.between(START, START + timedelta(days=DAYS - 1))
    assert sum(len(f) for f in landed.values()) == int(in_window.sum())


def test_labels_arrive_after_the_delay_and_only_for_landed_applications(real: ReplayTables, replayed: Path) -> None:
    applications = pd.concat(read_all(replayed, "applications").values(), ignore_index=True)
    labels = read_all(replayed, LABELS)
    assert list(labels) == window(START + timedelta(days=DELAY), DAYS - DELAY)
    for day, frame in labels.items():
        assert dtypes(frame) == LABEL_COLUMNS
        assert (frame["labelled_at"].dt.date == day).all()
    labels_all = pd.concat(labels.values(), ignore_index=True)
    joined = labels_all.merge(applications, on="loan_id", how="left", validate="one_to_one")
    assert joined["event_timestamp"].notna().all()  # no orphan label
    assert (joined["labelled_at"] - joined["event_timestamp"] == pd.Timedelta(days=DELAY)).all()
    truth = real.events.set_index("loan_id").loc[labels_all["loan_id"], LABEL].to_numpy()
    np.testing.assert_array_equal(labels_all[LABEL].to_numpy(), truth)


def test_reference_tables_keep_their_contracts(replayed: Path) -> None:
    assert dtypes(pd.read_parquet(replayed / "reference" / "zipcodes.parquet")) == ZIPCODE_COLUMNS
    assert dtypes(pd.read_parquet(replayed / "reference" / "credit_history.parquet")) == CREDIT_HISTORY_COLUMNS


def test_rerunning_a_window_leaves_identical_files(real: ReplayTables, replayed: Path) -> None:
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(replayed.rglob("*.parquet"))}
    write_landing(APPLICATIONS, real, replayed, start=START, days=DAYS, label_delay_days=DELAY)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(replayed.rglob("*.parquet"))}
    assert after == before  # same bytes, not even rewritten
    assert not [p for p in replayed.rglob("*") if p.name.endswith(".tmp")]


def test_next_window_continues_the_story_without_orphans_or_gaps(real: ReplayTables, replayed: Path) -> None:
    summary = write_landing(APPLICATIONS, real, replayed, start=START + timedelta(days=DAYS), days=DAYS, label_delay_days=DELAY)
    assert (summary.first_day, summary.event_files) == (START + timedelta(days=DAYS), DAYS)
    applications = pd.concat(read_all(replayed, "applications").values(), ignore_index=True)
    labels = pd.concat(read_all(replayed, LABELS).values(), ignore_index=True)
    assert landed_days(replayed, LABELS) == window(START + timedelta(days=DELAY), 2 * DAYS - DELAY)
    assert labels["loan_id"].is_unique
    assert labels["loan_id"].isin(applications["loan_id"]).all()
    due = applications["event_timestamp"].dt.date <= START + timedelta(days=2 * DAYS - DELAY - 1)
    assert set(labels["loan_id"]) == set(applications.loc[due, "loan_id"])  # every due outcome arrived


def test_default_window_ends_on_the_last_source_day(real: ReplayTables, tmp_path: Path) -> None:
    lines: list[str] = []
    last = real.day_range(APPLICATIONS)[1]
    summary = write_landing(APPLICATIONS, real, tmp_path, days=12, progress=lines.append)
    assert (summary.first_day, summary.last_day) == (last - timedelta(days=11), last)
    assert summary.labels == sum(len(f) for f in read_all(tmp_path, LABELS).values()) > 0
    assert len(lines) == 2 and last.isoformat() in lines[-1]


@pytest.mark.parametrize(("start", "days"), [(date(2020, 8, 1), 30), (date(2021, 8, 20), 10), (None, 400)])
def test_window_outside_the_source_range_is_refused(
    real: ReplayTables, tmp_path: Path, start: date | None, days: int
) -> None:
    first, last = real.day_range(APPLICATIONS)
    with pytest.raises(ValueError, match=f"{first}..{last}"):
        write_landing(APPLICATIONS, real, tmp_path, start=start, days=days)
    assert not any(tmp_path.iterdir())


def test_landing_is_readable_by_the_lake_resource(real: ReplayTables, replayed: Path) -> None:
    from resources.lake import LakeResource

    lake = LakeResource(root=str(replayed / "lake"), landing_root=str(replayed))
    landed = lake.read_landing("applications", START.isoformat())
    assert landed.frame is not None and not landed.rejected and dtypes(landed.frame) == APPLICATION_COLUMNS


def test_synthetic_source_is_reproducible_per_seed(synthetic: ReplayTables) -> None:
    again, other = synthetic_source(seed=0), synthetic_source(seed=1)
    pd.testing.assert_frame_equal(again.events, synthetic.events)
    assert not other.events.equals(synthetic.events)
    for name in ("zipcodes", "credit_history"):
        pd.testing.assert_frame_equal(again.reference[name], synthetic.reference[name])
        assert not other.reference[name].equals(synthetic.reference[name])


def test_synthetic_source_follows_the_contracts_and_real_marginals(synthetic: ReplayTables) -> None:
    loans, zipcodes, history = synthetic.events, synthetic.reference["zipcodes"], synthetic.reference["credit_history"]
    assert dtypes(loans) == {**APPLICATION_COLUMNS, LABEL: "int64"}
    assert dtypes(zipcodes) == ZIPCODE_COLUMNS
    assert dtypes(history) == CREDIT_HISTORY_COLUMNS
    assert len(loans) == 365 * 80 and synthetic.day_range(APPLICATIONS) == (date(2020, 8, 25), date(2021, 8, 24))
    assert loans["loan_id"].is_unique and loans["loan_id"].is_monotonic_increasing
    assert 0.15 <= loans[LABEL].mean() <= 0.25
    assert loans["person_age"].between(20, 70).all() and 0.6 < loans["person_age"].between(22, 35).mean()
    assert loans["loan_int_rate"].between(5, 23.5).all() and loans["person_emp_length"].between(0, 30).all()
    assert set(loans["person_home_ownership"]) <= set(HOME_OWNERSHIP) and set(loans["loan_intent"]) == set(LOAN_INTENT)
    assert loans["dob_ssn"].str.fullmatch(r"\d{8}_\d{4}").all()
    assert loans["zipcode"].isin(zipcodes["zipcode"]).all() and len(zipcodes) == 1000
    assert 0.04 < len(history) / loans["dob_ssn"].nunique() < 0.06
    assert history["dob_ssn"].isin(loans["dob_ssn"]).all()


def test_synthetic_label_is_learnable(synthetic: ReplayTables) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    loans = synthetic.events
    features = loans[["person_age", "person_income", "person_emp_length", "loan_amnt", "loan_int_rate"]].assign(
        home=pd.Categorical(loans["person_home_ownership"], categories=HOME_OWNERSHIP).codes
    )
    cut = int(len(loans) * 0.8)  # train on the past, score the most recent fifth
    model = HistGradientBoostingClassifier(max_iter=50, max_leaf_nodes=15, early_stopping=False)
    model.fit(features[:cut], loans[LABEL][:cut])
    auc = roc_auc_score(loans[LABEL][cut:], model.predict_proba(features[cut:])[:, 1])
    assert 0.83 <= auc <= 0.92


def test_on_synthetic_data_the_first_model_clears_the_baseline_gate() -> None:
    """`make demo` on a machine without the real data trains on 90 synthetic days; the gate refuses a
    first model that does not beat the logistic baseline, so the synthetic world must have the
    real data's steps and interactions (with smooth effects only, the baseline won by 0.009)."""
    from sklearn.metrics import roc_auc_score

    from domains.credit import CREDIT_MODEL as spec
    from domains.credit.encoding import ENCODED_FEATURES, encode_application
    from mlops_assets.training.trainers import train_lightgbm, train_logistic_baseline

    days = 90
    loans = synthetic_source(seed=0, days=days).events
    frame = pd.concat([loans, encode_application(loans)], axis=1)
    cut = len(frame) * (days - spec.holdout_days) // days  # as the pipeline, hold out the most recent days (rows per day are equal)
    train, holdout = frame[:cut], frame[cut:]
    common = {"features": list(ENCODED_FEATURES), "label": LABEL, "categorical": spec.categorical_features, "seed": spec.seed}
    model, baseline = train_lightgbm(train, params=spec.params, **common), train_logistic_baseline(train, **common)
    gain = roc_auc_score(holdout[LABEL], model.predict(holdout)) - roc_auc_score(holdout[LABEL], baseline.predict(holdout))
    assert gain > 0.01, f"LightGBM beats the logistic baseline by only {gain:+.4f} on synthetic data"


def test_synthetic_source_lands_like_the_real_one(tmp_path: Path) -> None:
    tables = synthetic_source(seed=3, start=date(2022, 1, 1), days=20, rows_per_day=10)
    summary = write_landing(APPLICATIONS, tables, tmp_path, days=20, label_delay_days=3)
    assert (summary.event_files, summary.events) == (20, 200)
    assert (summary.label_files, summary.labels) == (17, 170)
    assert dtypes(read_all(tmp_path, "applications")[date(2022, 1, 5)]) == APPLICATION_COLUMNS
