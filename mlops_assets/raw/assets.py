"""Raw assets: landing files copied into the lake as they arrived, one partition a day."""

from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from mlops_assets import keys
from mlops_assets.partitions import daily, single_run
from mlops_assets.schema import APPLICATION_COLUMNS, CREDIT_HISTORY_COLUMNS, LABEL_COLUMNS, ZIPCODE_COLUMNS
from resources.lake import LakeResource

GROUP = "raw"


def _copy_landing(context: AssetExecutionContext, lake: LakeResource, kind: str, table: str, contract: dict[str, str]) -> dg.MaterializeResult:
    """Copy each day's landing files untouched (schema breaks must reach validation to be caught).

    A day with nothing landed becomes an empty partition in the contract's schema.
    """
    rows: dict[str, int] = {}
    missing: list[str] = []
    for day in context.partition_keys:
        frame = lake.read_landing(kind, day)
        if frame is None:
            missing.append(day)
            frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in contract.items()})
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


@dg.asset(key=keys.RAW_APPLICATIONS, group_name=GROUP, partitions_def=daily, backfill_policy=single_run, kinds={"parquet"})
def raw_applications(context: AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Loan applications of the day, exactly as they landed."""
    return _copy_landing(context, lake, "applications", "raw_applications", APPLICATION_COLUMNS)


@dg.asset(key=keys.RAW_LABELS, group_name=GROUP, partitions_def=daily, backfill_policy=single_run, kinds={"parquet"})
def raw_labels(context: AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Loan outcomes that arrived that day (they trail the applications by days)."""
    return _copy_landing(context, lake, "labels", "raw_labels", LABEL_COLUMNS)


@dg.asset(key=keys.REFERENCE_TABLES, group_name=GROUP, kinds={"parquet"})
def reference_tables(lake: LakeResource) -> dg.MaterializeResult:
    """Zipcode statistics and credit history: the entity tables Feast serves features from."""
    counts = {}
    for name, columns in (("zipcodes", ZIPCODE_COLUMNS), ("credit_history", CREDIT_HISTORY_COLUMNS)):
        source = Path(lake.landing_root) / "reference" / f"{name}.parquet"
        if not source.exists():
            raise FileNotFoundError(f"reference table {source} is missing: run `mlops replay` (or `mlops simulate`) first")
        frame = pd.read_parquet(source)
        missing = sorted(set(columns) - set(frame.columns))
        if missing:
            raise ValueError(f"reference table {source} lacks columns {missing}; it must have {list(columns)}")
        lake.write_table(frame.loc[:, list(columns)], "reference", f"{name}.parquet")
        counts[name] = len(frame)
    return dg.MaterializeResult(metadata={f"{name}_rows": dg.MetadataValue.int(n) for name, n in counts.items()})
