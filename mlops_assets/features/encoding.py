"""The application encoder: the one transformation both training and serving run.

Feast runs it as an on-demand feature view: on the training entity frame inside
`get_historical_features` and on each request inside `get_online_features`, so the
model never sees a feature computed two ways. It lives in an importable module (not in
the feature repo) because Feast pickles the function by reference into its registry.
"""

from __future__ import annotations

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


def encode_application(inputs: pd.DataFrame) -> pd.DataFrame:
    """Numeric model inputs from the raw application fields; unknown categories become NaN."""
    income = inputs["person_income"].astype("float64")
    amount = inputs["loan_amnt"].astype("float64")
    out = pd.DataFrame(index=inputs.index)
    out["age"] = inputs["person_age"].astype("float64")
    out["income"] = income
    out["emp_length"] = inputs["person_emp_length"].astype("float64")
    out["loan_amount"] = amount
    out["int_rate"] = inputs["loan_int_rate"].astype("float64")
    out["loan_to_income"] = amount / income.where(income > 0)
    out["home_ownership_code"] = inputs["person_home_ownership"].map(HOME_OWNERSHIP_CODES).astype("float64")
    out["loan_intent_code"] = inputs["loan_intent"].map(LOAN_INTENT_CODES).astype("float64")
    return out
