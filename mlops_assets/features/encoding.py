"""The application encoder: the one transformation both training and serving run.

Feast runs it as an on-demand feature view: on the training entity frame inside
`get_historical_features` and on each request inside `get_online_features`, so the
model never sees a feature computed two ways. It lives in an importable module (not in
the feature repo) because Feast pickles the function by reference into its registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlops_assets.schema import HOME_OWNERSHIP, LOAN_INTENT

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


def encode_columns(inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Numeric model inputs from raw application columns; unknown categories become NaN.

    ``inputs`` maps each field to a column: a pandas Series (the training frame) or a list
    (request rows), so the server encodes a request without building a DataFrame
    (about 1 ms saved per request) and still runs this very function.
    """
    income = _floats(inputs["person_income"])
    amount = _floats(inputs["loan_amnt"])
    with np.errstate(divide="ignore", invalid="ignore"):
        loan_to_income = np.where(income > 0, amount / income, np.nan)
    return {
        "age": _floats(inputs["person_age"]),
        "income": income,
        "emp_length": _floats(inputs["person_emp_length"]),
        "loan_amount": amount,
        "int_rate": _floats(inputs["loan_int_rate"]),
        "loan_to_income": loan_to_income,
        "home_ownership_code": _codes(inputs["person_home_ownership"], HOME_OWNERSHIP_CODES),
        "loan_intent_code": _codes(inputs["loan_intent"], LOAN_INTENT_CODES),
    }


def encode_application(inputs: pd.DataFrame) -> pd.DataFrame:
    """``encode_columns`` as the DataFrame a pandas on-demand feature view returns."""
    return pd.DataFrame(encode_columns(inputs), index=inputs.index)


def _floats(column: Any) -> np.ndarray:
    if isinstance(column, pd.Series):  # nullable integer columns hold pd.NA, which numpy cannot cast
        return column.astype("float64").to_numpy()
    return np.array(column, dtype="float64")  # None becomes NaN


def _codes(column: Any, codes: Mapping[str, float]) -> np.ndarray:
    return np.fromiter((codes.get(value, np.nan) for value in column), dtype="float64", count=len(column))
