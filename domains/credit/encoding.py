"""The application encoder: the one transformation both training and serving run.

Feast runs it as an on-demand feature view: on the training entity frame inside
`get_historical_features` and on each request inside `get_online_features`, so the
model never sees a feature computed two ways. It lives in an importable module (not in
the feature repo) because Feast pickles the function by reference into its registry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from domains.credit.contract import HOME_OWNERSHIP, LOAN_INTENT

HOME_OWNERSHIP_CODES = {value: float(code) for code, value in enumerate(HOME_OWNERSHIP)}
LOAN_INTENT_CODES = {value: float(code) for code, value in enumerate(LOAN_INTENT)}

ENCODED_FEATURES = (
    "age",
    "income",
    "emp_length",
    "loan_amount",
    "int_rate",
    "loan_to_income",
    "home_ownership_code",
    "loan_intent_code",
)
CATEGORICAL_FEATURES = ("home_ownership_code", "loan_intent_code")
NUMERIC_INPUTS = ("person_age", "person_income", "person_emp_length", "loan_amnt", "loan_int_rate")


def encode_columns(inputs: Mapping[str, Any]) -> dict[str, list[float]]:
    """Numeric model inputs from raw application columns; unknown categories become NaN.

    ``inputs`` maps each field to a column: a pandas Series (the training frame) or a list
    (request rows), so the server encodes a request without building a DataFrame (about
    1 ms saved per request) and still runs this very function. The arithmetic is plain
    Python on lists: one request row takes 1.8 us where numpy calls take 4.0 (and 11 in the
    running server, whose caches numpy's large code paths miss), so no request touches numpy;
    training pays 35 ms per 41,580 rows where numpy takes 10.5 ms.
    """
    age, income, emp_length, amount, rate = (_floats(inputs[name]) for name in NUMERIC_INPUTS)
    return {
        "age": age,
        "income": income,
        "emp_length": emp_length,
        "loan_amount": amount,
        "int_rate": rate,
        "loan_to_income": [a / i if i > 0.0 else math.nan for a, i in zip(amount, income)],  # NaN unless income > 0
        "home_ownership_code": _codes(inputs["person_home_ownership"], HOME_OWNERSHIP_CODES),
        "loan_intent_code": _codes(inputs["loan_intent"], LOAN_INTENT_CODES),
    }


def encode_application(inputs: pd.DataFrame) -> pd.DataFrame:
    """``encode_columns`` as the DataFrame a pandas on-demand feature view returns."""
    return pd.DataFrame(encode_columns(inputs), index=inputs.index, dtype="float64")


def _floats(column: Any) -> list[float]:
    """A column as floats, missing values (None, pd.NA) as NaN."""
    if isinstance(column, pd.Series):  # nullable integer columns hold pd.NA: let pandas cast them
        return column.astype("float64").tolist()
    return [math.nan if value is None else float(value) for value in column]


def _codes(column: Any, codes: Mapping[str, float]) -> list[float]:
    return [codes.get(value, math.nan) for value in column]
