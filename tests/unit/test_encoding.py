import math

import pandas as pd

from domains.credit.encoding import ENCODED_FEATURES, encode_application


def application(**overrides):
    row = {"person_age": 30, "person_income": 50000, "person_home_ownership": "OWN", "person_emp_length": 4.0,
           "loan_intent": "MEDICAL", "loan_amnt": 10000, "loan_int_rate": 12.5}
    return pd.DataFrame([{**row, **overrides}])


def test_outputs_exactly_the_declared_features_as_floats():
    out = encode_application(application())
    assert tuple(out.columns) == ENCODED_FEATURES
    assert all(str(t) == "float64" for t in out.dtypes)
    assert out.loc[0, "loan_to_income"] == 0.2
    assert out.loc[0, "home_ownership_code"] == 2.0
    assert out.loc[0, "loan_intent_code"] == 1.0


def test_unknown_category_and_zero_income_become_missing_not_errors():
    out = encode_application(application(loan_intent="CAR", person_income=0))
    assert math.isnan(out.loc[0, "loan_intent_code"])
    assert math.isnan(out.loc[0, "loan_to_income"])


def test_columnar_form_on_request_lists_equals_the_dataframe_form():
    """The server encodes lists of request values; training encodes a DataFrame: same numbers."""
    import numpy as np

    from domains.credit.encoding import encode_columns

    frame = pd.concat([application(), application(loan_intent="CAR", person_income=0), application(person_emp_length=None),
                       application(person_home_ownership="MORTGAGE", loan_int_rate=None)], ignore_index=True)
    columns = {name: frame[name].astype(object).where(frame[name].notna(), None).tolist() for name in frame.columns}  # None, as JSON null arrives
    listed = encode_columns(columns)
    framed = encode_application(frame)
    for name in ENCODED_FEATURES:
        np.testing.assert_array_equal(listed[name], framed[name].to_numpy(), err_msg=name)


def test_loan_to_income_is_missing_unless_income_is_positive_and_warns_nothing():
    import warnings

    import numpy as np

    from domains.credit.encoding import encode_columns

    incomes, amounts = [0.0, -1.0, None, 100.0, float("inf"), 200.0], [5.0, 5.0, 5.0, None, 5.0, 50.0]
    columns = {"person_income": incomes, "loan_amnt": amounts, "person_age": [30] * 6, "person_emp_length": [1.0] * 6,
               "loan_int_rate": [10.0] * 6, "person_home_ownership": ["RENT"] * 6, "loan_intent": ["MEDICAL"] * 6}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero or invalid-value warnings in the server's log
        out = encode_columns(columns)
    np.testing.assert_array_equal(out["loan_to_income"], [np.nan, np.nan, np.nan, np.nan, 0.0, 0.25])
