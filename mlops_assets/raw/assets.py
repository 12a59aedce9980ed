"""Raw assets of a source: landing files copied into the lake as they arrived, one partition a day."""

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets.partitions import single_run
from mlops_assets.raw.landing_files import quarantine_files
from mlops_assets.specs.contract import Column, dtypes
from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.labels import label_table
from resources.lake import LakeResource, empty_frame

GROUP = "raw"


FILES_READABLE = "landing_files_readable"


def _copy_landing(context: AssetExecutionContext, lake: LakeResource, folder: str, table: str, columns: tuple[Column, ...]) -> dg.MaterializeResult:
    """Copy each day's usable landing files with their values untouched (row rules and type drift are validation's).

    A day with nothing landed becomes an empty partition in the contract's schema. A file
    that cannot be read, or whose schema breaks the contract (a missing column, timestamps
    without a time zone, text where numbers belong), is quarantined as a file and fails the
    `landing_files_readable` check (not blocking): the day's other files, and the other
    days, are still ingested.
    """
    rows: dict[str, int] = {}
    missing: list[str] = []
    rejected = []
    for day in context.partition_keys:
        landed = lake.read_landing(folder, day, columns)
        if landed.rejected:
            manifest = quarantine_files(lake.quarantined_files_root, table, day, landed.rejected)
            context.log.error(f"{table}[{day}]: quarantined {len(landed.rejected)} landing file(s), see {manifest}: "
                              + "; ".join(f"{r.path}: {r.reason}" for r in landed.rejected))  # fmt: skip
            rejected += landed.rejected
        lake.write_rejected_files(table, day, landed.rejected)
        for note in landed.notes:
            context.log.warning(f"{table}[{day}]: {note}")
        frame = landed.frame
        if frame is None:
            missing.append(day)
            frame = empty_frame(dtypes(columns))
        lake.write_partition(frame, table, day)
        rows[day] = len(frame)
    if missing:
        context.log.warning(f"{table}: no usable file landed for {len(missing)} day(s): {', '.join(missing[:5])}")
    check = dg.AssetCheckResult(
        check_name=FILES_READABLE,
        passed=not rejected,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(rejected)} landing file(s) could not be read or broke the schema, and were quarantined" if rejected
                     else f"every landing file of {len(rows)} day(s) was read"),  # fmt: skip
        metadata={
            "quarantined_files": dg.MetadataValue.json([{"day": r.day, "path": r.path, "reason": r.reason, "sha256": r.sha256} for r in rejected]),
            "days": dg.MetadataValue.text(", ".join(sorted({r.day for r in rejected})) or "none"),
        },
    )
    return dg.MaterializeResult(
        metadata={
            "rows": dg.MetadataValue.int(sum(rows.values())),
            "days": dg.MetadataValue.int(len(rows)),
            "days_without_files": dg.MetadataValue.int(len(missing)),
            "quarantined_files": dg.MetadataValue.int(len(rejected)),
            "path": dg.MetadataValue.path(str(lake.path(table))),
        },
        check_results=[check],
    )


def _readable_check(key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(FILES_READABLE, asset=key, description="every landing file of the days could be read and follows the contract's schema (bad ones are quarantined as files)")]


def raw_events_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    key = source.key("raw")

    @dg.asset(key=key, group_name=GROUP, partitions_def=partitions, backfill_policy=single_run, kinds={"parquet"},
              owners=list(source.owners), tags={"mlops/source": source.name}, check_specs=_readable_check(key),
              description=f"{source.name}: the day's events exactly as they landed in landing/{source.name}/. {source.description}".strip())  # fmt: skip
    def raw_events(context: AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return _copy_landing(context, lake, source.name, key.path[-1], source.columns)

    return raw_events


def raw_labels_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    key = source.key("labels")
    delay = source.labels.delay_days

    @dg.asset(key=key, group_name=GROUP, partitions_def=partitions, backfill_policy=single_run, kinds={"parquet"},
              owners=list(source.owners), tags={"mlops/source": source.name}, check_specs=_readable_check(key),
              description=f"{source.name}: outcomes ({source.labels.column}) that arrived that day, usually {delay} days after their event.")  # fmt: skip
    def raw_labels(context: AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        return _copy_landing(context, lake, source.labels_landing, key.path[-1], label_table(source).columns)

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
