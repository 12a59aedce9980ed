"""The access-request replay: arrival days in file order, the contract's dtypes, a synthetic stand-in like the real data."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from domains.access_requests import ACCESS_REQUESTS
from domains.access_requests.data import DAYS, FIRST_DAY, arrival_times, synthetic_requests
from mlops_assets.simulate import continue_replay, landed_days, write_landing
from mlops_assets.validated.validate import validate_batch


def test_arrival_times_follow_the_file_order_about_360_a_day():
    times = arrival_times(32_769)
    assert times.is_monotonic_increasing and times.dt.tz is not None
    per_day = times.dt.date.value_counts().sort_index()
    assert per_day.index[0] == FIRST_DAY and len(per_day) == DAYS
    assert per_day.max() == 361 and per_day.iloc[:-1].min() == 361  # the last day takes the rest


def test_the_replay_follows_the_contract_and_validates(access_tables):
    events = access_tables.events
    assert {c: str(t) for c, t in events.dtypes.items()} == {**ACCESS_REQUESTS.dtypes, "action": "int64"}
    assert access_tables.day_range(ACCESS_REQUESTS) == (FIRST_DAY, date(2021, 10, 13))
    outcome = validate_batch(events.head(2_000), ACCESS_REQUESTS)
    assert outcome.passed and outcome.quarantined.empty
    assert 0.90 < events["action"].mean() < 0.97  # refusals are rare, as in the real data (5.8 %)


def test_the_synthetic_stand_in_is_seeded_and_shaped_like_the_real_requests():
    first, again, other = synthetic_requests(0).events, synthetic_requests(0).events, synthetic_requests(1).events
    pd.testing.assert_frame_equal(first, again)
    assert not first.equals(other)
    assert 0.92 < first["action"].mean() < 0.96
    counts = first["resource"].value_counts()
    assert counts.iloc[0] > 20 * counts.median(), "a few popular resources and a long tail, as in the real data"
    rates = first.groupby("resource")["action"].agg(["mean", "size"]).query("size >= 30")["mean"]
    assert rates.std() > 0.05, "resources differ in how often access is granted: what the histories learn"


def test_continue_lands_the_next_days_of_the_replay(tmp_path, access_tables):
    write_landing(ACCESS_REQUESTS, access_tables, tmp_path, start=FIRST_DAY, days=10)
    summary = continue_replay(ACCESS_REQUESTS, tmp_path, history=access_tables, days=7)
    assert (summary.first_day, summary.last_day) == (date(2021, 7, 25), date(2021, 7, 31))
    assert landed_days(tmp_path, ACCESS_REQUESTS.name)[-1] == date(2021, 7, 31)
    assert summary.labels > 0  # outcomes of the days before arrive, 3 days late
    with pytest.raises(ValueError, match="choose continue"):
        continue_replay(ACCESS_REQUESTS, tmp_path, "drift", history=access_tables)
