"""The online reader hands an on-demand view exactly the columns the view declares as its sources."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64

from mlops_assets.features.columnar import inputs_of as _inputs_of

person = Entity(name="person", join_keys=["person_id"], value_type=ValueType.INT64)
history = FeatureView(
    name="history",
    entities=[person],
    ttl=timedelta(days=1),
    schema=[Field(name="debt", dtype=Int64), Field(name="missed", dtype=Int64), Field(name="late", dtype=Int64)],
    source=FileSource(path="unused.parquet", timestamp_field="ts"),
)
request = RequestSource(name="request", schema=[Field(name="income", dtype=Int64), Field(name="debt", dtype=Int64)])


@on_demand_feature_view(sources=[request, history[["debt", "missed"]]], schema=[Field(name="debt_to_income", dtype=Float64)], mode="pandas")
def ratios(inputs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"debt_to_income": (inputs["debt"] + inputs["missed"]) / inputs["income"]})


def test_inputs_are_request_fields_then_projected_stored_features_once_each() -> None:
    # "late" is in the feature view but not in the projection the view reads; "debt" is both a
    # request field and a stored feature, and is listed once (the reader prefers the stored value)
    assert _inputs_of(ratios) == ("income", "debt", "missed")
