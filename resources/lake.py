"""The parquet lake and the landing zone: where every table lives on disk.

Assets write their own tables here (rather than through an IO manager) because Feast,
the server and the sensors read the same files; a path convention shared by all is
simpler than teaching each of them Dagster's storage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import pandas as pd
import polars as pl

from mlops_assets.files import atomic_write
from mlops_assets.raw.landing_files import LandingDay, RejectedFile, read_landing_day
from mlops_assets.specs.contract import Column

PART_FILE = "part.parquet"
REJECTED_FILES = "rejected_files.json"  # beside a raw partition: its quarantined landing files


def atomic_write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """The frame as a parquet file that readers never see half written."""
    return atomic_write(path, frame.to_parquet(index=False))


def empty_frame(contract: dict[str, str]) -> pd.DataFrame:
    """No rows, the contract's columns and dtypes: what a day without data stores."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in contract.items()})


def day_folder(root: Path, table: str, day: str) -> Path:
    return root / table / f"date={day}"


class LakeResource(dg.ConfigurableResource):
    """Daily-partitioned and whole tables under the lake root, landing files under landing root."""

    root: str
    landing_root: str

    def path(self, *parts: str) -> Path:
        return Path(self.root).joinpath(*parts)

    def landing_files(self, folder_name: str, day: str) -> list[Path]:
        """Landing files of one folder (a source's events or its labels) for one day, in name order."""
        folder = day_folder(Path(self.landing_root), folder_name, day)
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def read_landing(self, folder_name: str, day: str, columns: tuple[Column, ...] = ()) -> LandingDay:
        """The day's usable landing files as one frame, columns as they landed (None if none), and the rejected ones:
        unreadable, or breaking the schema of ``columns``."""
        return read_landing_day(self.landing_files(folder_name, day), day, columns)

    @property
    def quarantined_files_root(self) -> Path:
        """Where rejected landing files (unreadable, or breaking the schema) are kept, per table and day, with a manifest."""
        return Path(self.root) / "quarantine" / "files"

    def write_rejected_files(self, table: str, day: str, rejected: tuple[RejectedFile, ...]) -> None:
        """Record beside a raw partition the landing files that were quarantined instead of read (none: the record goes)."""
        path = day_folder(Path(self.root), table, day) / REJECTED_FILES
        if rejected:
            atomic_write(path, json.dumps([asdict(file) for file in rejected], indent=2).encode())
        else:
            path.unlink(missing_ok=True)

    def rejected_files(self, table: str, day: str) -> list[dict]:
        """The landing files of ``day`` the last copy into raw ``table`` quarantined."""
        path = day_folder(Path(self.root), table, day) / REJECTED_FILES
        return json.loads(path.read_text()) if path.exists() else []

    def write_partition(self, frame: pd.DataFrame, table: str, day: str) -> Path:
        return atomic_write_parquet(frame, day_folder(Path(self.root), table, day) / PART_FILE)

    def read_partition(self, table: str, day: str) -> pd.DataFrame:
        path = day_folder(Path(self.root), table, day) / PART_FILE
        if not path.exists():
            raise FileNotFoundError(f"{table} has no partition {day} at {path}: materialize {table} for {day} first")
        return pd.read_parquet(path)

    def partitions(self, table: str) -> list[str]:
        """Days with a written partition, sorted."""
        folder = Path(self.root) / table
        if not folder.is_dir():
            return []
        return sorted(p.name.removeprefix("date=") for p in folder.glob("date=*") if (p / PART_FILE).exists())

    def scan_partitions(self, table: str, days: Iterable[str] | None = None) -> pl.LazyFrame:
        """Lazy scan over the given (default: all) partitions of a table."""
        wanted = self.partitions(table) if days is None else list(days)
        files = [str(day_folder(Path(self.root), table, d) / PART_FILE) for d in wanted]
        files = [f for f in files if Path(f).exists()]
        if not files:
            raise FileNotFoundError(f"{table} has no partitions under {self.path(table)}: materialize it first")
        return pl.scan_parquet(files, missing_columns="insert", extra_columns="ignore")

    def read_by_day(self, table: str, columns: list[str], exclude: Iterable[str] = ()) -> pd.DataFrame:
        """``columns`` of every partition but ``exclude``, with the day each row is from (column ``_day``)."""
        skip = set(exclude)
        days = [d for d in self.partitions(table) if d not in skip]
        if not days:
            return pd.DataFrame({**{c: pd.Series(dtype=object) for c in columns}, "_day": pd.Series(dtype=object)})
        files = [str(day_folder(Path(self.root), table, d) / PART_FILE) for d in days]
        frame = pl.scan_parquet(files, include_file_paths="_path", missing_columns="insert", extra_columns="ignore").select(
            *columns, pl.col("_path").str.extract(r"date=([0-9-]+)").alias("_day")
        )
        return frame.collect().to_pandas()

    def write_table(self, frame: pd.DataFrame, *parts: str) -> Path:
        return atomic_write_parquet(frame, self.path(*parts))

    def read_table(self, *parts: str) -> pd.DataFrame:
        path = self.path(*parts)
        if not path.exists():
            raise FileNotFoundError(f"no table at {path}: materialize the asset that writes it first")
        return pd.read_parquet(path)

    def write_json(self, record: dict, *parts: str) -> Path:
        """A small stage record (the version a stage produced, its decision) next to its tables."""
        return atomic_write(self.path(*parts), json.dumps(record, indent=2, default=str).encode())

    def read_json(self, *parts: str) -> dict:
        path = self.path(*parts)
        if not path.exists():
            raise FileNotFoundError(f"no record at {path}: materialize the asset that writes it first")
        return json.loads(path.read_text())
