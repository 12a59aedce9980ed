"""The check that the server's direct online read equals Feast's ``get_online_features``, for any profile's store."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

CREDIT_FIELDS = ["zipcode", "dob_ssn", "person_age", "person_income", "person_home_ownership",
                 "person_emp_length", "loan_intent", "loan_amnt", "loan_int_rate"]  # fmt: skip
ACCESS_FIELDS = ["resource", "mgr_id", "role_rollup_1", "role_rollup_2", "role_deptname", "role_title", "role_family_desc",
                 "role_family", "role_code"]  # fmt: skip


def request_rows(events: pd.DataFrame, fields: list[str] = CREDIT_FIELDS) -> list[dict[str, Any]]:
    """Events as the server sees them after validation: the request fields as plain Python values, NaN as None."""
    frame = events[fields].astype(object).where(events[fields].notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in frame.to_dict("records")]


def assert_reader_matches_feast(store: Any, service: str, rows: list[dict[str, Any]], *, witness: str, one_by_one: int = 50) -> int:
    """Every feature, every row: batched, then row by row through ``read`` and ``values``.

    ``witness`` is a stored feature of an optional entity (a credit history, a resource's history):
    rows with and without it are both compared one by one; returns how many rows had it.
    """
    from mlops_assets.features.online import OnlineFeatureReader

    reader = OnlineFeatureReader(store, service)
    expected = store.get_online_features(features=store.get_feature_service(service), entity_rows=rows).to_dict()
    got = reader.read(rows)
    assert set(got) == set(reader.features) and set(reader.features) <= set(expected)
    for name in reader.features:
        want = np.array([np.nan if v is None else v for v in expected[name]], dtype="float64")
        np.testing.assert_array_equal(got[name], want, err_msg=f"feature {name}")
    history = np.isfinite(got[witness])
    alone = [*np.flatnonzero(history)[: one_by_one // 2], *np.flatnonzero(~history)[: one_by_one // 2], len(rows) - 1]
    for i in dict.fromkeys(int(i) for i in alone):  # rows with and without the witness, and the last (edge cases go last)
        single = reader.read([rows[i]])
        for name in reader.features:
            np.testing.assert_array_equal(single[name], got[name][i : i + 1], err_msg=f"feature {name}, row {i} alone")
        values = reader.values(rows[i], reader.features)  # the endpoint's single-row path
        as_floats = np.array([np.nan if v is None else v for v in values], dtype="float64")
        np.testing.assert_array_equal(as_floats, [got[name][i] for name in reader.features], err_msg=f"row {i}, values()")
    return int(history.sum())
