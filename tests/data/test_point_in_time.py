"""Point-in-time correctness of the access-request features: a training row sees only outcomes known before it.

The histories (a resource's, a manager's... requests with a known decision, and the share granted)
change with every label that arrives, so a join that reads one value from after the event shows
up at once. The training set the pipeline built through Feast is compared, row by row and
feature by feature, with the same histories recomputed by brute force from the labelled events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from domains.access_requests import ACCESS_MODEL, ACCESS_REQUESTS
from tests.conftest import Pipeline

LABEL, KNOWN_AT = ACCESS_REQUESTS.labels.column, ACCESS_REQUESTS.labels.time_column


def expected_histories(events: pd.DataFrame, labelled: pd.DataFrame) -> pd.DataFrame:
    """For each event, each history's count and rate from the labels known at its time (labelled_at <= event time)."""
    out = pd.DataFrame(index=events.index)
    times = events[ACCESS_MODEL.event_time].to_numpy()
    for table in ACCESS_REQUESTS.feature_tables:
        [key], (count, rate) = table.keys, table.features
        counts, rates = np.zeros(len(events)), np.full(len(events), np.nan)
        for value, known in labelled.sort_values(KNOWN_AT).groupby(key):
            rows = np.flatnonzero(events[key].to_numpy() == value)
            seen = np.searchsorted(known[KNOWN_AT].to_numpy(), times[rows], side="right")  # labels known at or before the event
            granted = np.concatenate(([0], np.cumsum(known[LABEL].to_numpy() == ACCESS_REQUESTS.labels.positive)))[seen]
            counts[rows] = seen
            rates[rows] = np.where(seen > 0, granted / np.maximum(seen, 1), np.nan)
        out[count], out[rate] = counts, rates
    return out


def mismatches(features: pd.DataFrame, expected: pd.DataFrame) -> dict[str, int]:
    """Rows whose feature differs from the brute-force history (a missing count is zero: nothing known yet)."""
    found = {}
    for name in expected.columns:
        got = features[name].to_numpy(dtype="float64")
        if name.endswith("_count"):
            got = np.nan_to_num(got, nan=0.0)
        want = expected[name].to_numpy()
        bad = ~(np.isclose(got, want, rtol=0, atol=1e-12) | (np.isnan(got) & np.isnan(want)))
        if bad.any():
            found[name] = int(bad.sum())
    return found


@pytest.fixture(scope="module")
def labelled(pipeline: Pipeline) -> pd.DataFrame:
    return pd.read_parquet(pipeline.profile.lake_root / ACCESS_MODEL.events.path[-1] / "part.parquet")


@pytest.fixture(scope="module")
def training_set(pipeline: Pipeline) -> pd.DataFrame:
    return pipeline.training_set(ACCESS_MODEL.name)


def test_every_training_feature_is_the_history_known_before_its_event(training_set: pd.DataFrame, labelled: pd.DataFrame):
    expected = expected_histories(training_set, labelled)
    assert mismatches(training_set, expected) == {}
    # the check means something: the histories grow over the window, and early rows know less than late ones
    assert (expected["resource_count"] > 0).mean() > 0.5 and (expected["resource_count"] == 0).any()
    late = training_set[ACCESS_MODEL.event_time] > training_set[ACCESS_MODEL.event_time].median()
    assert expected.loc[late, "manager_count"].mean() > expected.loc[~late, "manager_count"].mean()


def test_no_event_sees_its_own_outcome(training_set: pd.DataFrame, labelled: pd.DataFrame):
    """Its own label arrives days after the event: it is never counted in its resource's history."""
    own = labelled.set_index(ACCESS_REQUESTS.id_column).loc[training_set[ACCESS_REQUESTS.id_column], KNOWN_AT].to_numpy()
    assert (own > training_set[ACCESS_MODEL.event_time].to_numpy()).all()


@pytest.mark.parametrize("shift", [pd.Timedelta(days=365), pd.Timedelta(days=ACCESS_REQUESTS.labels.delay_days)], ids=["a year", "the label delay"])
def test_the_check_catches_a_lookup_into_the_future(pipeline: Pipeline, training_set: pd.DataFrame, labelled: pd.DataFrame, shift):
    """The same retrieval with the lookup time moved after the event reads later values, and the check says so."""
    from mlops_assets.features.retrieval import model_inputs
    from resources import resources_for

    rows = training_set.sample(600, random_state=0).sort_values(ACCESS_MODEL.event_time)
    store = resources_for(pipeline.profile)["feast"].store()
    future = model_inputs(store, ACCESS_MODEL, rows.assign(**{ACCESS_MODEL.event_time: rows[ACCESS_MODEL.event_time] + shift}))
    future = future.set_index(ACCESS_REQUESTS.id_column).loc[rows[ACCESS_REQUESTS.id_column]].reset_index()
    found = mismatches(future, expected_histories(rows.reset_index(drop=True), labelled))
    assert found.get("resource_count", 0) > 100 and found.get("manager_count", 0) > 100, found
