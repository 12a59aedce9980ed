"""Validated events of a source: Great Expectations decides, bad rows go to quarantine with the reason.

The check is blocking: when a day's batch fails (schema break, or too many bad rows),
nothing downstream runs in that run, so a bad batch can never reach training or the
endpoint, and the previous champion keeps serving.
"""

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets.partitions import single_run
from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.validate import validate_days
from resources.lake import LakeResource, empty_frame

GROUP = "validated"


class ValidationConfig(dg.Config):
    """Run config: the share of bad rows above which a whole day is rejected (default: the source's)."""

    max_reject_fraction: float | None = None


def check_name(source: SourceSpec) -> str:
    return f"{source.name}_meet_expectations"


def _conform(frame: pd.DataFrame, contract: dict[str, str]) -> pd.DataFrame:
    """Valid rows in the contract's column order and dtypes, so every partition has one schema."""
    if frame.empty:
        return empty_frame(contract)
    return frame.loc[:, list(contract)].astype(contract)


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows keep whatever landed; mixed-type columns become text so parquet takes them."""
    return frame.astype({name: "string" for name in frame.columns if frame[name].dtype == object})


def validated_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    valid_key, quarantine_key, raw_key = source.key("validated"), source.key("quarantined"), source.key("raw")
    check = check_name(source)
    common = {"deps": [raw_key], "group_name": GROUP, "owners": list(source.owners), "tags": {"mlops/source": source.name}}

    @dg.multi_asset(
        name=f"validate_{source.name}",
        specs=[
            dg.AssetSpec(valid_key, kinds={"great_expectations", "parquet"}, **common,
                         description=f"{source.name}: events that passed every expectation of the contract, in its schema."),
            dg.AssetSpec(quarantine_key, kinds={"parquet"}, **common,
                         description=f"{source.name}: rejected rows, kept with the reason and the failed expectation (nothing is dropped)."),
        ],
        check_specs=[dg.AssetCheckSpec(check, asset=valid_key, blocking=True,
                                       description=f"Great Expectations suite derived from the {source.name} contract (schema, ranges, sets, nulls, keys)")],
        partitions_def=partitions,
        backfill_policy=single_run,
    )  # fmt: skip
    def validated(context: AssetExecutionContext, config: ValidationConfig, lake: LakeResource):
        failed_days: dict[str, str] = {}
        totals = {"valid": 0, "quarantined": 0}
        failed_expectations: dict[str, int] = {}
        raws = {day: lake.read_partition(raw_key.path[-1], day) for day in context.partition_keys}
        casts: dict[str, tuple[str, ...]] = {}
        for day, outcome in validate_days(raws, source, max_reject_fraction=config.max_reject_fraction).items():
            if outcome.casts:
                casts[day] = outcome.casts
                context.log.warning(f"{valid_key.to_user_string()}[{day}]: type drift, cast without loss: {'; '.join(outcome.casts)}")
            valid = _conform(outcome.valid, source.dtypes)
            lake.write_partition(valid, valid_key.path[-1], day)
            lake.write_partition(_storable(outcome.quarantined), quarantine_key.path[-1], day)
            totals["valid"] += len(valid)
            totals["quarantined"] += len(outcome.quarantined)
            for result in outcome.expectations:
                if not result.success:
                    failed_expectations[result.name] = failed_expectations.get(result.name, 0) + result.unexpected_count
            if not outcome.passed:
                failed_days[day] = outcome.summary
                context.log.error(f"{valid_key.to_user_string()}[{day}]: {outcome.summary}")
        yield dg.MaterializeResult(
            asset_key=valid_key,
            metadata={"rows": dg.MetadataValue.int(totals["valid"]), "path": dg.MetadataValue.path(str(lake.path(valid_key.path[-1])))},
        )
        yield dg.MaterializeResult(
            asset_key=quarantine_key,
            metadata={"rows": dg.MetadataValue.int(totals["quarantined"]), "path": dg.MetadataValue.path(str(lake.path(quarantine_key.path[-1])))},
        )
        yield dg.AssetCheckResult(
            check_name=check,
            asset_key=valid_key,
            passed=not failed_days,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(f"{day}: {why}" for day, why in failed_days.items())[:2000] or "all days passed",
            metadata={
                "failed_days": dg.MetadataValue.int(len(failed_days)),
                "quarantined_rows": dg.MetadataValue.int(totals["quarantined"]),
                "failed_expectations": dg.MetadataValue.json(failed_expectations),
                "type_drift": dg.MetadataValue.json({day: list(notes) for day, notes in casts.items()}),
            },
        )

    return validated
