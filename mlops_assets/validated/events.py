"""Labelled events of a source: validated events joined with the outcomes that have arrived so far."""

import dagster as dg
import polars as pl

from mlops_assets.specs.source import SourceSpec
from resources.lake import LakeResource, empty_frame

GROUP = "validated"


def labelled_asset(source: SourceSpec) -> dg.AssetsDefinition:
    key, valid, labels = source.key("labelled"), source.key("validated"), source.key("validated_labels")
    label, labelled_at, id_column, event_time = source.labels.column, source.labels.time_column, source.id_column, source.event_time

    @dg.asset(key=key, deps=[valid, labels], group_name=GROUP, kinds={"polars", "parquet"}, owners=list(source.owners),
              tags={"mlops/source": source.name},
              description=f"{source.name}: one row per event whose outcome ({label}) is known, in time order: the training population.")  # fmt: skip
    def labelled_events(lake: LakeResource) -> dg.MaterializeResult:
        """Validated labels only (a flip waits in quarantine for a person); events still waiting for an outcome are counted, not guessed."""
        if not lake.partitions(valid.path[-1]) or not lake.partitions(labels.path[-1]):
            frame = empty_frame({**source.dtypes, label: "int64", labelled_at: "datetime64[us, UTC]"})
            lake.write_table(frame, *key.path, "part.parquet")
            return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.int(0), "status": dg.MetadataValue.text("no validated events or labels yet")})
        events = lake.scan_partitions(valid.path[-1]).unique(id_column, keep="last")
        outcomes = lake.scan_partitions(labels.path[-1]).select(id_column, label, labelled_at).sort(labelled_at).unique(id_column, keep="last")
        joined = events.join(outcomes, on=id_column, how="left").collect()
        labelled = joined.filter(pl.col(label).is_not_null()).sort(event_time)
        lake.write_table(labelled.to_pandas(), *key.path, "part.parquet")
        return dg.MaterializeResult(
            metadata={
                "rows": dg.MetadataValue.int(labelled.height),
                "awaiting_label": dg.MetadataValue.int(joined.height - labelled.height),
                "positive_rate": dg.MetadataValue.float(float(labelled[label].mean() or 0.0)),
                "first_event": dg.MetadataValue.text(str(labelled[event_time].min())),
                "last_event": dg.MetadataValue.text(str(labelled[event_time].max())),
            }
        )

    return labelled_events
