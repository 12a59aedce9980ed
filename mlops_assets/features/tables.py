"""Entity feature tables computed from labelled events, and the one builder most domains need.

A feature table is written to the lake's `features/<name>.parquet` for a Feast `FileSource`
to read. Every row carries the time its values became known, so Feast's point-in-time join
(training) and materialization (serving) both see a value only from that moment on.
"""

import dagster as dg
import polars as pl

from mlops_assets.specs.source import FeatureTable, SourceSpec
from resources.lake import LakeResource

GROUP = "features"
EVENT_TIMESTAMP = "event_timestamp"
CREATED_TIMESTAMP = "created_timestamp"


def label_history(name: str, key: str, *, prefix: str | None = None, description: str = "") -> FeatureTable:
    """Per value of ``key``: how many of its events have a known outcome, and the share that were positive.

    Each row is stamped with the time a label arrived (the label contract's time column), so
    an event's features count only outcomes known before it happened; its own outcome, which
    arrives later, is never among them. Features: ``<prefix>_count`` and ``<prefix>_rate``.
    """
    prefix = prefix or key
    count, rate = f"{prefix}_count", f"{prefix}_rate"

    def build(events: pl.DataFrame, source: SourceSpec) -> pl.DataFrame:
        known_at = source.labels.time_column
        hits = (pl.col(source.labels.column) == source.labels.positive).cast(pl.Int64)
        return (
            events.select(pl.col(key), pl.col(known_at).alias(EVENT_TIMESTAMP), hits.alias("_hit"))
            .sort(EVENT_TIMESTAMP, maintain_order=True)
            .with_columns(
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(key).alias(count),
                pl.col("_hit").cum_sum().over(key).alias("_hits"),
            )
            .group_by(key, EVENT_TIMESTAMP, maintain_order=True)
            .last()  # labels arriving at the same instant: one row with all of them counted
            .select(
                key,
                EVENT_TIMESTAMP,
                pl.col(EVENT_TIMESTAMP).alias(CREATED_TIMESTAMP),
                count,
                (pl.col("_hits") / pl.col(count)).alias(rate),
            )
        )

    return FeatureTable(
        name=name,
        build=build,
        keys=(key,),
        features=(count, rate),
        description=description or f"per {key}: outcomes known so far ({count}) and the positive share among them ({rate})",
    )


def feature_table_asset(source: SourceSpec, table: FeatureTable) -> dg.AssetsDefinition:
    labelled = source.key("labelled")

    @dg.asset(key=table.key, deps=[labelled], group_name=GROUP, kinds={"polars", "parquet"}, owners=list(source.owners),
              tags={"mlops/source": source.name}, description=f"{source.name}: {table.description}")  # fmt: skip
    def feature_table(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        events = pl.read_parquet(lake.path(*labelled.path, "part.parquet"))
        frame = table.build(events, source)
        expected = {*table.keys, EVENT_TIMESTAMP, CREATED_TIMESTAMP, *table.features}
        if missing := sorted(expected - set(frame.columns)):
            raise dg.Failure(f"feature table {table.name!r}: its build returned no columns {missing}; it must return {sorted(expected)}")
        lake.write_table(frame.to_pandas(), *table.lake_path)
        context.log.info(f"{table.name}: {frame.height} rows from {events.height} labelled events")
        latest = frame[EVENT_TIMESTAMP].max() if frame.height else None
        return dg.MaterializeResult(metadata={
            "rows": dg.MetadataValue.int(frame.height),
            "entities": dg.MetadataValue.int(frame.select(table.keys).unique().height if frame.height else 0),
            "known_until": dg.MetadataValue.text(str(latest)),
            "path": dg.MetadataValue.path(str(lake.path(*table.lake_path))),
        })  # fmt: skip

    return feature_table
