"""Labelled events: validated applications joined with the outcomes that have arrived so far."""

import dagster as dg
import polars as pl

from mlops_assets import keys
from mlops_assets.schema import APPLICATION_KEY, LABEL
from resources.lake import LakeResource

GROUP = "validated"


@dg.asset(key=keys.LABELLED_EVENTS, deps=[keys.VALIDATED_APPLICATIONS, keys.RAW_LABELS], group_name=GROUP, kinds={"polars", "parquet"})
def labelled_events(lake: LakeResource) -> dg.MaterializeResult:
    """One row per application whose outcome is known: the training population.

    A loan relabelled later keeps its most recent label; applications still waiting for an
    outcome are counted, not guessed.
    """
    applications = lake.scan_partitions("validated_applications").unique(APPLICATION_KEY, keep="last")
    labels = (
        lake.scan_partitions("raw_labels")
        .select(APPLICATION_KEY, LABEL, "labelled_at")
        .sort("labelled_at")
        .unique(APPLICATION_KEY, keep="last")
    )
    joined = applications.join(labels, on=APPLICATION_KEY, how="left").collect()
    labelled = joined.filter(pl.col(LABEL).is_not_null()).sort("event_timestamp")
    lake.write_table(labelled.to_pandas(), "labelled_events", "part.parquet")
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(labelled.height),
            "awaiting_label": dg.MetadataValue.int(joined.height - labelled.height),
            "default_rate": dg.MetadataValue.float(float(labelled[LABEL].mean() or 0.0)),
            "first_event": dg.MetadataValue.text(str(labelled["event_timestamp"].min())),
            "last_event": dg.MetadataValue.text(str(labelled["event_timestamp"].max())),
        }
    )
