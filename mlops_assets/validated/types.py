"""Type drift: a column that landed with another dtype than its contract's is cast only when no value changes.

Before this, every valid row was cast to the contract's dtypes without a word. So a float id
2270002.5 became 2270002, epoch milliseconds became 1970-01-19, and timezone-naive
timestamps crashed the cast with a ``TypeError``. Now there are three outcomes:
- a value the cast would change quarantines its row, with the reason;
- a column that cannot mean what the contract says is a schema break, which quarantines
  the day: timestamps without a timezone, or numbers where timestamps belong;
- a cast that changes nothing (an int column landed as integral floats, ints in a float
  column, numbers in a text column, another timezone) is done and reported, so the drift
  is visible in the run's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mlops_assets.specs.contract import Column, dtypes

LOSSLESS = "lossless_cast"  # the rule name quarantined rows carry


@dataclass(frozen=True)
class TypeCheck:
    """What the landed dtypes mean for the batch: schema problems, rows whose values a cast would change, casts done."""

    problems: tuple[str, ...] = ()
    row_reasons: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # position in the frame -> (rule, reason)
    casts: tuple[str, ...] = ()


def typed(columns: list[str] | dict[str, str], contract: dict[str, str]) -> str:
    """Column names with their contract dtypes, e.g. ``loan_amnt (int64), zipcode (int64)``."""
    return ", ".join(f"{c} ({contract[c]})" for c in columns)


def missing_problem(missing: list[str], contract: dict[str, str]) -> str:
    """The schema problem of absent contract columns, with the fix."""
    return f"missing column(s) {', '.join(missing)}: the landing file must contain columns {typed(missing, contract)}"


def schema_breaks(frame: pd.DataFrame, columns: tuple[Column, ...]) -> tuple[str, ...]:
    """What makes a frame unusable as a whole under the contract, each with its fix; empty when it can be validated.

    Checked per landing file before the files of a day are stacked, so one broken extract is
    quarantined as a file and costs the day nothing: a missing column, timestamps that cannot
    be placed (no time zone, numbers, text), booleans or text where numbers belong.
    """
    contract = dtypes(columns)
    missing = [name for name in contract if name not in frame.columns]
    problems = [missing_problem(missing, contract)] if missing else []
    problems += check_types(frame, columns).problems
    for column in columns:
        if column.kind in ("int", "float") and column.name in frame.columns and _holds_text(frame[column.name]):
            problems.append(f"{column.name} holds text ({frame[column.name].dtype}), not numbers: land {column.kind} values")
    return tuple(problems)


def _holds_text(values: pd.Series) -> bool:
    return not ptypes.is_numeric_dtype(values) and ptypes.infer_dtype(values, skipna=True) not in ("integer", "floating", "mixed-integer-float", "decimal", "empty")


def rule_name(column: str) -> str:
    return f"{LOSSLESS}({column})"


def check_types(frame: pd.DataFrame, columns: tuple[Column, ...]) -> TypeCheck:
    """Each contract column present in ``frame`` whose dtype differs from the contract's, judged as above."""
    problems: list[str] = []
    casts: list[str] = []
    rows: dict[int, list[tuple[str, str]]] = {}
    for column in columns:
        if column.name not in frame.columns or str(frame[column.name].dtype) == column.dtype:
            continue
        values, landed = frame[column.name], str(frame[column.name].dtype)
        if column.kind == "timestamp":
            problem, cast = _timestamp(column.name, values, landed)
        elif column.kind == "int" and ptypes.is_float_dtype(values):
            changed = values.notna() & (values != np.floor(values))
            for pos in np.flatnonzero(changed.to_numpy()):
                rows.setdefault(int(pos), []).append((rule_name(column.name), f"{column.name}={values.iloc[pos].item()!r} is not an integer (landed as {landed})"))
            problem, cast = None, f"{column.name} landed as {landed}; cast to int64 ({int(changed.sum())} non-integral row(s) quarantined)"
        elif column.kind in ("int", "float") and ptypes.is_bool_dtype(values):
            problem, cast = f"{column.name} landed as booleans ({landed}), not numbers: land {column.kind} values", None
        elif column.kind == "float" and ptypes.is_integer_dtype(values):
            problem, cast = None, f"{column.name} landed as {landed}; cast to float64 (every value exact)"
        elif column.kind == "str" and ptypes.is_numeric_dtype(values) and not ptypes.is_bool_dtype(values):
            problem, cast = None, f"{column.name} landed as {landed} numbers; cast to text (leading zeros, if the source had any, are lost upstream)"
        else:
            continue  # other mismatches are judged by the suite (a number rule cannot read text: a schema break)
        problems += [problem] if problem else []
        casts += [cast] if cast else []
    return TypeCheck(tuple(problems), rows, tuple(casts))


def _timestamp(name: str, values: pd.Series, landed: str) -> tuple[str | None, str | None]:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        same = str(values.dtype.tz) == "UTC"
        return None, None if same else f"{name} landed in time zone {values.dtype.tz}; converted to UTC"
    if ptypes.is_datetime64_dtype(values):
        return f"{name} is timezone-naive ({landed}): land timestamps with a time zone (UTC), a local time cannot be placed", None
    if ptypes.is_numeric_dtype(values):
        return f"{name} holds {landed} numbers, not timestamps (epoch seconds or milliseconds?): land timestamps with a time zone", None
    return f"{name} holds {landed} values, not timestamps: land timestamps with a time zone", None
