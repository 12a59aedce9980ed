"""Great Expectations validation derived from a contract (the loan applications'): quarantine, reasons and batch verdicts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domains.credit import APPLICATIONS
from domains.credit.contract import DOB_SSN
from mlops_assets.validated.expectations import expectation_suite, rules_for
from mlops_assets.validated.validate import BATCH_RULE, EXPECTATION, REASON, validate_batch, validate_days

APPLICATION_COLUMNS = APPLICATIONS.dtypes
RULES = rules_for(APPLICATIONS.columns)


def validate_applications(frame: pd.DataFrame, max_reject_fraction: float | None = None):
    return validate_batch(frame, APPLICATIONS, max_reject_fraction=max_reject_fraction)

AGE_OUTLIERS = {10074: 144, 10163: 144, 10508: 123, 38388: 144}
EMP_OUTLIERS = {10000: 123.0, 10186: 123.0}


@pytest.fixture(scope="module")
def loans(credit_tables) -> pd.DataFrame:
    """Loans with every column a landing file has (and their label): real ones when present, else synthetic."""
    return credit_tables.events


def breaks_no_rule(loans: pd.DataFrame) -> pd.DataFrame:
    """Without the real data's six range outliers and its 70 dates of birth on a 30th of February."""
    return loans[(loans["person_age"] <= 100) & (loans["person_emp_length"] <= 60) & loans["dob_ssn"].str.fullmatch(DOB_SSN)]


@pytest.fixture
def clean(loans: pd.DataFrame) -> pd.DataFrame:
    """20 real applications that break no rule."""
    return breaks_no_rule(loans).head(20).reset_index(drop=True)


def reasons_by_id(quarantined: pd.DataFrame) -> dict[int, str]:
    return dict(zip(quarantined["loan_id"], quarantined[REASON], strict=True))


def test_a_key_longer_than_its_contract_is_quarantined_with_its_length(clean: pd.DataFrame) -> None:
    """dob_ssn is "YYYYMMDD_NNNN": a 100,000-character value is a bad row, not a key to look up."""
    bad = clean.copy()
    bad.loc[3, "dob_ssn"] = "1" * 100_000
    out = validate_applications(bad, max_reject_fraction=0.5)
    assert (len(out.valid), len(out.quarantined)) == (19, 1)
    assert out.quarantined[REASON].iloc[0].startswith("dob_ssn has 100000 characters, over 13")
    assert out.quarantined[EXPECTATION].iloc[0] == "expect_column_value_lengths_to_be_between(dob_ssn); expect_column_values_to_match_regex(dob_ssn)"


def test_a_structured_key_must_match_its_format_whole(clean: pd.DataFrame) -> None:
    """dob_ssn's pattern: YYYYMMDD_NNNN with a month's days; GE searches, so the rule anchors the pattern."""
    bad = clean.copy()
    values = ["19800230_1234", "1980-01-01_1234", "19801301_1234", "x19800101_1234", "19800101_12345"[:13] + "\n", "19800101_123"]
    bad.loc[: len(values) - 1, "dob_ssn"] = values
    out = validate_applications(bad, max_reject_fraction=0.5)
    assert len(out.valid) == 20 - len(values) and sorted(out.quarantined["dob_ssn"]) == sorted(values)
    assert all(" does not match (19|20)" in reason for reason in out.quarantined[REASON])


def test_timestamps_without_a_time_zone_or_as_numbers_are_a_schema_break(clean: pd.DataFrame) -> None:
    """Both used to pass validation; naive ones then crashed the cast (TypeError), epoch milliseconds became 1970."""
    naive = clean.assign(event_timestamp=clean["event_timestamp"].dt.tz_localize(None))
    millis = clean.assign(event_timestamp=clean["event_timestamp"].astype("int64") // 1000)  # microseconds -> epoch ms
    for frame, words in ((naive, "event_timestamp is timezone-naive"), (millis, "event_timestamp holds int64 numbers, not timestamps")):
        out = validate_applications(frame)
        assert not out.schema_ok and not out.passed and len(out.quarantined) == 20 and out.valid.empty
        assert words in out.summary and out.quarantined[REASON].str.contains(words).all()
    elsewhere = clean.assign(event_timestamp=clean["event_timestamp"].dt.tz_convert("America/New_York"))
    out = validate_applications(elsewhere)
    assert out.passed and len(out.valid) == 20 and out.casts == ("event_timestamp landed in time zone America/New_York; converted to UTC",)


def test_a_float_id_is_cast_only_when_no_value_changes(clean: pd.DataFrame) -> None:
    """2270002.5 used to become 2270002 without a word; integral floats are a logged cast."""
    from mlops_assets.validated.assets import _conform

    floats = clean.assign(loan_id=clean["loan_id"].astype("float64"))
    floats.loc[4, "loan_id"] = 2270002.5
    out = validate_applications(floats)
    assert out.passed and len(out.quarantined) == 1
    assert out.quarantined[REASON].iloc[0] == "loan_id=2270002.5 is not an integer (landed as float64)"
    assert out.quarantined[EXPECTATION].iloc[0] == "lossless_cast(loan_id)"
    assert out.casts == ("loan_id landed as float64; cast to int64 (1 non-integral row(s) quarantined)",)
    conformed = _conform(out.valid, APPLICATIONS.dtypes)
    assert conformed["loan_id"].dtype == "int64" and conformed["loan_id"].tolist() == clean["loan_id"].drop(index=4).tolist()


def test_suite_lists_every_rule_once() -> None:
    suite = expectation_suite("applications", RULES)
    assert len(suite.expectations) == len(RULES) == 22
    assert len({rule.name for rule in RULES}) == len(RULES)
    not_null = {rule.column for rule in RULES if rule.expectation.endswith("not_be_null")}
    assert not_null == set(APPLICATION_COLUMNS) - {"created_timestamp"}


@pytest.mark.real_data("credit_risk")
def test_real_data_passes_and_quarantines_the_six_outliers_and_the_february_30ths(tmp_path: Path) -> None:
    from tests.conftest import DATA

    loans = pd.read_parquet(DATA / "credit_risk" / "loan_table.parquet")
    out = validate_applications(loans)

    assert out.passed and out.schema_ok
    assert (len(out.valid), len(out.quarantined)) == (28_562, 76)
    assert out.reject_fraction == pytest.approx(76 / 28_638)
    expected = {i: f"person_age={v} outside [18, 100]" for i, v in AGE_OUTLIERS.items()}
    expected |= {i: "person_emp_length=123 outside [0, 60]" for i in EMP_OUTLIERS}
    february_30 = loans.loc[loans["dob_ssn"].str[4:8] == "0230"]
    expected |= {i: f"dob_ssn={dob!r} does not match {DOB_SSN}" for i, dob in zip(february_30["loan_id"], february_30["dob_ssn"])}
    assert len(february_30) == 70 and reasons_by_id(out.quarantined) == expected
    assert out.valid.dtypes.equals(loans.dtypes)
    failing = {e.name: e.unexpected_count for e in out.expectations if not e.success}
    assert failing == {
        "expect_column_values_to_be_between(person_age)": 4,
        "expect_column_values_to_be_between(person_emp_length)": 2,
        "expect_column_values_to_match_regex(dob_ssn)": 70,
    }
    assert "76 of 28638 rows" in out.summary and "person_age in [18, 100] (4 rows)" in out.summary

    out.quarantined.to_parquet(tmp_path / "q.parquet")
    back = pd.read_parquet(tmp_path / "q.parquet")
    assert back[REASON].tolist() == out.quarantined[REASON].tolist()


def bad_batch(clean: pd.DataFrame) -> pd.DataFrame:
    """20 rows, 6 of them broken in different ways (two share a duplicated loan_id)."""
    bad = clean.copy()
    bad.loc[0, "person_age"] = np.nan  # int column becomes float, as after a lossy extract
    bad.loc[1, "person_age"] = 150
    bad.loc[2, "person_age"] = 12
    bad.loc[3, "loan_intent"] = "CAR"
    bad.loc[4, "person_home_ownership"] = None
    bad.loc[5, "loan_id"] = bad.loc[6, "loan_id"]
    bad.loc[7, "event_timestamp"] = pd.NaT
    bad.loc[7, "person_income"] = 0
    return bad


def test_bad_rows_get_one_reason_per_broken_rule(clean: pd.DataFrame) -> None:
    bad = bad_batch(clean)
    ids = bad["loan_id"].tolist()
    out = validate_applications(bad, max_reject_fraction=0.5)
    differ = ", ".join(c for c in bad.columns if c != "loan_id" and bad.loc[5, c] != bad.loc[6, c] and c != "loan_status")

    assert out.passed and out.schema_ok
    assert (len(out.valid), len(out.quarantined)) == (12, 8)
    assert out.reject_fraction == pytest.approx(6 / 20)  # a repeated key quarantines its copies, and does not count against the day
    assert out.quarantined[REASON].tolist() == [
        "person_age is null",
        "person_age=150 outside [18, 100]",
        "person_age=12 outside [18, 100]",
        "loan_intent='CAR' not in {EDUCATION, MEDICAL, VENTURE, PERSONAL, DEBTCONSOLIDATION, HOMEIMPROVEMENT}",
        "person_home_ownership is null",
        *[f"loan_id={ids[6]} landed 2 times with different {differ}: none kept, a person must decide which is right"] * 2,
        "event_timestamp is null; person_income=0 outside (0, 10000000]",
    ]
    assert out.quarantined[EXPECTATION].iloc[7] == (
        "expect_column_values_to_not_be_null(event_timestamp); "
        "expect_column_values_to_be_between(person_income)"
    )
    assert out.valid["loan_id"].tolist() == ids[8:]


def test_too_many_bad_rows_reject_the_whole_batch(clean: pd.DataFrame) -> None:
    out = validate_applications(bad_batch(clean))

    assert not out.passed and out.schema_ok
    assert out.reject_fraction == pytest.approx(0.3)
    assert out.valid.empty and len(out.quarantined) == 20
    batch_reason = "batch rejected: 30.0% of rows failed validation (limit 10.0%)"
    assert (out.quarantined[REASON] == batch_reason).sum() == 12
    assert (out.quarantined[EXPECTATION] == BATCH_RULE).sum() == 12
    assert out.quarantined[REASON].iloc[1] == "person_age=150 outside [18, 100]"
    assert out.summary.startswith("Batch rejected: 6 of 20 rows (30.0%)")


def test_missing_column_quarantines_every_row(clean: pd.DataFrame) -> None:
    out = validate_applications(clean.drop(columns=["person_income", "loan_intent"]))

    assert not out.schema_ok and not out.passed
    assert out.reject_fraction == 1.0
    assert out.valid.empty and len(out.quarantined) == 20
    assert list(out.quarantined.columns) == [
        *[c for c in clean.columns if c not in ("person_income", "loan_intent")],
        REASON,
        EXPECTATION,
    ]
    assert set(out.quarantined[REASON]) == {
        "schema break: missing column(s) person_income, loan_intent: "
        "the landing file must contain columns person_income (int64), loan_intent (object)"
    }
    assert set(out.quarantined[EXPECTATION]) == {"expect_table_columns_to_match_set"}
    assert "missing column(s) person_income, loan_intent" in out.summary
    table = out.expectations[0]
    assert (table.column, table.success, table.unexpected_count) == (None, False, 2)


def test_uncheckable_column_is_a_schema_break(clean: pd.DataFrame) -> None:
    out = validate_applications(clean.astype({"person_age": str}))

    assert not out.schema_ok and not out.passed and len(out.quarantined) == 20
    assert out.quarantined[REASON].str.startswith("schema break: person_age could not be checked").all()
    assert "person_age (int64)" in out.quarantined[REASON].iloc[0]


def test_empty_batch_is_valid(loans: pd.DataFrame, tmp_path: Path) -> None:
    out = validate_applications(loans.head(0))

    assert out.passed and out.schema_ok and out.reject_fraction == 0.0
    assert out.valid.empty and out.quarantined.empty
    assert list(out.quarantined.columns) == [*loans.columns, REASON, EXPECTATION]
    out.quarantined.to_parquet(tmp_path / "empty.parquet")


def test_caller_index_is_kept_even_when_repeated(clean: pd.DataFrame) -> None:
    bad = bad_batch(clean).set_axis([7] * 20)
    out = validate_applications(bad, max_reject_fraction=0.5)

    assert len(out.quarantined) == 8 and set(out.valid.index) == {7}
    assert out.quarantined[REASON].iloc[1] == "person_age=150 outside [18, 100]"


@pytest.mark.parametrize(
    "make",
    [
        lambda df: df,
        bad_batch,
        lambda df: df.drop(columns=["dob_ssn"]),
        lambda df: df.head(0),
        lambda df: bad_batch(df).head(3),
    ],
    ids=["clean", "bad", "schema_break", "empty", "all_bad"],
)
@pytest.mark.parametrize("limit", [0.0, 0.1, 1.0])
def test_nothing_is_ever_dropped(
    clean: pd.DataFrame, make: Callable[[pd.DataFrame], pd.DataFrame], limit: float
) -> None:
    df = make(clean)
    out = validate_applications(df, max_reject_fraction=limit)

    assert len(out.valid) + len(out.quarantined) == len(df)
    assert sorted([*out.valid["loan_id"], *out.quarantined["loan_id"]]) == sorted(df["loan_id"])
    assert (out.quarantined[REASON].str.len() > 0).all()


def test_days_judged_together_get_the_verdicts_they_get_alone(loans: pd.DataFrame, clean: pd.DataFrame) -> None:
    """One GE run for a range of days is a speed-up only: every day's outcome equals validating it alone,
    a duplicate key within a day is still caught, and a key seen on two days is not (keys are unique per day)."""
    loans = breaks_no_rule(loans)
    days = {f"d{i}": loans.iloc[i * 30 : (i + 1) * 30].reset_index(drop=True) for i in range(6)}
    days["d1"] = bad_batch(days["d1"])  # too many bad rows: the whole day is rejected
    days["d2"] = days["d2"].drop(columns=["loan_int_rate"])  # a schema break: judged alone
    days["d3"].loc[1, "loan_id"] = days["d3"].loc[0, "loan_id"]  # one duplicate within a day
    days["d3"].loc[2, "person_age"] = 150
    days["d4"].loc[0, "loan_id"] = days["d5"].loc[0, "loan_id"]  # the same id on two days
    together = validate_days(days, APPLICATIONS)
    for day, frame in days.items():
        alone = validate_batch(frame, APPLICATIONS)
        got = together[day]
        assert (got.passed, got.schema_ok, got.reject_fraction, got.expectations) == (
            alone.passed, alone.schema_ok, alone.reject_fraction, alone.expectations), day
        pd.testing.assert_frame_equal(got.valid, alone.valid)
        pd.testing.assert_frame_equal(got.quarantined, alone.quarantined)
    assert [together[d].passed for d in days] == [True, False, False, True, True, True]
    reasons = sorted(together["d3"].quarantined[REASON])
    assert reasons[-1] == "person_age=150 outside [18, 100]" and len(reasons) == 3
    assert all(r.startswith(f"loan_id={days['d3'].loc[0, 'loan_id']} landed 2 times with different") for r in reasons[:2])
    assert together["d4"].quarantined.empty and together["d5"].quarantined.empty


def test_a_repeated_key_keeps_one_exact_copy_none_of_a_conflict_and_never_rejects_the_rest(clean: pd.DataFrame) -> None:
    """Issue 16: conflicting copies of an id used to flag every copy, cross the failure ratio and reject 34 good rows."""
    good = pd.concat([clean, clean], ignore_index=True).iloc[:34].copy()
    good["loan_id"] = range(900_000, 900_034)
    copies = good.iloc[[0, 0, 0]]  # one record landed three times more
    conflict = good.iloc[[1, 1]].copy()
    conflict["loan_amnt"] = [5_000, 6_000]  # the same id twice, each with its own amount, besides the original
    batch = pd.concat([good, copies, conflict], ignore_index=True)
    out = validate_applications(batch)  # 6 of 39 rows carry a repeated key: 15 %, above the 10 % limit

    assert out.passed and out.reject_fraction == 0.0
    assert sorted(out.valid["loan_id"]) == sorted(set(good["loan_id"]) - {900_001})  # one copy of 900000, none of 900001
    reasons = out.quarantined.set_index("loan_id")[REASON]
    assert list(reasons[900_000]) == ["loan_id=900000: an exact copy of an earlier row (that one is kept)"] * 3
    assert list(reasons[900_001]) == ["loan_id=900001 landed 3 times with different loan_amnt: none kept, a person must decide which is right"] * 3
    assert len(out.valid) + len(out.quarantined) == len(batch)  # nothing dropped
