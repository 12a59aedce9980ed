"""`build_source_assets`: a `SourceSpec` in, that source's Dagster definitions out.

raw_<source> → validated_<source> (+ quarantined_<source>, blocking GE check); <source>_labels →
validated_<source>_labels (+ quarantined_<source>_labels, blocking GE check) → labelled_<source> →
its feature tables; an ingest job, the sensor that launches it when
landing files arrive, and a nightly schedule. No branch here knows a particular source.
"""

from __future__ import annotations

import dagster as dg

from mlops_assets import keys
from mlops_assets.conditions import follows
from mlops_assets.features.tables import feature_table_asset
from mlops_assets.partitions import daily_partitions
from mlops_assets.provenance import automatic_tags
from mlops_assets.raw.assets import raw_events_asset, raw_labels_asset, reference_asset
from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.assets import validated_asset, validated_labels_asset
from mlops_assets.validated.events import labelled_asset
from sensors.arrival import arrival_sensor

MONITORING = "monitoring"
DEPLOYMENT = "deployment"


def ingest_job_name(source: SourceSpec) -> str:
    return f"{source.name}_ingest"


def feast_inputs(source: SourceSpec) -> list[dg.AssetKey]:
    """The assets whose tables this source's Feast sources read."""
    tables = [table.key for table in source.feature_tables]
    return [source.key("reference"), *tables] if source.reference_tables else tables


def build_source_assets(source: SourceSpec, partitions: dg.PartitionsDefinition | None = None) -> dg.Definitions:
    """The source's assets, its ingest job, arrival sensor and nightly schedule.

    The job `<source>_ingest` refreshes the source's assets (raw to feature tables, and the
    Feast views when it has feature tables) and the monitoring of every model on it;
    `<source>_arrival_sensor` launches it for the days whose landing files are new or changed,
    and `<source>_nightly_ingest` at 02:00 UTC for the day before. It also runs the checks on
    the endpoints of those models (how old their training data is: new days make it older).
    Feature tables follow the labelled events on their own (declarative automation) when
    those are refreshed outside this job.

    ``partitions`` is the daily calendar shared by every source of one Definitions (default:
    one starting at ``source.first_day``).
    """
    partitions = partitions or daily_partitions(source.first_day)
    assets = [
        raw_events_asset(source, partitions),
        validated_asset(source, partitions),
        raw_labels_asset(source, partitions),
        validated_labels_asset(source, partitions),
        labelled_asset(source),
        *dg.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=follows()),
                            [feature_table_asset(source, table) for table in source.feature_tables]),
    ]
    if source.reference_tables:
        assets.append(reference_asset(source))
    own = dg.AssetSelection.assets(*(key for asset in assets for key in asset.keys if key != source.key("reference")))
    on_source = dg.AssetSelection.tag("mlops/source", source.name)  # its assets and those of the models on it
    deployment = on_source & dg.AssetSelection.groups(DEPLOYMENT)
    selection = own | (on_source & dg.AssetSelection.groups(MONITORING)) | (deployment - deployment.without_checks())  # checks, not endpoints
    if source.feature_tables:  # outcomes change the entity features: the online store follows
        selection |= dg.AssetSelection.assets(keys.FEATURE_VIEWS, keys.ONLINE_FEATURES)
    ingest = dg.define_asset_job(
        ingest_job_name(source),
        selection=selection,
        description=f"Copy and validate days of {source.name} events and labels, refresh its labelled events and "
        "features, then the monitoring of every model on it.",
    )
    nightly = dg.build_schedule_from_partitioned_job(
        ingest, name=f"{source.name}_nightly_ingest", hour_of_day=2, default_status=dg.DefaultScheduleStatus.RUNNING,
        tags=automatic_tags(f"{source.name}_nightly_ingest schedule"),
    )  # fmt: skip
    return dg.Definitions(assets=assets, jobs=[ingest], sensors=[arrival_sensor(source, ingest.name)], schedules=[nightly])
