"""Column contracts of the landing zone and lake tables.

One place names every column and its dtype so that the simulator, validation, Feast
sources and the server agree by construction.
"""

from __future__ import annotations

APPLICATION_KEY = "loan_id"
LABEL = "loan_status"
EVENT_TIME = "event_timestamp"

# Columns of a loan application as it lands (no label). Dtypes are pandas dtypes.
APPLICATION_COLUMNS: dict[str, str] = {
    "loan_id": "int64",
    "dob_ssn": "object",
    "zipcode": "int64",
    "person_age": "int64",
    "person_income": "int64",
    "person_home_ownership": "object",
    "person_emp_length": "float64",
    "loan_intent": "object",
    "loan_amnt": "int64",
    "loan_int_rate": "float64",
    "event_timestamp": "datetime64[us, UTC]",
    "created_timestamp": "datetime64[us, UTC]",
}

# Outcomes arrive later, in their own files.
LABEL_COLUMNS: dict[str, str] = {
    "loan_id": "int64",
    "loan_status": "int64",
    "labelled_at": "datetime64[us, UTC]",
}

ZIPCODE_COLUMNS: dict[str, str] = {
    "zipcode": "int64",
    "city": "object",
    "state": "object",
    "location_type": "object",
    "tax_returns_filed": "int64",
    "population": "int64",
    "total_wages": "int64",
    "event_timestamp": "datetime64[us, UTC]",
    "created_timestamp": "datetime64[us, UTC]",
}

CREDIT_HISTORY_COLUMNS: dict[str, str] = {
    "dob_ssn": "object",
    "credit_card_due": "int64",
    "mortgage_due": "int64",
    "student_loan_due": "int64",
    "vehicle_loan_due": "int64",
    "hard_pulls": "int64",
    "missed_payments_2y": "int64",
    "missed_payments_1y": "int64",
    "missed_payments_6m": "int64",
    "bankruptcies": "int64",
    "event_timestamp": "datetime64[us, UTC]",
    "created_timestamp": "datetime64[us, UTC]",
}

HOME_OWNERSHIP = ("RENT", "MORTGAGE", "OWN", "OTHER")
LOAN_INTENT = (
    "EDUCATION",
    "MEDICAL",
    "VENTURE",
    "PERSONAL",
    "DEBTCONSOLIDATION",
    "HOMEIMPROVEMENT",
)
