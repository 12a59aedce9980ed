"""Bad landing and label files, one kind per row, each with its exact outcome.

Every case lands files for one day in a fresh landing folder, reads them as the raw asset
does (``read_landing_day``: a file that cannot be read or breaks the contract's schema is
quarantined as a file) and
validates the day as the validated assets do (the contract's GE suite plus the rules that
need the lake: ``EventRules``, ``LabelRules``) against a lake history of earlier events and
labels. The outcome is counted exactly: valid rows, quarantined rows, quarantined files,
whether the day passes its blocking check, and words every reason (or the schema break,
the cast note, the file's reason) must hold. Both shipped domains are tried.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domains.access_requests import ACCESS_REQUESTS
from domains.credit import APPLICATIONS
from domains.credit.contract import DOB_SSN
from mlops_assets.raw.landing_files import read_landing_day
from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.event_rules import EventRules
from mlops_assets.validated.labels import LabelRules, label_table
from mlops_assets.validated.validate import REASON, ValidationOutcome, validate_days
from resources.lake import empty_frame
from tests.conftest import replay_tables

DAY, EARLIER, LABELLED_BEFORE = "2021-09-10", "2021-09-01", "2021-09-05"
ROWS, HISTORY = 40, 10  # the day's good events; earlier events (their labels land on DAY)
BASE = {"applications": 5_000_000, "access_requests": 9_000_000}  # ids of the day's events; history ids are BASE - 1000 + i
Content = pd.DataFrame | pa.Table | bytes


@dataclass(frozen=True)
class Expect:
    """The exact outcome of a day: rows kept and quarantined, files quarantined, the blocking check, the words."""

    valid: int
    quarantined: int = 0
    files: int = 0
    passed: bool = True
    words: str = ""  # in every quarantined row's reason, else in the rejected file's reason, else in a cast or stacking note


@dataclass(frozen=True)
class Case:
    name: str
    source: SourceSpec
    table: str  # "events" | "labels"
    land: Callable[[pd.DataFrame], list[Content]]  # the good frame -> the day's files
    expect: Expect


@dataclass
class Domain:
    source: SourceSpec
    events: pd.DataFrame  # the day's good events
    history: pd.DataFrame  # events validated on EARLIER
    labels: pd.DataFrame  # the day's good labels, of the history's events
    earlier_labels: pd.DataFrame  # labels validated on LABELLED_BEFORE: the first history event was labelled positive
    known: dict[str, set]  # each referencing column's values in its reference table


def good_events(source: SourceSpec, events: pd.DataFrame, day: str, first_id: int, n: int) -> pd.DataFrame:
    """``n`` real (or synthetic) events that break no rule, moved onto ``day`` with fresh ids."""
    frame = events.drop(columns=[source.labels.column]).loc[:, list(source.dtypes)]
    if source is APPLICATIONS:
        frame = frame[(frame["person_age"] <= 100) & (frame["person_emp_length"] <= 60) & frame["person_emp_length"].notna()]
    if source is APPLICATIONS:
        frame = frame[frame["dob_ssn"].str.fullmatch(DOB_SSN)]
    frame = frame.head(n).reset_index(drop=True).astype(source.dtypes)
    frame[source.id_column] = np.arange(first_id, first_id + n)
    times = pd.Timestamp(day, tz="UTC") + pd.to_timedelta(np.arange(n) * 10, unit="min")
    for column in source.columns:
        if column.kind == "timestamp":
            frame[column.name] = times
    return frame


@pytest.fixture(scope="module")
def domains() -> dict[str, Domain]:
    built = {}
    for source in (APPLICATIONS, ACCESS_REQUESTS):
        tables = replay_tables(source)
        events = tables.events
        base = BASE[source.name]
        history = good_events(source, events, EARLIER, base - 1000, HISTORY)
        label, time = source.labels.column, source.labels.time_column
        labels = pd.DataFrame({
            source.id_column: history[source.id_column],
            label: [1 if i % 3 == 0 else 0 for i in range(HISTORY)],
            time: pd.Timestamp(DAY, tz="UTC") + pd.to_timedelta(np.arange(HISTORY) + 1, unit="h"),
        }).astype(source.label_dtypes)  # fmt: skip
        earlier = labels.iloc[:1].assign(**{time: pd.Timestamp(LABELLED_BEFORE, tz="UTC")})
        known = {name: set(tables.reference[table.name][name]) for name, table in source.references.items()}
        built[source.name] = Domain(source, good_events(source, events, DAY, base, ROWS), history, labels, earlier, known)
    return built


def validate(domain: Domain, case: Case, tmp_path: Path) -> tuple[ValidationOutcome, Any]:
    source = domain.source
    files = []
    for i, content in enumerate(case.land(domain.events if case.table == "events" else domain.labels)):
        path = tmp_path / f"date={DAY}" / f"part-{i}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, pd.DataFrame):
            content.to_parquet(path, index=False)
        elif isinstance(content, pa.Table):
            pq.write_table(content, path)
        else:
            path.write_bytes(content)
        files.append(path)
    if case.table == "events":
        table, rules = source, EventRules(source, dict.fromkeys(domain.history[source.id_column], EARLIER), domain.known)
    else:
        table = label_table(source)
        known = pd.concat([domain.history, domain.events])[[source.id_column, source.event_time]]
        rules = LabelRules(source, known, domain.earlier_labels)
    landed = read_landing_day(files, DAY, table.columns)
    frame = landed.frame if landed.frame is not None else empty_frame(table.dtypes)
    return validate_days({DAY: frame}, table, row_rules=rules)[DAY], landed


# --- what a case lands -------------------------------------------------------------------------------------------

def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def also_good(bad: Callable[[pd.DataFrame], Content]) -> Callable[[pd.DataFrame], list[Content]]:
    """The bad file beside the day's good file: the good one must still be ingested."""
    return lambda good: [good, bad(good)]


def broken(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], list[Content]]:
    """A file whose schema ``change`` breaks, beside the day's good file: the file is quarantined, the good one ingested."""
    return also_good(lambda good: change(good.copy()))


def alone(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[pd.DataFrame], list[Content]]:
    """One file: the good frame changed by ``change`` (on a copy)."""
    return lambda good: [change(good.copy())]


def rows(column: str, value: Any, count: int = 1, start: int = 0) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """``count`` rows from ``start`` get ``value`` in ``column`` (the column becomes object dtype if it must)."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        if not (isinstance(value, (int, float)) or value is None) or (value is None and frame[column].dtype.kind in "iu"):
            frame[column] = frame[column].astype(object)
        frame.loc[start : start + count - 1, column] = value
        return frame

    return change


def column(name: str, convert: Callable[[pd.Series], Any]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame[name] = convert(frame[name])
        return frame

    return change


def drop(name: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[name])


def repeat(positions: list[int], change: dict[str, Any] | None = None) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The rows at ``positions`` land again, with ``change`` applied to the copies (a conflict) or not (exact copies)."""

    def make(frame: pd.DataFrame) -> pd.DataFrame:
        copies = frame.iloc[positions].copy()
        for name, value in (change or {}).items():
            copies[name] = value if not callable(value) else value(copies[name])
        return pd.concat([frame, copies], ignore_index=True)

    return make


def duplicate_columns(good: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(good, preserve_index=False)
    return pa.Table.from_arrays([*table.columns, table.column(0)], names=[*table.column_names, table.column_names[0]])


def day_shift(name: str, offset: pd.Timedelta | str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        if isinstance(offset, str):
            frame.loc[0, name] = pd.Timestamp(offset, tz="UTC")
        else:
            frame.loc[0, name] = frame.loc[0, name] + offset
        return frame

    return change


UNREADABLE: list[tuple[str, Callable[[pd.DataFrame], bytes | pa.Table], str]] = [
    ("zero-byte file", lambda g: b"", "not a readable parquet file"),
    ("csv named .parquet", lambda g: g.to_csv(index=False).encode(), "not a readable parquet file"),
    ("html named .parquet", lambda g: b"<html><body>502 Bad Gateway</body></html>", "not a readable parquet file"),
    ("json named .parquet", lambda g: g.head(3).to_json(orient="records").encode(), "not a readable parquet file"),
    ("truncated to half", lambda g: parquet_bytes(g)[: len(parquet_bytes(g)) // 2], "not a readable parquet file"),
    ("footer cut", lambda g: parquet_bytes(g)[:-6], "not a readable parquet file"),
    ("magic bytes only", lambda g: b"PAR1", "not a readable parquet file"),
    ("random bytes", lambda g: np.random.default_rng(0).bytes(4096), "not a readable parquet file"),
    ("duplicate column names", duplicate_columns, "duplicate column names"),
]

CREDIT_EVENTS: list[tuple[str, Callable[[pd.DataFrame], list[Content]], Expect]] = [
    *((f"unreadable: {name}", also_good(bad), Expect(ROWS, files=1, words=words)) for name, bad, words in UNREADABLE),
    ("no file at all", lambda g: [], Expect(0)),
    ("a file with no rows", lambda g: [g, g.head(0)], Expect(ROWS)),
    ("schema: missing loan_amnt, alone (the day has no usable file)", alone(drop("loan_amnt")),
     Expect(0, files=1, passed=False, words="missing column(s) loan_amnt")),
    ("schema: missing loan_amnt", broken(drop("loan_amnt")), Expect(ROWS, files=1, words="missing column(s) loan_amnt")),
    ("schema: missing event_timestamp", broken(drop("event_timestamp")), Expect(ROWS, files=1, words="missing column(s) event_timestamp")),
    ("schema: upper-case column names", broken(lambda f: f.rename(columns=str.upper)), Expect(ROWS, files=1, words="missing column(s)")),
    ("schema: timezone-naive timestamps", broken(column("event_timestamp", lambda s: s.dt.tz_localize(None))),
     Expect(ROWS, files=1, words="timezone-naive")),
    ("schema: epoch milliseconds", broken(column("event_timestamp", lambda s: s.astype("int64") // 1000)),
     Expect(ROWS, files=1, words="numbers, not timestamps")),
    ("schema: epoch seconds", broken(column("event_timestamp", lambda s: s.astype("int64") // 10**6)),
     Expect(ROWS, files=1, words="numbers, not timestamps")),
    ("schema: timestamps as text", broken(column("event_timestamp", lambda s: s.astype(str))), Expect(ROWS, files=1, words="not timestamps")),
    ("schema: ages as text", broken(column("person_age", lambda s: s.astype(str))), Expect(ROWS, files=1, words="person_age holds text")),
    ("schema: amounts as booleans", broken(column("loan_amnt", lambda s: s > 10_000)), Expect(ROWS, files=1, words="booleans")),
    ("schema: two breaks in one file", broken(lambda f: drop("zipcode")(column("person_income", lambda s: s.astype(str))(f))),
     Expect(ROWS, files=1, words="missing column(s) zipcode")),
    ("type drift: a second file in another time zone", also_good(lambda g: column("event_timestamp", lambda s: s.dt.tz_convert("Asia/Tokyo"))(g.assign(loan_id=g["loan_id"] + ROWS))),
     Expect(2 * ROWS, words="landed in 2 time zones across the day's files")),
    ("an extra column", alone(lambda f: f.assign(note="x")), Expect(ROWS)),
    ("type drift: ages as integral floats", alone(column("person_age", lambda s: s.astype(float))), Expect(ROWS, words="person_age landed as float64")),
    ("type drift: rates as ints", alone(column("loan_int_rate", lambda s: s.round().astype("int64"))), Expect(ROWS, words="cast to float64")),
    ("type drift: zipcodes as floats", alone(column("zipcode", lambda s: s.astype(float))), Expect(ROWS, words="zipcode landed as float64")),
    ("type drift: another time zone", alone(column("event_timestamp", lambda s: s.dt.tz_convert("America/New_York"))), Expect(ROWS, words="converted to UTC")),
    ("type drift: a non-integral float id", alone(lambda f: rows("loan_id", 5_000_000.5)(f.astype({"loan_id": float}))),
     Expect(ROWS - 1, 1, words="is not an integer")),
    ("age 150", alone(rows("person_age", 150, 3)), Expect(ROWS - 3, 3, words="person_age=150 outside [18, 100]")),
    ("age 17", alone(rows("person_age", 17)), Expect(ROWS - 1, 1, words="outside [18, 100]")),
    ("negative income", alone(rows("person_income", -5)), Expect(ROWS - 1, 1, words="person_income=-5 outside")),
    ("zero income (strict minimum)", alone(rows("person_income", 0)), Expect(ROWS - 1, 1, words="person_income=0 outside (0,")),
    ("zero amount", alone(rows("loan_amnt", 0)), Expect(ROWS - 1, 1, words="loan_amnt=0 outside")),
    ("amount 200,000", alone(rows("loan_amnt", 200_000)), Expect(ROWS - 1, 1, words="loan_amnt=200000 outside")),
    ("interest rate 45 %", alone(rows("loan_int_rate", 45.0)), Expect(ROWS - 1, 1, words="loan_int_rate=45 outside")),
    ("infinite interest rate", alone(rows("loan_int_rate", np.inf)), Expect(ROWS - 1, 1, words="loan_int_rate=inf outside")),
    ("negative employment length", alone(rows("person_emp_length", -1.0)), Expect(ROWS - 1, 1, words="person_emp_length=-1 outside")),
    ("employment length 61 years", alone(rows("person_emp_length", 61.0)), Expect(ROWS - 1, 1, words="outside [0, 60]")),
    ("home ownership CASTLE", alone(rows("person_home_ownership", "CASTLE")), Expect(ROWS - 1, 1, words="'CASTLE' not in")),
    ("loan intent in lower case", alone(rows("loan_intent", "medical")), Expect(ROWS - 1, 1, words="'medical' not in")),
    ("null loan_id", alone(rows("loan_id", None)), Expect(ROWS - 1, 1, words="loan_id is null")),
    ("null zipcode", alone(rows("zipcode", None)), Expect(ROWS - 1, 1, words="zipcode is null")),
    ("null income", alone(rows("person_income", None)), Expect(ROWS - 1, 1, words="person_income is null")),
    ("null employment length", alone(rows("person_emp_length", np.nan)), Expect(ROWS - 1, 1, words="person_emp_length is null")),
    ("null event time", alone(rows("event_timestamp", pd.NaT)), Expect(ROWS - 1, 1, words="event_timestamp is null")),
    ("a 100,000-character dob_ssn", alone(rows("dob_ssn", "1" * 100_000)), Expect(ROWS - 1, 1, words="dob_ssn has 100000 characters, over 13")),
    ("a 14-character dob_ssn", alone(rows("dob_ssn", "19800101_12345")), Expect(ROWS - 1, 1, words="over 13")),
    ("an exact copy of a row", alone(repeat([0])), Expect(ROWS, 1, words="an exact copy of an earlier row")),
    ("three exact copies", alone(repeat([0, 0, 0])), Expect(ROWS, 3, words="an exact copy")),
    ("a conflicting copy", alone(repeat([1], {"loan_amnt": 777})), Expect(ROWS - 1, 2, words="landed 2 times with different loan_amnt: none kept")),
    ("eight conflicting copies (20 %: the rest still lands)", alone(repeat(list(range(8)), {"person_income": lambda s: s + 1})),
     Expect(ROWS - 8, 16, words="with different person_income: none kept")),
    ("event a day after its partition", alone(day_shift("event_timestamp", pd.Timedelta(days=1))), Expect(ROWS - 1, 1, words="is not on 2021-09-10")),
    ("event in 1970", alone(day_shift("event_timestamp", "1970-01-19")), Expect(ROWS - 1, 1, words="1970-01-19T00:00:00+00:00 is not on")),
    ("event in 2099", alone(day_shift("event_timestamp", "2099-01-01")), Expect(ROWS - 1, 1, words="is not on 2021-09-10")),
    ("an id validated on an earlier day", alone(rows("loan_id", 5_000_000 - 1000)), Expect(ROWS - 1, 1, words="was already validated on 2021-09-01")),
    ("dob_ssn with dashes", alone(rows("dob_ssn", "1980-0101_123")), Expect(ROWS - 1, 1, words="dob_ssn='1980-0101_123' does not match")),
    ("dob_ssn on a 30th of February", alone(rows("dob_ssn", "19800230_1234")), Expect(ROWS - 1, 1, words="does not match")),
    ("dob_ssn in month 13", alone(rows("dob_ssn", "19801301_1234")), Expect(ROWS - 1, 1, words="does not match")),
    ("dob_ssn without its SSN suffix", alone(rows("dob_ssn", "19800101")), Expect(ROWS - 1, 1, words="does not match")),
    ("dob_ssn born in 1850", alone(rows("dob_ssn", "18500101_1234")), Expect(ROWS - 1, 1, words="does not match")),
    ("a zipcode the zipcodes table lacks", alone(rows("zipcode", 1)), Expect(ROWS - 1, 1, words="zipcode=1 is not in reference table zipcodes")),
    ("two unknown zipcodes", alone(rows("zipcode", 999_999, 2)), Expect(ROWS - 2, 2, words="is not in reference table zipcodes")),
    ("created after the day it landed", alone(day_shift("created_timestamp", pd.Timedelta(days=2))), Expect(ROWS - 1, 1, words="is after 2021-09-10")),
    ("created in 2099", alone(day_shift("created_timestamp", "2099-01-01")), Expect(ROWS - 1, 1, words="created_timestamp=2099-01-01T00:00:00+00:00 is after")),
    ("created before its event (1970)", alone(day_shift("created_timestamp", "1970-01-19")), Expect(ROWS - 1, 1, words="is before event_timestamp=")),
    ("created a minute before its event", alone(day_shift("created_timestamp", pd.Timedelta(minutes=-1))), Expect(ROWS - 1, 1, words="is before event_timestamp")),
    ("no created time (nullable)", alone(rows("created_timestamp", pd.NaT)), Expect(ROWS)),
    ("30 % null ages: the day is rejected", alone(rows("person_age", None, 12)), Expect(0, ROWS, passed=False)),
]

ACCESS_EVENTS: list[tuple[str, Callable[[pd.DataFrame], list[Content]], Expect]] = [
    ("unreadable: zero-byte file", also_good(lambda g: b""), Expect(ROWS, files=1, words="not a readable parquet file")),
    ("unreadable: duplicate column names", also_good(duplicate_columns), Expect(ROWS, files=1, words="duplicate column names")),
    ("schema: missing mgr_id", broken(drop("mgr_id")), Expect(ROWS, files=1, words="missing column(s) mgr_id")),
    ("schema: timezone-naive timestamps", broken(column("event_timestamp", lambda s: s.dt.tz_localize(None))), Expect(ROWS, files=1, words="timezone-naive")),
    ("schema: codes as text", broken(column("resource", lambda s: "R" + s.astype(str))), Expect(ROWS, files=1, words="resource holds text")),
    ("a negative code", alone(rows("resource", -1)), Expect(ROWS - 1, 1, words="resource=-1 outside")),
    ("a non-integral code", alone(lambda f: rows("role_code", 117906.5)(f.astype({"role_code": float}))), Expect(ROWS - 1, 1, words="is not an integer")),
    ("request_id 0", alone(rows("request_id", 0)), Expect(ROWS - 1, 1, words="request_id=0 outside")),
    ("a conflicting copy", alone(repeat([2], {"resource": 1})), Expect(ROWS - 1, 2, words="none kept")),
    ("an exact copy", alone(repeat([3])), Expect(ROWS, 1, words="an exact copy")),
    ("event in 1970", alone(day_shift("event_timestamp", "1970-01-01")), Expect(ROWS - 1, 1, words="is not on 2021-09-10")),
    ("an id validated on an earlier day", alone(rows("request_id", 9_000_000 - 1000)), Expect(ROWS - 1, 1, words="already validated")),
]


def label_cases(source: SourceSpec) -> list[tuple[str, Callable[[pd.DataFrame], list[Content]], Expect]]:
    """Label files: the same contract treatment, for either domain."""
    key, label, time = source.id_column, source.labels.column, source.labels.time_column
    first = BASE[source.name] - 1000  # the history event labelled positive on LABELLED_BEFORE
    return [
        *((f"unreadable: {name}", also_good(bad), Expect(HISTORY, files=1, words=words)) for name, bad, words in UNREADABLE[:5]),
        ("schema: no label column (was: zero labels, green run)", alone(drop(label)), Expect(0, files=1, passed=False, words=f"missing column(s) {label}")),
        ("schema: no label column, beside a good file", broken(drop(label)), Expect(HISTORY, files=1, words=f"missing column(s) {label}")),
        ("schema: no time column", broken(drop(time)), Expect(HISTORY, files=1, words=f"missing column(s) {time}")),
        ("schema: labels as text", broken(column(label, lambda s: s.map({0: "no", 1: "yes"}))), Expect(HISTORY, files=1, words=f"{label} holds text")),
        ("schema: timezone-naive label times", broken(column(time, lambda s: s.dt.tz_localize(None))), Expect(HISTORY, files=1, words="timezone-naive")),
        ("schema: label times in epoch ms", broken(column(time, lambda s: s.astype("int64") // 1000)), Expect(HISTORY, files=1, words="numbers")),
        ("type drift: labels as floats", alone(column(label, lambda s: s.astype(float))), Expect(HISTORY, words=f"{label} landed as float64")),
        ("label value 2", alone(rows(label, 2)), Expect(HISTORY - 1, 1, words=f"{label}=2 not in {{0, 1}}")),
        ("label value -1", alone(rows(label, -1)), Expect(HISTORY - 1, 1, words=f"{label}=-1 not in")),
        ("label value 7", alone(rows(label, 7)), Expect(HISTORY - 1, 1, words=f"{label}=7 not in")),
        ("null label", alone(rows(label, None)), Expect(HISTORY - 1, 1, words=f"{label} is null")),
        ("null id", alone(rows(key, None)), Expect(HISTORY - 1, 1, words=f"{key} is null")),
        ("null label time", alone(rows(time, pd.NaT)), Expect(HISTORY - 1, 1, words=f"{time} is null")),
        ("label time in 2099", alone(day_shift(time, "2099-01-01")), Expect(HISTORY - 1, 1, words="2099-01-01T00:00:00+00:00 is not on 2021-09-10")),
        ("label time in 1970", alone(day_shift(time, "1970-01-01")), Expect(HISTORY - 1, 1, words="is not on 2021-09-10")),
        ("a label for an event that never landed", alone(rows(key, 1)), Expect(HISTORY - 1, 1, words=f"{key}=1 has no validated event")),
        ("a label known before its event", alone(lambda f: rows(key, BASE[source.name] + ROWS - 1)(f)),
         Expect(HISTORY - 1, 1, words="is before its event")),
        ("a non-integral float id", alone(lambda f: rows(key, first + 0.5)(f.astype({key: float}))), Expect(HISTORY - 1, 1, words="is not an integer")),
        ("a flip of an earlier label", alone(rows(label, 0)), Expect(HISTORY - 1, 1, words=f"was labelled {label}=1 on {LABELLED_BEFORE}")),
        ("the earlier label again (harmless)", alone(rows(label, 1)), Expect(HISTORY)),
        ("two labels for one event that disagree", alone(repeat([1], {label: lambda s: 1 - s})), Expect(HISTORY - 1, 2, words="none kept")),
        ("the same label twice", alone(repeat([2])), Expect(HISTORY, 1, words="an exact copy")),
        ("schema: ids as text", alone(column(key, lambda s: s.astype(str))), Expect(0, files=1, passed=False, words=f"{key} holds text")),
        ("an extra column", alone(lambda f: f.assign(source_system="crm")), Expect(HISTORY)),
        ("a file with no rows", lambda g: [g.head(0)], Expect(0)),
        ("half the labels for unknown events: the day is rejected", alone(column(key, lambda s: s.where(s.index % 2 == 0, s + 10**7))),
         Expect(0, HISTORY, passed=False)),
    ]


CASES = [
    *(Case(f"credit events: {name}", APPLICATIONS, "events", land, expect) for name, land, expect in CREDIT_EVENTS),
    *(Case(f"access events: {name}", ACCESS_REQUESTS, "events", land, expect) for name, land, expect in ACCESS_EVENTS),
    *(Case(f"credit labels: {name}", APPLICATIONS, "labels", land, expect) for name, land, expect in label_cases(APPLICATIONS)),
    *(Case(f"access labels: {name}", ACCESS_REQUESTS, "labels", land, expect) for name, land, expect in label_cases(ACCESS_REQUESTS)[5:]),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_bad_file_gets_its_exact_outcome(case: Case, domains: dict[str, Domain], tmp_path: Path) -> None:
    outcome, landed = validate(domains[case.source.name], case, tmp_path)
    expect = case.expect
    nothing_usable = landed.frame is None and bool(landed.rejected)  # validated_<source> fails such a day (every file quarantined)
    got = Expect(len(outcome.valid), len(outcome.quarantined), len(landed.rejected), outcome.passed and not nothing_usable, expect.words)
    assert got == expect, outcome.summary
    if not expect.words:
        return
    if len(outcome.quarantined) and outcome.schema_ok:
        assert all(expect.words in reason for reason in outcome.quarantined[REASON]), list(outcome.quarantined[REASON])
    elif landed.rejected:
        assert all(expect.words in file.reason for file in landed.rejected), landed.rejected
    else:
        assert any(expect.words in note for note in outcome.casts + landed.notes), (outcome.casts, landed.notes)
