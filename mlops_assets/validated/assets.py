"""Validated applications: Great Expectations decides, bad rows go to quarantine with the reason.

The check is blocking: when a day's batch fails (schema break, or too many bad rows),
nothing downstream runs in that run, so a bad batch can never reach training or the
endpoint, and the previous champion keeps serving.
"""

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from mlops_assets import keys
from mlops_assets.partitions import daily, single_run
from mlops_assets.schema import APPLICATION_COLUMNS
from mlops_assets.validated.validate import validate_applications
from resources.lake import LakeResource

GROUP = "validated"
CHECK = "applications_meet_expectations"


class ValidationConfig(dg.Config):
    max_reject_fraction: float = 0.10


def _conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Valid rows in the contract's column order and dtypes, so every partition has one schema."""
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in APPLICATION_COLUMNS.items()})
    return frame.loc[:, list(APPLICATION_COLUMNS)].astype(APPLICATION_COLUMNS)


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows keep whatever landed; mixed-type columns become text so parquet takes them."""
    return frame.astype({name: "string" for name in frame.columns if frame[name].dtype == object})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(keys.VALIDATED_APPLICATIONS, deps=[keys.RAW_APPLICATIONS], group_name=GROUP, kinds={"great_expectations", "parquet"},
                     description="Applications that passed every expectation, in the contract's schema."),
        dg.AssetSpec(keys.QUARANTINED_APPLICATIONS, deps=[keys.RAW_APPLICATIONS], group_name=GROUP, kinds={"parquet"},
                     description="Rejected rows, kept with the reason and the failed expectation (nothing is dropped)."),
    ],
    check_specs=[dg.AssetCheckSpec(CHECK, asset=keys.VALIDATED_APPLICATIONS, blocking=True,
                                   description="Great Expectations suite for applications (schema, ranges, categories, nulls)")],
    partitions_def=daily,
    backfill_policy=single_run,
)
def validated_applications(context: AssetExecutionContext, config: ValidationConfig, lake: LakeResource):
    failed_days: dict[str, str] = {}
    totals = {"valid": 0, "quarantined": 0}
    failed_expectations: dict[str, int] = {}
    for day in context.partition_keys:
        raw = lake.read_partition("raw_applications", day)
        outcome = validate_applications(raw, max_reject_fraction=config.max_reject_fraction)
        valid = _conform(outcome.valid)
        lake.write_partition(valid, "validated_applications", day)
        lake.write_partition(_storable(outcome.quarantined), "quarantined_applications", day)
        totals["valid"] += len(valid)
        totals["quarantined"] += len(outcome.quarantined)
        for result in outcome.expectations:
            if not result.success:
                failed_expectations[result.name] = failed_expectations.get(result.name, 0) + result.unexpected_count
        if not outcome.passed:
            failed_days[day] = outcome.summary
            context.log.error(f"validated_applications[{day}]: {outcome.summary}")
    yield dg.MaterializeResult(
        asset_key=keys.VALIDATED_APPLICATIONS,
        metadata={"rows": dg.MetadataValue.int(totals["valid"]), "path": dg.MetadataValue.path(str(lake.path("validated_applications")))},
    )
    yield dg.MaterializeResult(
        asset_key=keys.QUARANTINED_APPLICATIONS,
        metadata={"rows": dg.MetadataValue.int(totals["quarantined"]), "path": dg.MetadataValue.path(str(lake.path("quarantined_applications")))},
    )
    yield dg.AssetCheckResult(
        check_name=CHECK,
        asset_key=keys.VALIDATED_APPLICATIONS,
        passed=not failed_days,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(f"{day}: {why}" for day, why in failed_days.items())[:2000] or "all days passed",
        metadata={
            "failed_days": dg.MetadataValue.int(len(failed_days)),
            "quarantined_rows": dg.MetadataValue.int(totals["quarantined"]),
            "failed_expectations": dg.MetadataValue.json(failed_expectations),
        },
    )
