"""Data sources. File paths are relative to the lake root; the Feast resource anchors them
to the profile's lake when it applies the repo, so one repo serves every profile."""

from feast import Field, FileSource, RequestSource
from feast.types import Float64, Int64, String

zipcode_source = FileSource(
    name="zipcodes",
    path="reference/zipcodes.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)

credit_history_source = FileSource(
    name="credit_history",
    path="reference/credit_history.parquet",
    timestamp_field="event_timestamp",
    created_timestamp_column="created_timestamp",
)

# The application being scored arrives with the request (training: the entity frame).
application_request = RequestSource(
    name="application",
    schema=[
        Field(name="person_age", dtype=Int64),
        Field(name="person_income", dtype=Int64),
        Field(name="person_home_ownership", dtype=String),
        Field(name="person_emp_length", dtype=Float64),
        Field(name="loan_intent", dtype=String),
        Field(name="loan_amnt", dtype=Int64),
        Field(name="loan_int_rate", dtype=Float64),
    ],
)
