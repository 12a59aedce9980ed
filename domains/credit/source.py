"""The loan-application source: what lands, when its outcomes follow, where sample data comes from."""

from __future__ import annotations

from domains.credit import data, scenarios
from domains.credit.contract import APPLICATION_COLUMNS, CREDIT_HISTORY, LOAN_STATUS, ZIPCODES
from mlops_assets import SampleData, SourceSpec

APPLICATIONS = SourceSpec(
    name="applications",
    columns=APPLICATION_COLUMNS,
    id_column="loan_id",
    event_time="event_timestamp",
    labels=LOAN_STATUS,
    reference_tables=(ZIPCODES, CREDIT_HISTORY),
    first_day="2020-08-25",
    sample_data=SampleData(
        folder="credit_risk",
        load=data.load_credit_risk,
        synthesize=data.synthetic_replay,
        simulate=scenarios.simulate,
        scenarios=scenarios.SCENARIOS,
        story=("stable", *("concept-drift",) * 5),  # `mlops demo`: a stable week, then the relation changes
    ),
    owners=("team:credit-risk",),
    description="Loan applications as the bank's daily export lands them; loan_status (1 = default) follows 7 days later.",
)
