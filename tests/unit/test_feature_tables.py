"""`label_history`: per entity, the outcomes known so far, stamped when each became known."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from mlops_assets import Column, LabelContract, SourceSpec, label_history

T0 = datetime(2021, 1, 1, tzinfo=timezone.utc)
SOURCE = SourceSpec(
    name="requests",
    columns=(Column("id", "int", unique=True), Column("resource", "int"), Column("ts", "timestamp")),
    id_column="id",
    event_time="ts",
    labels=LabelContract("granted", delay_days=3),
)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def test_counts_and_rates_are_stamped_when_each_outcome_arrived():
    events = pl.DataFrame({
        "id": [1, 2, 3, 4, 5],
        "resource": [7, 7, 8, 7, 7],
        "ts": [hours(0), hours(1), hours(2), hours(3), hours(4)],  # when asked: never used for the stamp
        "granted": [1, 0, 1, 1, 1],
        "labelled_at": [hours(72), hours(75), hours(74), hours(75), hours(80)],  # 2 and 4 arrive together
    })  # fmt: skip
    table = label_history("resource_history", "resource", prefix="res")
    assert table.features == ("res_count", "res_rate") and table.keys == ("resource",)
    out = table.build(events.sample(fraction=1.0, shuffle=True, seed=3), SOURCE).sort("resource", "event_timestamp")
    assert out.columns == ["resource", "event_timestamp", "created_timestamp", "res_count", "res_rate"]
    assert out.rows() == [
        (7, hours(72), hours(72), 1, 1.0),
        (7, hours(75), hours(75), 3, 2 / 3),  # two labels at one instant: one row counting both
        (7, hours(80), hours(80), 4, 3 / 4),
        (8, hours(74), hours(74), 1, 1.0),
    ]


def test_no_labels_no_rows():
    empty = pl.DataFrame(schema={"id": pl.Int64, "resource": pl.Int64, "ts": pl.Datetime("us", "UTC"), "granted": pl.Int64,
                                 "labelled_at": pl.Datetime("us", "UTC")})  # fmt: skip
    assert label_history("h", "resource").build(empty, SOURCE).height == 0
