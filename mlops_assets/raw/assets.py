"""Raw assets of a source: landing files copied into the lake as they arrived, one partition a day."""

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets.partitions import single_run
from mlops_assets.specs.source import SourceSpec
from resources.lake import LakeResource, empty_frame

GROUP = "raw"


def _copy_landing(context: AssetExecutionContext, lake: LakeResource, folder: str, table: str, contract: dict[str, str]) -> dg.MaterializeResult:
    """Copy each day's landing files untouched (schema breaks must reach validation to be caught).

    A day with nothing landed becomes an empty partition in the contract's schema.
    """
    rows: dict[str, int] = {}
    missing: list[str] = []
    for day in context.partition_keys:
        frame = lake.read_landing(folder, day)
        if frame is None:
            missing.append(day)
            frame = empty_frame(contract)
        lake.write_partition(frame, table, day)
        rows[day] = len(frame)
    if missing:
        context.log.warning(f"{table}: nothing landed for {len(missing)} day(s): {', '.join(missing[:5])}")
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(sum(rows.values())),
            "days": dg.MetadataValue.int(len(rows)),
            "days_without_files": dg.MetadataValue.int(len(missing)),
            "path": dg.MetadataValue.path(str(lake.path(table))),
        }
    )


def raw_events_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    key = source.key("raw")

    @dg.asset(key=key, group_name=GROUP, partitions_def=partitions, backfill_policy=single_run, kinds={"parquet"},
              owners=list(source.owners), tags={"mlops/source": source.name},
              description=f"{source.name}: the day's events exactly as they landed in landing/{source.name}/. {source.description}".strip())  # fmt: skip
    def raw_events(context: AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return _copy_landing(context, lake, source.name, key.path[-1], source.dtypes)

    return raw_events


def raw_labels_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    key = source.key("labels")
    delay = source.labels.delay_days

    @dg.asset(key=key, group_name=GROUP, partitions_def=partitions, backfill_policy=single_run, kinds={"parquet"},
              owners=list(source.owners), tags={"mlops/source": source.name},
              description=f"{source.name}: outcomes ({source.labels.column}) that arrived that day, usually {delay} days after their event.")  # fmt: skip
    def raw_labels(context: AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return _copy_landing(context, lake, source.labels_landing, key.path[-1], source.label_dtypes)

    return raw_labels


def reference_asset(source: SourceSpec) -> dg.AssetsDefinition:
    names = ", ".join(table.name for table in source.reference_tables)

    @dg.asset(key=source.key("reference"), group_name=GROUP, kinds={"parquet"}, owners=list(source.owners),
              tags={"mlops/source": source.name},
              description=f"{source.name}: entity tables landed whole ({names}), which Feast serves features from.")  # fmt: skip
    def reference(lake: LakeResource) -> dg.MaterializeResult:
        counts = {}
        for table in source.reference_tables:
            path = Path(lake.landing_root) / "reference" / f"{table.name}.parquet"
            if not path.exists():
                raise dg.Failure(f"reference table {path} is missing: land it (`mlops replay`) or remove {table.name!r} from source {source.name!r}")
            frame = pd.read_parquet(path)
            contract = {c.name: c.dtype for c in table.columns}
            missing = sorted(set(contract) - set(frame.columns))
            if missing:
                raise dg.Failure(f"reference table {path} lacks columns {missing}; its contract is {list(contract)}")
            lake.write_table(frame.loc[:, list(contract)], *table.lake_path)
            counts[table.name] = len(frame)
        return dg.MaterializeResult(metadata={f"{name}_rows": dg.MetadataValue.int(n) for name, n in counts.items()})

    return reference
