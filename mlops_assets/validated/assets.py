"""Validated events and labels of a source: Great Expectations decides, bad rows go to quarantine with the reason.

Events and labels are validated the same way, each by the suite its contract implies plus
the rules that need the lake (``event_rules``, ``labels``). Each check is blocking: when a
day's batch fails (schema break, or too many bad rows), nothing downstream runs in that run,
so a bad batch can never reach training or the endpoint, and the previous champion keeps serving.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets.partitions import single_run
from mlops_assets.specs.source import SourceSpec
from mlops_assets.validated.event_rules import EventRules
from mlops_assets.validated.labels import LabelRules, label_table
from mlops_assets.validated.validate import BATCH_RULE, EXPECTATION, RowRules, Table, validate_days
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


@dataclass(frozen=True)
class _Validation:
    """One validated table of a source: what lands, what is checked, where valid and rejected rows go."""

    name: str  # the multi-asset's op name
    table: Table
    raw_key: dg.AssetKey
    valid_key: dg.AssetKey
    quarantine_key: dg.AssetKey
    check: str
    what: str  # "events" or "labels", for descriptions
    row_rules: Callable[[LakeResource, list[str]], RowRules]  # (lake, the run's days) -> the rules beyond the suite
    deps: tuple[dg.AssetKey, ...] = ()


def validated_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Events: the source's contract as a GE suite, plus the event time on its day and ids new to the lake."""

    def rules(lake: LakeResource, days: list[str]) -> RowRules:
        table = source.key("validated").path[-1]
        seen = lake.read_by_day(table, [source.id_column], exclude=days)
        return EventRules(source, dict(zip(seen[source.id_column], seen["_day"])), _referenced(lake, source))

    return _validation_asset(
        source, partitions,
        _Validation(f"validate_{source.name}", source, source.key("raw"), source.key("validated"), source.key("quarantined"),
                    check_name(source), "events", rules, deps=(source.key("reference"),) if source.references else ()),
    )  # fmt: skip


def _referenced(lake: LakeResource, source: SourceSpec) -> dict[str, set]:
    """Each referencing column's legal values: its column in the reference table's lake copy."""
    known = {}
    for name, table in source.references.items():
        path = lake.path(*table.lake_path)
        if not path.exists():
            raise dg.Failure(f"{source.name}.{name} must exist in reference table {table.name!r}, which is not in the lake yet ({path}): "
                             f"land landing/reference/{table.name}.parquet and materialize {source.key('reference').to_user_string()} "
                             "(the pipeline job does), then run this again")  # fmt: skip
        known[name] = set(pd.read_parquet(path, columns=[name])[name].dropna().tolist())
    return known


def validated_labels_asset(source: SourceSpec, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """Labels: the label contract as a GE suite, plus time on the day, a known earlier event and no flip."""
    events_key, valid_key = source.key("validated"), source.key("validated_labels")

    def rules(lake: LakeResource, days: list[str]) -> RowRules:
        events = lake.read_by_day(events_key.path[-1], [source.id_column, source.event_time])
        columns = [source.id_column, source.labels.column, source.labels.time_column]
        earlier = lake.read_by_day(valid_key.path[-1], columns, exclude=days)
        earlier = earlier[earlier["_day"] < min(days)] if len(earlier) else earlier
        return LabelRules(source, events, earlier.sort_values(source.labels.time_column, kind="stable"))

    return _validation_asset(
        source, partitions,
        _Validation(f"validate_{source.name}_labels", label_table(source), source.key("labels"), valid_key,
                    source.key("quarantined_labels"), labels_check_name(source), "labels", rules, deps=(events_key,)),
    )  # fmt: skip


def _nothing_usable(rejected: list[dict]) -> str:
    """A day whose every landing file was quarantined fails: no rows is not a green day (the files are kept, see the raw check)."""
    reasons = "; ".join(f"{Path(r['path']).name}: {r['reason']}" for r in rejected)
    return (f"every landing file of the day ({len(rejected)}) was quarantined as a file, so nothing was validated: {reasons[:600]}. "
            "Fix the extract and re-land it.")


def labels_check_name(source: SourceSpec) -> str:
    return f"{source.name}_labels_meet_expectations"


def _validation_asset(source: SourceSpec, partitions: dg.PartitionsDefinition, v: _Validation) -> dg.AssetsDefinition:
    valid_key, quarantine_key, raw_key, check = v.valid_key, v.quarantine_key, v.raw_key, v.check
    common = {"deps": [raw_key, *v.deps], "group_name": GROUP, "owners": list(source.owners), "tags": {"mlops/source": source.name}}

    @dg.multi_asset(
        name=v.name,
        specs=[
            dg.AssetSpec(valid_key, kinds={"great_expectations", "parquet"}, **common,
                         description=f"{source.name}: {v.what} that passed every expectation of the contract, in its schema."),
            dg.AssetSpec(quarantine_key, kinds={"parquet"}, **common,
                         description=f"{source.name}: rejected {v.what}, kept with the reason and the failed expectation (nothing is dropped)."),
        ],
        check_specs=[dg.AssetCheckSpec(check, asset=valid_key, blocking=True,
                                       description=f"Great Expectations suite derived from the {v.table.name} contract (schema, ranges, sets, nulls, keys)")],
        partitions_def=partitions,
        backfill_policy=single_run,
    )  # fmt: skip
    def validated(context: AssetExecutionContext, config: ValidationConfig, lake: LakeResource):
        failed_days: dict[str, str] = {}
        totals = {"valid": 0, "quarantined": 0}
        failed_expectations: dict[str, int] = {}
        days = list(context.partition_keys)
        raws = {day: lake.read_partition(raw_key.path[-1], day) for day in days}
        casts: dict[str, tuple[str, ...]] = {}
        outcomes = validate_days(raws, v.table, max_reject_fraction=config.max_reject_fraction, row_rules=v.row_rules(lake, days))
        for day, outcome in outcomes.items():
            if outcome.casts:
                casts[day] = outcome.casts
                context.log.warning(f"{valid_key.to_user_string()}[{day}]: type drift, cast without loss: {'; '.join(outcome.casts)}")
            valid = _conform(outcome.valid, v.table.dtypes)
            lake.write_partition(valid, valid_key.path[-1], day)
            lake.write_partition(_storable(outcome.quarantined), quarantine_key.path[-1], day)
            totals["valid"] += len(valid)
            totals["quarantined"] += len(outcome.quarantined)
            for result in outcome.expectations:
                if not result.success:
                    failed_expectations[result.name] = failed_expectations.get(result.name, 0) + result.unexpected_count
            suite = {rule.name for rule in outcome.rules} | {BATCH_RULE}
            for names in outcome.quarantined[EXPECTATION] if len(outcome.quarantined) else ():
                for rule in str(names).split("; "):  # the rules beyond the suite: time, history, lossless casts
                    if rule not in suite:
                        failed_expectations[rule] = failed_expectations.get(rule, 0) + 1
            if not outcome.passed:
                failed_days[day] = outcome.summary
            elif not len(raws[day]) and (rejected := lake.rejected_files(raw_key.path[-1], day)):
                failed_days[day] = _nothing_usable(rejected)
            if day in failed_days:
                context.log.error(f"{valid_key.to_user_string()}[{day}]: {failed_days[day]}")
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
