"""Validate a day of landed events against their source's contract with Great Expectations; quarantine failing rows.

GE evaluates the suite once per batch; its unexpected index lists say which row broke
which rule, so every rejected row carries a human reason. Nothing is dropped: a row is
either valid or quarantined.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from mlops_assets.specs.contract import Column
from mlops_assets.validated.expectations import UNIQUE, Rule, expectation_suite, rules_for
from mlops_assets.validated.types import LOSSLESS, check_types, missing_problem, typed

if TYPE_CHECKING:
    import great_expectations as gx
    from great_expectations.core.batch_definition import BatchDefinition

REASON = "_reason"
EXPECTATION = "_expectation"
BATCH_RULE = "max_reject_fraction"
DAY = "_day"  # which day a row of several stacked days came from

RowReasons = dict[int, list[tuple[str, str]]]
"""Position of a row in its day's frame -> (rule name, reason) for each rule outside the suite it breaks."""
RowRules = Callable[[str, pd.DataFrame], RowReasons]
"""(day, the day's frame as landed) -> the rows that break rules needing more than the row (time, history, other tables)."""


class Table(Protocol):
    """What is validated: a source's events (``SourceSpec``) or its labels (``validated.labels.LabelTable``)."""

    name: str
    columns: tuple[Column, ...]
    max_reject_fraction: float

    @property
    def dtypes(self) -> dict[str, str]: ...


_RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
_RUN_LOCK = threading.Lock()  # the cached GE context is shared by threads


@dataclass(frozen=True)
class ExpectationOutcome:
    """How one expectation fared; for the table-level rule, unexpected_count = missing columns."""

    name: str
    column: str | None
    success: bool
    unexpected_count: int


@dataclass(frozen=True)
class ValidationOutcome:
    """Valid rows, quarantined rows with reasons, and the batch verdict.

    Both frames keep the caller's index, so rows can be traced back to the input.
    """

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    expectations: tuple[ExpectationOutcome, ...]
    schema_ok: bool
    reject_fraction: float
    passed: bool
    max_reject_fraction: float
    rules: tuple[Rule, ...]
    contract: dict[str, str]
    schema_problems: tuple[str, ...] = ()
    casts: tuple[str, ...] = ()  # lossless casts of columns that landed with another dtype (type drift, logged)

    @property
    def summary(self) -> str:
        """One paragraph: what failed, how many rows, and how to fix it."""
        total = len(self.valid) + len(self.quarantined)
        by_name = {rule.name: rule for rule in self.rules}
        broken = ", ".join(
            f"{by_name[e.name].description} ({_rows(e.unexpected_count)})"
            for e in self.expectations
            if e.column is not None and e.unexpected_count
        )
        broken_text = f" Rules broken: {broken}." if broken else ""
        if not self.schema_ok:
            return (
                f"Schema break: {'; '.join(self.schema_problems)}. All {_rows(total)} were "
                f"quarantined.{broken_text} Fix the extract and re-land it; the full contract "
                f"(the source's columns) is {typed(self.contract, self.contract)}."
            )
        failed = round(self.reject_fraction * total)
        if not self.passed:
            return (
                f"Batch rejected: {failed} of {_rows(total)} ({self.reject_fraction:.1%}) failed "
                f"validation, above the {self.max_reject_fraction:.1%} limit, so all {_rows(total)} "
                f"were quarantined.{broken_text} Fix the upstream extract and re-land the batch; "
                "raise max_reject_fraction only if this failure rate is expected."
            )
        if failed:
            return (
                f"Validation passed: {failed} of {_rows(total)} ({self.reject_fraction:.2%}) broke "
                f"row-level rules and were quarantined, {total - failed} are valid.{broken_text} "
                "Fix those source records (see _reason in the quarantine) and re-land them, or "
                "widen the Column's bounds or allowed values in the source's contract if the values are legitimate."
            )
        return (
            f"Validation passed: all {_rows(total)} met the {len(self.rules)} expectations; "
            "nothing quarantined."
        )


def validate_batch(df: pd.DataFrame, source: Table, max_reject_fraction: float | None = None) -> ValidationOutcome:
    """Split `df` into valid and quarantined rows by `source`'s contract.

    The batch passes if every required column is present and checkable and at most
    `max_reject_fraction` (default: the source's) of its rows break a row-level rule;
    otherwise every row is quarantined, so a broken extract never half-lands.
    """
    return validate_days({"batch": df}, source, max_reject_fraction)["batch"]


def validate_days(
    frames: Mapping[str, pd.DataFrame], source: Table, max_reject_fraction: float | None = None, row_rules: RowRules | None = None
) -> dict[str, ValidationOutcome]:
    """`validate_batch` for each day, with one Great Expectations run for all the days whose columns follow the contract.

    GE's cost is mostly per run (about 0.3-0.5 s whatever the rows), so a range of days is
    judged as one frame; keys stay unique per day (a compound expectation on the key and the
    day) and each day gets its own verdict, exactly as if it had been judged alone (a test holds
    the two equal). A day whose columns or dtypes differ from the contract is judged alone:
    that is where schema breaks show.

    ``row_rules`` are called once per day, in day order, before the suite runs: a row they
    name is quarantined with their reason, and counts towards the day's reject fraction.
    """
    limit = source.max_reject_fraction if max_reject_fraction is None else max_reject_fraction
    rules, contract = rules_for(source.columns), source.dtypes
    extra = {day: row_rules(day, frames[day].reset_index(drop=True)) if row_rules else {} for day in sorted(frames)}
    together = {day: frame for day, frame in frames.items() if len(frame) and _follows(frame, contract)}
    outcomes = _validate_together(together, source, rules, contract, limit, extra) if len(together) > 1 else {}
    for day, frame in frames.items():
        if day not in outcomes:
            outcomes[day] = _validate_alone(frame, source, rules, contract, limit, extra[day])
    return {day: outcomes[day] for day in frames}


def _follows(frame: pd.DataFrame, contract: dict[str, str]) -> bool:
    """Every contract column present with the contract's dtype: GE can check every rule on it."""
    return all(name in frame.columns and str(frame[name].dtype) == dtype for name, dtype in contract.items())


def _validate_alone(
    df: pd.DataFrame, source: Table, rules: tuple[Rule, ...], contract: dict[str, str], limit: float, extra: RowReasons
) -> ValidationOutcome:
    frame = df.reset_index(drop=True)  # GE reports positions; the caller's index may repeat
    if frame.empty and set(contract) <= set(frame.columns):  # a day without events: nothing for GE to judge
        return _verdict(df, [], [], (), (), [], rules, contract, limit)
    types = check_types(frame, source.columns)
    results = _run(frame, source.name, rules)
    n = len(frame)
    reasons: list[list[str]] = [[] for _ in range(n)]
    failed_by: list[list[str]] = [[] for _ in range(n)]
    outcomes: list[ExpectationOutcome] = []
    missing: list[str] = []
    unreadable: dict[str, str] = {}
    schema_rules: list[str] = []
    for rule in rules:
        result = results[rule.name]
        if rule.column is None:
            missing = [] if result.success else _missing_columns(result.result, contract)
            schema_rules += [rule.name] if missing else []
            outcomes.append(ExpectationOutcome(rule.name, None, bool(result.success), len(missing)))
            continue
        error = _error_message(result.exception_info)
        if error is not None:  # a missing column, or values GE cannot compare (wrong dtype)
            if rule.column in frame.columns:
                unreadable.setdefault(rule.column, error)
                schema_rules.append(rule.name)
            outcomes.append(ExpectationOutcome(rule.name, rule.column, False, 0))
            continue
        _note(rule, frame, result.result["unexpected_index_list"], reasons, failed_by)
        outcomes.append(ExpectationOutcome(rule.name, rule.column, bool(result.success), int(result.result["unexpected_count"])))
    _add(types.row_reasons, reasons, failed_by)
    _add(extra, reasons, failed_by)
    schema_rules += [LOSSLESS] if types.problems else []
    problems = _schema_problems(missing, unreadable, contract) + types.problems
    return _verdict(df, reasons, failed_by, tuple(outcomes), problems, schema_rules, rules, contract, limit, types.casts)


def _validate_together(
    frames: Mapping[str, pd.DataFrame], source: Table, rules: tuple[Rule, ...], contract: dict[str, str], limit: float,
    extra: Mapping[str, RowReasons],
) -> dict[str, ValidationOutcome]:
    """One GE run over the days stacked; each day's verdict from its own rows. Empty if GE could not check a rule."""
    frame = pd.concat([f.reset_index(drop=True) for f in frames.values()], ignore_index=True)
    frame[DAY] = np.repeat(np.arange(len(frames)), [len(f) for f in frames.values()])
    stacked = tuple(rule.per_group(DAY) if rule.expectation == UNIQUE else rule for rule in rules)
    results = _run(frame, f"{source.name}_days", stacked)
    if any(_error_message(results[rule.name].exception_info) for rule in stacked if rule.column is not None):
        return {}
    bounds = np.cumsum([0, *(len(f) for f in frames.values())])
    positions = {rule.name: np.asarray(results[rule.name].result["unexpected_index_list"], dtype=int) for rule in stacked if rule.column}
    outcomes = {}
    for (day, df), start, stop in zip(frames.items(), bounds[:-1], bounds[1:]):
        day_frame = frame.iloc[start:stop].reset_index(drop=True)
        reasons: list[list[str]] = [[] for _ in range(stop - start)]
        failed_by: list[list[str]] = [[] for _ in range(stop - start)]
        expectations = []
        for rule, checked in zip(rules, stacked):
            if rule.column is None:
                expectations.append(ExpectationOutcome(rule.name, None, True, 0))
                continue
            mine = positions[checked.name]
            mine = mine[(mine >= start) & (mine < stop)] - start
            _note(rule, day_frame, mine.tolist(), reasons, failed_by)
            expectations.append(ExpectationOutcome(rule.name, rule.column, len(mine) == 0, len(mine)))
        _add(extra[day], reasons, failed_by)
        outcomes[day] = _verdict(df, reasons, failed_by, tuple(expectations), (), [], rules, contract, limit)
    return outcomes


def _add(row_reasons: RowReasons, reasons: list[list[str]], failed_by: list[list[str]]) -> None:
    for pos, broken in row_reasons.items():
        for name, reason in broken:
            reasons[pos].append(reason)
            failed_by[pos].append(name)


def _note(rule: Rule, frame: pd.DataFrame, positions: list[int], reasons: list[list[str]], failed_by: list[list[str]]) -> None:
    """Each listed row breaks ``rule``: say why, naming field, rule and value."""
    values = frame[rule.column].to_numpy(dtype=object) if positions else ()
    for pos in positions:
        reasons[pos].append(rule.violation(values[pos]))
        failed_by[pos].append(rule.name)


def _verdict(
    df: pd.DataFrame,
    reasons: list[list[str]],
    failed_by: list[list[str]],
    outcomes: tuple[ExpectationOutcome, ...],
    problems: tuple[str, ...],
    schema_rules: list[str],
    rules: tuple[Rule, ...],
    contract: dict[str, str],
    max_reject_fraction: float,
    casts: tuple[str, ...] = (),
) -> ValidationOutcome:
    """The batch verdict from each row's reasons: a schema break or too many bad rows quarantines every row.

    Rows broken only by a key's uniqueness are settled first (``_settle_duplicates``) and do
    not count towards the reject fraction: a repeated key says nothing of the other rows.
    """
    n = len(df)
    schema_ok = not problems
    duplicates_only = _settle_duplicates(df, reasons, failed_by, rules, contract) if schema_ok else set()
    failed = sum(1 for pos, r in enumerate(reasons) if r and pos not in duplicates_only)
    reject_fraction = (failed if schema_ok else n) / n if n else 0.0
    passed = schema_ok and reject_fraction <= max_reject_fraction
    if not schema_ok:
        for pos in range(n):
            reasons[pos][:0] = [f"schema break: {problem}" for problem in problems]
            failed_by[pos][:0] = schema_rules
    elif not passed:
        batch = (
            f"batch rejected: {reject_fraction:.1%} of rows failed validation "
            f"(limit {max_reject_fraction:.1%})"
        )
        for pos in range(n):
            if not reasons[pos]:
                reasons[pos].append(batch)
                failed_by[pos].append(BATCH_RULE)

    rejected = [bool(r) for r in reasons]
    quarantined = df.iloc[[pos for pos in range(n) if rejected[pos]]].copy()
    quarantined[REASON] = _text_column(reasons, quarantined.index)
    quarantined[EXPECTATION] = _text_column(failed_by, quarantined.index)
    return ValidationOutcome(
        valid=df.iloc[[pos for pos in range(n) if not rejected[pos]]],
        quarantined=quarantined,
        expectations=outcomes,
        schema_ok=schema_ok,
        reject_fraction=reject_fraction,
        passed=passed,
        max_reject_fraction=max_reject_fraction,
        rules=rules,
        contract=contract,
        schema_problems=problems,
        casts=casts,
    )


def _settle_duplicates(
    df: pd.DataFrame, reasons: list[list[str]], failed_by: list[list[str]], rules: tuple[Rule, ...], contract: dict[str, str]
) -> set[int]:
    """Rows whose only fault is a repeated key: exact copies keep their first row, conflicting copies keep none.

    The suite flags every copy of a repeated key. Copies that agree on every contract column
    are one record landed twice: the first is valid, the others are quarantined as copies.
    Copies that disagree cannot be told apart: all are quarantined, naming the columns that
    differ, for a person to decide. Returns the positions of rows still quarantined for this alone.
    """
    unique = {rule.name: rule.column for rule in rules if rule.expectation == UNIQUE}
    only = {pos for pos in range(len(df)) if failed_by[pos] and set(failed_by[pos]) <= set(unique)}
    if not only:
        return set()
    frame = df.reset_index(drop=True)
    columns = [c for c in contract if c in frame.columns]
    settled: set[int] = set()
    for name, key in unique.items():
        flagged = [pos for pos in range(len(df)) if name in failed_by[pos]]
        for value, group in frame.iloc[flagged].groupby(key, sort=False, dropna=False):
            differ = [c for c in columns if group[c].astype("string").nunique(dropna=False) > 1]
            for k, pos in enumerate(group.index):
                if pos not in only:
                    continue  # quarantined for another reason as well: that stands
                if not differ and k == 0:
                    reasons[pos], failed_by[pos] = [], []
                    continue
                reasons[pos] = [f"{key}={_show_key(value)} landed {len(group)} times with different {', '.join(differ)}: "
                                "none kept, a person must decide which is right" if differ
                                else f"{key}={_show_key(value)}: an exact copy of an earlier row (that one is kept)"]  # fmt: skip
                settled.add(pos)
    return settled


def _show_key(value: Any) -> str:
    return repr(value.item() if hasattr(value, "item") else value)


def _run(frame: pd.DataFrame, name: str, rules: tuple[Rule, ...]) -> dict[str, Any]:
    """GE results keyed by rule name.

    `Batch.validate` rather than a ValidationDefinition: the latter also serialises every
    result into the context's store, which doubles the run time for nothing.
    """
    batch_definition, suite = _gx_objects(name, rules)
    with _RUN_LOCK:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        run = batch.validate(suite, result_format=_RESULT_FORMAT)
    return {_result_name(r.expectation_config): r for r in run.results}


@functools.cache
def _gx_objects(name: str, rules: tuple[Rule, ...]) -> tuple[BatchDefinition, gx.ExpectationSuite]:
    """One in-memory GE context per suite and process: building it costs more than validating."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        ),
    )
    batch_definition = (
        context.data_sources.add_pandas("landing")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole_batch")
    )
    return batch_definition, context.suites.add(expectation_suite(name, rules))


def _result_name(config: Any) -> str:
    """The `Rule.name` of a GE result."""
    column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list") or ())
    return f"{config.type}({column})" if column else config.type


def _missing_columns(result: dict[str, Any], contract: dict[str, str]) -> list[str]:
    """Missing columns as GE reports them, in contract order."""
    reported = set(result["details"]["mismatched"]["missing"])
    return [c for c in contract if c in reported]


def _error_message(info: dict[str, Any] | None) -> str | None:
    """GE nests metric errors one level down, keyed by metric id."""
    info = info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _schema_problems(missing: list[str], unreadable: dict[str, str], contract: dict[str, str]) -> tuple[str, ...]:
    """Each schema problem with its fix: a missing column or one GE cannot check."""
    problems = [missing_problem(missing, contract)] if missing else []
    problems += [
        f"{column} could not be checked ({error}): the landing file must contain {typed([column], contract)}"
        for column, error in unreadable.items()
    ]
    return tuple(problems)


def _text_column(parts: list[list[str]], index: pd.Index) -> pd.Series:
    """Plain `str` values (parquet-friendly) for the rejected rows, joined by "; "."""
    return pd.Series(["; ".join(p) for p in parts if p], index=index, dtype=object)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
