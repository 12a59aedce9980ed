"""A landing file that cannot be read or breaks the schema is quarantined as a file; the day's good files and the other days are ingested."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlops_assets import Column, LabelContract, SourceSpec
from mlops_assets.raw.assets import FILES_READABLE, raw_events_asset
from resources.lake import LakeResource

SOURCE = SourceSpec(name="orders", columns=(Column("event_id", "int", unique=True), Column("amount", "float"), Column("ts", "timestamp")),
                    id_column="event_id", event_time="ts", labels=LabelContract("churned"))  # fmt: skip
DAYS = ("2026-01-01", "2026-01-02")


def orders(ids: list[int], day: str) -> pd.DataFrame:
    return pd.DataFrame({"event_id": ids, "amount": [1.0] * len(ids), "ts": pd.Timestamp(day, tz="UTC")})


def land(root: Path, day: str, name: str, content: bytes | pd.DataFrame | pa.Table) -> Path:
    path = root / "orders" / f"date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, pd.DataFrame):
        content.to_parquet(path)
    elif isinstance(content, pa.Table):
        pq.write_table(content, path)
    else:
        path.write_bytes(content)
    return path


def test_a_bad_file_is_quarantined_and_the_good_ones_are_ingested(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", LakeResource(root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))
    good = land(landing, DAYS[0], "a.parquet", orders([1, 2], DAYS[0]))
    empty = land(landing, DAYS[0], "b.parquet", b"")
    csv = land(landing, DAYS[0], "c.parquet", b"event_id,amount\n3,1.0\n")
    truncated = land(landing, DAYS[0], "d.parquet", good.read_bytes()[:-40])
    dupes = land(landing, DAYS[0], "e.parquet", pa.Table.from_arrays([pa.array([4]), pa.array([1.0]), pa.array([2.0])], names=["event_id", "amount", "amount"]))
    land(landing, DAYS[1], "a.parquet", orders([5, 6, 7], DAYS[1]))
    partitions = dg.DailyPartitionsDefinition(start_date=DAYS[0], end_date="2026-01-03")
    asset = raw_events_asset(SOURCE, partitions)

    # invoked directly: dg.materialize would leave Dagster's definitions-load context pointing at its dead ephemeral instance
    result = asset(dg.build_asset_context(partition_key_range=dg.PartitionKeyRange(*DAYS)), lake=lake)  # one run, two days

    assert isinstance(result, dg.MaterializeResult), "bad files fail a check, not the run"
    assert lake.read_partition("raw_orders", DAYS[0])["event_id"].tolist() == [1, 2]
    assert lake.read_partition("raw_orders", DAYS[1])["event_id"].tolist() == [5, 6, 7]
    [check] = result.check_results
    assert check.check_name == FILES_READABLE and not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    manifest = json.loads((lake.quarantined_files_root / "raw_orders" / f"date={DAYS[0]}" / "manifest.json").read_text())
    by_path = {Path(r["path"]).name: r for r in manifest}
    assert set(by_path) == {empty.name, csv.name, truncated.name, dupes.name}
    assert "duplicate column names ['amount']" in by_path[dupes.name]["reason"]
    assert all(r["reason"].startswith("not a readable parquet file") for n, r in by_path.items() if n != dupes.name)
    for path in (empty, csv, truncated, dupes):  # kept whole, and the hash says it is the same file
        kept = lake.quarantined_files_root / "raw_orders" / f"date={DAYS[0]}" / path.name
        assert hashlib.sha256(kept.read_bytes()).hexdigest() == by_path[path.name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_readable_files_pass_the_check(tmp_path: Path) -> None:
    lake = LakeResource(root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))
    land(tmp_path / "landing", DAYS[0], "a.parquet", orders([1], DAYS[0]))
    partitions = dg.DailyPartitionsDefinition(start_date=DAYS[0], end_date="2026-01-03")
    result = raw_events_asset(SOURCE, partitions)(dg.build_asset_context(partition_key=DAYS[0]), lake=lake)
    [check] = result.check_results
    assert check.passed and not (lake.quarantined_files_root / "raw_orders").exists()


def test_a_file_that_breaks_the_schema_is_quarantined_as_a_file(tmp_path: Path) -> None:
    landing, lake = tmp_path / "landing", LakeResource(root=str(tmp_path / "lake"), landing_root=str(tmp_path / "landing"))
    land(landing, DAYS[0], "a.parquet", orders([1, 2], DAYS[0]))
    no_amount = land(landing, DAYS[0], "b.parquet", orders([3], DAYS[0]).drop(columns=["amount"]))
    naive = land(landing, DAYS[1], "a.parquet", orders([4], DAYS[1]).assign(ts=pd.Timestamp(DAYS[1])))
    partitions = dg.DailyPartitionsDefinition(start_date=DAYS[0], end_date="2026-01-03")

    result = raw_events_asset(SOURCE, partitions)(dg.build_asset_context(partition_key_range=dg.PartitionKeyRange(*DAYS)), lake=lake)

    assert lake.read_partition("raw_orders", DAYS[0])["event_id"].tolist() == [1, 2]
    assert lake.read_partition("raw_orders", DAYS[1]).empty, "a day whose only file is broken has no rows, in the contract's schema"
    [check] = result.check_results
    assert not check.passed and check.metadata["days"].value == ", ".join(DAYS)
    reasons = {Path(r["path"]).name + r["day"]: r["reason"] for r in check.metadata["quarantined_files"].value}
    assert "missing column(s) amount" in reasons[no_amount.name + DAYS[0]]
    assert "ts is timezone-naive" in reasons[naive.name + DAYS[1]]
    for day, path in ((DAYS[0], no_amount), (DAYS[1], naive)):
        assert (lake.quarantined_files_root / "raw_orders" / f"date={day}" / path.name).read_bytes() == path.read_bytes()
        assert [Path(r["path"]).name for r in lake.rejected_files("raw_orders", day)] == [path.name]  # what validation reads

    no_amount.unlink()  # the extract is fixed: the next copy forgets the rejection
    raw_events_asset(SOURCE, partitions)(dg.build_asset_context(partition_key=DAYS[0]), lake=lake)
    assert lake.rejected_files("raw_orders", DAYS[0]) == [] and lake.rejected_files("raw_orders", DAYS[1])
