"""Feature views: what is known about each entity, and the on-demand application encoder."""

from datetime import timedelta

import pandas as pd

from data_sources import application_request, credit_history_source, zipcode_source
from entities import person, zipcode
from feast import FeatureView, Field
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64

from mlops_assets.features.encoding import ENCODED_FEATURES
from mlops_assets.features.online import COLUMNAR_TAG

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
    tags={COLUMNAR_TAG: "mlops_assets.features.encoding:encode_columns"},
)
def application_features(inputs: pd.DataFrame) -> pd.DataFrame:
    """Delegates to the shared encoder.

    Feast pickles this function by value without its module's globals, so the encoder is
    imported when it runs; the encoder itself stays one importable function.
    """
    from mlops_assets.features.encoding import encode_application

    return encode_application(inputs)
