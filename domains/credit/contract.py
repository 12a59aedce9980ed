"""The loan-application contract: the columns that land, their outcomes, and the reference tables.

Everything the pipeline checks about a loan application is written here once: the GE suite,
the lake schemas, the replay and the endpoint's request checks are derived from it.
"""

from __future__ import annotations

from mlops_assets import Column, LabelContract, ReferenceTable

HOME_OWNERSHIP = ("RENT", "MORTGAGE", "OWN", "OTHER")
LOAN_INTENT = ("EDUCATION", "MEDICAL", "VENTURE", "PERSONAL", "DEBTCONSOLIDATION", "HOMEIMPROVEMENT")
TIMESTAMPS = (Column("event_timestamp", "timestamp"), Column("created_timestamp", "timestamp", nullable=True))
# YYYYMMDD_NNNN, with a month's days (February up to 29, whatever the year: the real data holds 29ths of
# non-leap years, and a date of birth is checked as a format, not a calendar).
DOB_SSN = r"(19|20)\d\d((0[13578]|1[02])(0[1-9]|[12]\d|3[01])|(0[469]|11)(0[1-9]|[12]\d|30)|02(0[1-9]|1\d|2\d))_\d{4}"

APPLICATION_COLUMNS = (
    Column("loan_id", "int", unique=True, description="one loan application"),
    Column("dob_ssn", "str", max_length=13, personal=True, pattern=DOB_SSN, description="the applicant: date of birth and SSN suffix (YYYYMMDD_NNNN)"),
    Column("zipcode", "int", references="zipcodes", description="the applicant's zipcode: one the zipcodes table knows"),
    Column("person_age", "int", minimum=18, maximum=100),
    Column("person_income", "int", minimum=0, maximum=10_000_000, strict_min=True),
    Column("person_home_ownership", "str", allowed=HOME_OWNERSHIP),
    Column("person_emp_length", "float", minimum=0, maximum=60),
    Column("loan_intent", "str", allowed=LOAN_INTENT),
    Column("loan_amnt", "int", minimum=1, maximum=100_000),
    Column("loan_int_rate", "float", minimum=0, maximum=40),
    TIMESTAMPS[0],
    Column("created_timestamp", "timestamp", nullable=True, not_before="event_timestamp", description="when the row was written: not before its event"),
)

LOAN_STATUS = LabelContract(column="loan_status", values=(0, 1), positive=1, delay_days=7)

ZIPCODES = ReferenceTable(
    "zipcodes",
    columns=(
        Column("zipcode", "int"),
        Column("city", "str"),
        Column("state", "str"),
        Column("location_type", "str"),
        Column("tax_returns_filed", "int"),
        Column("population", "int"),
        Column("total_wages", "int"),
        *TIMESTAMPS,
    ),
    description="US zipcode statistics",
)

CREDIT_HISTORY = ReferenceTable(
    "credit_history",
    columns=(
        Column("dob_ssn", "str"),
        *(Column(name, "int") for name in ("credit_card_due", "mortgage_due", "student_loan_due", "vehicle_loan_due", "hard_pulls",
                                           "missed_payments_2y", "missed_payments_1y", "missed_payments_6m", "bankruptcies")),
        *TIMESTAMPS,
    ),
    description="credit history of the applicants who have one on file",
)  # fmt: skip
