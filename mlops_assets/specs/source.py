"""`SourceSpec`: the frozen description of one data source that the source factory turns into assets.

A source is what arrives: events as daily landing files (columns by contract), outcomes
that trail them (label contract), whole reference tables, and entity feature tables the
pipeline computes from the labelled events for Feast to serve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from mlops_assets import keys
from mlops_assets.errors import ConfigurationError
from mlops_assets.specs.contract import Column, LabelContract, check_name, dtypes


@dataclass(frozen=True)
class ReferenceTable:
    """An entity table that lands whole (`landing/reference/<name>.parquet`) and is served by Feast
    from the lake's `reference/<name>.parquet`.

    ``columns`` is its contract: the reference asset fails on a landed table that lacks one
    of them, and copies only these into the lake.
    """

    name: str
    columns: tuple[Column, ...]
    description: str = ""

    def __post_init__(self) -> None:
        check_name("ReferenceTable", self.name)

    @property
    def lake_path(self) -> tuple[str, str]:
        """Where it lives under the lake root: the path its Feast `FileSource` names."""
        return ("reference", f"{self.name}.parquet")


FeatureBuilder = Callable[[Any, "SourceSpec"], Any]
"""(labelled events as a polars DataFrame, the source) -> the feature table as a polars DataFrame."""


@dataclass(frozen=True)
class FeatureTable:
    """An entity feature table computed from the source's labelled events, written to the lake's
    `features/<name>.parquet` for a Feast `FileSource` to read.

    ``build(events, source)`` takes the labelled events as a polars DataFrame and must stamp
    every row with the time its values became known (for outcomes, the time the label
    arrived), in ``event_timestamp`` and ``created_timestamp``, so a point-in-time join never
    reads a value from after an event. ``keys`` are its entity columns (the Feast entity's join
    keys) and ``features`` the columns it adds; the asset fails when a column is missing.
    """

    name: str
    build: FeatureBuilder
    keys: tuple[str, ...]
    features: tuple[str, ...]
    description: str = ""

    def __post_init__(self) -> None:
        check_name("FeatureTable", self.name)

    @property
    def lake_path(self) -> tuple[str, str]:
        """Where it is written under the lake root: the path its Feast `FileSource` names."""
        return ("features", f"{self.name}.parquet")

    @property
    def key(self) -> dg.AssetKey:
        """Its asset key, the table's name: user assets and jobs select it by this."""
        return keys.feature_table_key(self.name)


@dataclass(frozen=True)
class SampleData:
    """Where `mlops replay`, the demo and the tests get rows for this source.

    ``load(folder)`` reads the real dataset in ``folder`` (a name under the data root,
    `MLOPS_DATA`, default `../shared/datasets`); ``synthesize(seed)`` is the seeded stand-in
    used when that folder is absent. Both return a ``mlops_assets.simulate.ReplayTables``.
    ``simulate(source, root, scenario, history=, days=, seed=)`` lands more days with a scenario
    (`mlops simulate`; `mlops_assets.simulate.continue_replay` lands the replay's next days);
    ``story`` is the scenario of each week `mlops demo` plays.
    """

    folder: str
    load: Callable[[Path], Any]
    synthesize: Callable[[int], Any]
    simulate: Callable[..., Any] | None = None
    scenarios: tuple[str, ...] = ()
    story: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpec:
    """Everything that differs between two data sources; the source factory holds the rest.

    Events land daily under `landing/<name>/date=YYYY-MM-DD/*.parquet` and outcomes under
    `landing/<name>_labels/date=YYYY-MM-DD/*.parquet` (``id_column``, the label column and
    its time column). Validation quarantines rows that break ``columns``; a day with more
    than ``max_reject_fraction`` bad rows (or a schema break) is rejected whole.
    ``first_day`` is the earliest day data can fall on: the daily partitions start there.

    ``reference_tables`` land whole and ``feature_tables`` are computed from the labelled
    events; Feast serves both. ``sample_data`` lets `mlops replay`, the demo and the tests
    land rows without a real upstream. ``owners`` go on every asset of the source, and
    ``description`` on its raw asset, where the Dagster UI shows them.
    """

    name: str
    columns: tuple[Column, ...]
    id_column: str
    event_time: str
    labels: LabelContract
    reference_tables: tuple[ReferenceTable, ...] = ()
    feature_tables: tuple[FeatureTable, ...] = ()
    first_day: str = "2020-01-01"
    max_reject_fraction: float = 0.10
    sample_data: SampleData | None = None
    owners: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        check_name("SourceSpec", self.name)
        names = [c.name for c in self.columns]
        where = f"SourceSpec {self.name!r}"
        if len(set(names)) != len(names):
            duplicated = sorted({n for n in names if names.count(n) > 1})
            raise ConfigurationError(f"{where}: columns {duplicated} are declared twice; declare each column once")
        for field, kind in ((self.id_column, None), (self.event_time, "timestamp")):
            if field not in names:
                raise ConfigurationError(f"{where}: {field!r} is not one of its columns ({', '.join(names)}); add Column({field!r}, ...)")
            if kind and self.column(field).kind != kind:
                raise ConfigurationError(f"{where}: event_time column {field!r} must be of kind 'timestamp'")
        if not self.column(self.id_column).unique:
            raise ConfigurationError(f"{where}: id column {self.id_column!r} must be declared unique=True (it keys labels and predictions)")
        if self.labels.column in names:
            raise ConfigurationError(
                f"{where}: label {self.labels.column!r} is also a landing column; labels arrive in their own files, so drop it from columns"
            )
        tables = [t.name for t in (*self.reference_tables, *self.feature_tables)]
        if len(set(tables)) != len(tables):
            raise ConfigurationError(f"{where}: reference and feature table names must be distinct, got {tables}")
        for column in self.columns:
            self._check_links(column, where)
        try:
            date.fromisoformat(self.first_day)
        except ValueError:
            raise ConfigurationError(f"{where}: first_day={self.first_day!r} must be a date YYYY-MM-DD") from None
        if not 0 <= self.max_reject_fraction < 1:
            raise ConfigurationError(f"{where}: max_reject_fraction={self.max_reject_fraction} must be in [0, 1)")

    def _check_links(self, column: Column, where: str) -> None:
        """A column's ``references`` and ``not_before`` name things this source has."""
        if column.references is not None:
            by_name = {table.name: table for table in self.reference_tables}
            if column.references not in by_name:
                raise ConfigurationError(f"{where}: column {column.name!r} references {column.references!r}, which is not one of its "
                                         f"reference_tables ({', '.join(by_name) or 'none'})")  # fmt: skip
            if column.name not in {c.name for c in by_name[column.references].columns}:
                raise ConfigurationError(f"{where}: column {column.name!r} references {column.references!r}, whose columns lack {column.name!r}")
        if column.not_before is not None and (column.not_before == column.name or column.not_before not in {c.name for c in self.columns if c.kind == "timestamp"}):
            raise ConfigurationError(f"{where}: column {column.name!r} has not_before={column.not_before!r}, which must name another timestamp column")

    @property
    def references(self) -> dict[str, ReferenceTable]:
        """Column name -> the reference table that must hold its values."""
        by_name = {table.name: table for table in self.reference_tables}
        return {column.name: by_name[column.references] for column in self.columns if column.references is not None}

    def column(self, name: str) -> Column:
        """The contract's column of that name; a KeyError names the source, so a wrong name is found at once."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"source {self.name!r} has no column {name!r}")

    @property
    def dtypes(self) -> dict[str, str]:
        """Landing column -> pandas dtype, in contract order."""
        return dtypes(self.columns)

    @property
    def label_dtypes(self) -> dict[str, str]:
        """Columns of a label file and their dtypes."""
        return {self.id_column: self.column(self.id_column).dtype, self.labels.column: "int64", self.labels.time_column: "datetime64[us, UTC]"}

    def key(self, stage: str) -> dg.AssetKey:
        """This source's asset key for a stage (``keys.SOURCE_STAGES``: raw, validated, quarantined, labels, validated_labels, ...)."""
        return keys.source_key(self.name, stage)

    @property
    def labels_landing(self) -> str:
        """Landing folder of the label files."""
        return f"{self.name}_labels"
