"""The credit domain's Feast objects: entities, sources, feature views and the model's feature service.

File paths are relative to the lake root; the Feast resource anchors them to the profile's
lake when it applies the repo, so one repo serves every profile.
"""

from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64, String

from domains.credit.encoding import ENCODED_FEATURES
from mlops_assets.features.columnar import COLUMNAR_TAG

# --- entities: the keys features are looked up by ------------------------------------------------
zipcode = Entity(name="zipcode", join_keys=["zipcode"], value_type=ValueType.INT64, description="US zipcode of the applicant")
person = Entity(name="person", join_keys=["dob_ssn"], value_type=ValueType.STRING, description="applicant (date of birth + SSN suffix)")

# --- sources -------------------------------------------------------------------------------------
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

# --- feature views: what is known about each entity, and the on-demand application encoder ------
zipcode_features = FeatureView(
    name="zipcode_features",
    entities=[zipcode],
    ttl=timedelta(days=3650),
    schema=[
        Field(name="population", dtype=Int64),
        Field(name="total_wages", dtype=Int64),
        Field(name="tax_returns_filed", dtype=Int64),
    ],
    source=zipcode_source,
    online=True,
)

credit_history = FeatureView(
    name="credit_history",
    entities=[person],
    ttl=timedelta(days=3650),
    schema=[
        Field(name=name, dtype=Int64)
        for name in (
            "credit_card_due",
            "mortgage_due",
            "student_loan_due",
            "vehicle_loan_due",
            "hard_pulls",
            "missed_payments_2y",
            "missed_payments_1y",
            "missed_payments_6m",
            "bankruptcies",
        )
    ],
    source=credit_history_source,
    online=True,
)


@on_demand_feature_view(
    name="application_features",
    sources=[application_request],
    schema=[Field(name=name, dtype=Float64) for name in ENCODED_FEATURES],
    mode="pandas",
    # the server runs the columnar form of the same encoder, without a DataFrame per request
    tags={COLUMNAR_TAG: "domains.credit.encoding:encode_columns"},
)
def application_features(inputs: pd.DataFrame) -> pd.DataFrame:
    """Delegates to the shared encoder.

    Feast pickles this function by value without its module's globals, so the encoder is
    imported when it runs; the encoder itself stays one importable function.
    """
    from domains.credit.encoding import encode_application

    return encode_application(inputs)


# --- the feature service: the one list of features the credit model trains and serves on --------
credit_model_v1 = FeatureService(
    name="credit_model_v1",
    features=[application_features, zipcode_features, credit_history],
    description="Credit default model: application, zipcode and credit history features",
)
