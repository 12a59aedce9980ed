"""The server's direct online read against Feast's own ``get_online_features``, on the pipeline's SQLite store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from domains.access_requests import ACCESS_MODEL
from domains.credit import CREDIT_MODEL
from mlops_assets.errors import UnknownEntityError
from mlops_assets.features.online import OnlineFeatureReader
from resources import resources_for

from tests.conftest import Pipeline
from tests.integration.online_parity import ACCESS_FIELDS, assert_reader_matches_feast, request_rows


def landed(pipeline: Pipeline, source: str = "applications") -> pd.DataFrame:
    files = sorted(Path(pipeline.profile.landing_root, source).glob("*/*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


@pytest.fixture(scope="module")
def store(pipeline: Pipeline):
    return resources_for(pipeline.profile)["feast"].store()


def test_direct_read_equals_get_online_features_on_every_landed_application(pipeline: Pipeline, store):
    rows = request_rows(landed(pipeline))
    rows += [  # edges: no credit history, unknown category, zero income, missing employment length
        {**rows[0], "dob_ssn": "19000101_0000", "loan_intent": "CAR", "person_income": 0, "person_emp_length": None},
    ]
    with_history = assert_reader_matches_feast(store, CREDIT_MODEL.feature_service, rows, witness="credit_card_due")
    assert with_history > 10, "the comparison must cover applicants with a credit history, not only NaNs"


def test_direct_read_equals_get_online_features_on_every_landed_access_request(pipeline: Pipeline, store):
    rows = request_rows(landed(pipeline, "access_requests"), ACCESS_FIELDS)
    rows += [{**rows[0], "resource": 999_999_999, "mgr_id": 888_888_888}]  # a resource and manager nobody asked about yet
    with_history = assert_reader_matches_feast(store, ACCESS_MODEL.feature_service, rows, witness="resource_count")
    assert with_history > 100 and with_history < len(rows), "requests with and without a resource history"


def test_unknown_required_entity_is_named_and_optional_one_reads_as_missing(pipeline: Pipeline, store):
    reader = OnlineFeatureReader(store, CREDIT_MODEL.feature_service, required_keys=["zipcode"])
    row = request_rows(landed(pipeline).head(1))[0]
    with pytest.raises(UnknownEntityError) as caught:
        reader.read([row, {**row, "zipcode": 1}])
    assert caught.value.field == "zipcode" and caught.value.value == 1
    with pytest.raises(UnknownEntityError) as caught:
        reader.values({**row, "zipcode": 2}, reader.features)  # the endpoint's single-row path
    assert caught.value.field == "zipcode" and caught.value.value == 2
    got = reader.read([{**row, "dob_ssn": "19000101_0000"}])
    assert np.isnan(got["credit_card_due"][0]) and np.isfinite(got["population"][0])
    values = dict(zip(reader.features, reader.values({**row, "dob_ssn": "19000101_0000"}, reader.features)))
    assert values["credit_card_due"] is None and values["population"] == got["population"][0]


def test_a_view_without_columnar_twin_runs_its_pandas_function(pipeline: Pipeline, store, monkeypatch):
    """The fallback path gives the same numbers as the tagged columnar twin."""
    from mlops_assets.features import columnar

    rows = request_rows(landed(pipeline).head(200))
    fast = OnlineFeatureReader(store, CREDIT_MODEL.feature_service).read(rows)
    monkeypatch.setattr(columnar, "COLUMNAR_TAG", "no/such/tag")
    slow = OnlineFeatureReader(store, CREDIT_MODEL.feature_service).read(rows)
    for name, column in fast.items():
        np.testing.assert_array_equal(slow[name], column, err_msg=name)
