"""How old what serves is, in days of data: checks the Dagster UI shows on the endpoint and the online store.

A freshness policy says when an asset last ran; these say how far behind the newest landed
day the data it serves is: the champion's newest training day (`<model>_training_data_age`
on `<model>/deployed_endpoint`) and the newest feature row the online store answers with
(`online_feature_age` on `online_features`). Both warn (severity WARN, not blocking): a
stale model still serves better than none. They run with their asset, and with each
ingest, since a new day is what makes the data older (docs/decisions/0010).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from mlops_assets import keys
from mlops_assets.features.tables import EVENT_TIMESTAMP
from mlops_assets.specs.model import ModelSpec
from mlops_assets.specs.source import SourceSpec
from resources.feast import FeastResource
from resources.lake import PART_FILE, LakeResource, day_folder
from resources.mlflow import RegistryResource

TRAINED_TO_TAG = "data_window.holdout_end"  # the newest event the champion learnt from (training/assets.py)
ONLINE_CHECK = "online_feature_age"
ONLINE_MAX_AGE_DAYS = 2  # outcomes land with each day's events: two days behind means ingests are missing
WARN = dg.AssetCheckSeverity.WARN


def training_data_age_key(spec: ModelSpec) -> dg.AssetCheckKey:
    """`<model>_training_data_age` on `<model>/deployed_endpoint`."""
    return dg.AssetCheckKey(keys.model_key(spec.name, "deployed_endpoint"), f"{spec.name}_training_data_age")


def newest_validated_day(lake: LakeResource, source: SourceSpec) -> date | None:
    """The newest day with validated rows; a rejected day stores an empty partition and brings nothing new."""
    table = source.key("validated").path[-1]
    for day in reversed(lake.partitions(table)):
        if pq.read_metadata(day_folder(Path(lake.root), table, day) / PART_FILE).num_rows:
            return date.fromisoformat(day)
    return None


def _day(value: date | None) -> dg.MetadataValue:
    return dg.MetadataValue.text(value.isoformat() if value else "none")


def training_data_age(spec: ModelSpec, lake: LakeResource, registry: RegistryResource) -> dg.AssetCheckResult:
    """Days between the newest validated day and the newest day the champion trained on."""
    newest = newest_validated_day(lake, spec.source)
    champion = registry.champion(spec.registered_model)
    if champion is None or TRAINED_TO_TAG not in champion.tags:
        why = "no champion serves" if champion is None else f"champion v{champion.version} has no tag {TRAINED_TO_TAG}"
        return dg.AssetCheckResult(passed=False, severity=WARN, description=f"{spec.name}: {why}; retrain it ({spec.retrain_job})",
                                   metadata={"newest_landed_day": _day(newest)})  # fmt: skip
    trained_to = datetime.fromisoformat(champion.tags[TRAINED_TO_TAG]).date()
    age = (newest - trained_to).days if newest else 0
    limit = spec.max_training_data_age_days
    return dg.AssetCheckResult(
        passed=age <= limit,
        severity=WARN,
        description=f"v{champion.version} learnt from data up to {trained_to}, {age} days before the newest validated day "
        f"{newest or 'none'} (limit {limit}: ModelSpec.max_training_data_age_days)",
        metadata={
            "age_days": dg.MetadataValue.int(age),
            "trained_to": _day(trained_to),
            "newest_landed_day": _day(newest),
            "max_age_days": dg.MetadataValue.int(limit),
            "champion_version": dg.MetadataValue.text(str(champion.version)),
        },
    )


def training_data_age_check(spec: ModelSpec) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=training_data_age_key(spec).asset_key,
        name=training_data_age_key(spec).name,
        additional_deps=[spec.inputs],  # it reads the newest validated day: in an ingest run it runs after validation
        blocking=False,
        description=f"How many days of data the {spec.name} champion has not seen: the newest validated day minus the newest "
        f"day it trained on (registry tag {TRAINED_TO_TAG}); warns above {spec.max_training_data_age_days} days.",
    )
    def _check(lake: LakeResource, registry: RegistryResource) -> dg.AssetCheckResult:
        return training_data_age(spec, lake, registry)

    return _check


def served_feature_day(store: Any, table_name: str, feature: str, entity: dict[str, Any]) -> date | None:
    """The day of the row the online store answers with for ``entity`` (None: it has none)."""
    from feast.online_response import TIMESTAMP_POSTFIX

    reply = store.get_online_features(features=[f"{table_name}:{feature}"], entity_rows=[entity]).to_dict(include_event_timestamps=True)
    seconds = reply[feature + TIMESTAMP_POSTFIX][0]
    return datetime.fromtimestamp(seconds, tz=timezone.utc).date() if seconds else None


def online_feature_age(sources: Sequence[SourceSpec], lake: LakeResource, feast: FeastResource) -> dg.AssetCheckResult:
    """Per feature table: the day of its newest row as the online store serves it, against the newest validated day.

    The newest row of the table is looked up online (in the view named after the table): a
    store not materialized since that row was computed answers with an older row, or none.
    """
    store = feast.store()
    tables: dict[str, dict[str, Any]] = {}
    for source in sources:
        newest = newest_validated_day(lake, source)
        for table in source.feature_tables:
            path = lake.path(*table.lake_path)
            if newest is None or not path.exists():  # nothing landed or computed yet: nothing to be behind
                continue
            [row] = pl.read_parquet(path, columns=[*table.keys, EVENT_TIMESTAMP]).sort(EVENT_TIMESTAMP).tail(1).to_dicts() or [None]
            served = served_feature_day(store, table.name, table.features[0], {k: row[k] for k in table.keys}) if row else None
            tables[table.name] = {"served_day": served, "newest_landed_day": newest, "age_days": (newest - served).days if served else None}
    if not tables:
        return dg.AssetCheckResult(passed=True, severity=WARN, description="no feature table computed yet", metadata={})
    worst_name, worst = max(tables.items(), key=lambda item: float("inf") if item[1]["age_days"] is None else item[1]["age_days"])
    stale = sorted(name for name, t in tables.items() if t["age_days"] is None or t["age_days"] > ONLINE_MAX_AGE_DAYS)
    return dg.AssetCheckResult(
        passed=not stale,
        severity=WARN,
        description=f"{', '.join(stale)}: the online store serves rows more than {ONLINE_MAX_AGE_DAYS} days older than the newest "
        "validated day, or none; materialize online_features" if stale else f"every feature table within {ONLINE_MAX_AGE_DAYS} days",
        metadata={
            "age_days": dg.MetadataValue.int(worst["age_days"]) if worst["age_days"] is not None else dg.MetadataValue.text("not served"),
            "served_day": _day(worst["served_day"]),
            "newest_landed_day": _day(worst["newest_landed_day"]),
            "oldest_table": dg.MetadataValue.text(worst_name),
            "tables": dg.MetadataValue.json({name: {k: str(v) for k, v in t.items()} for name, t in tables.items()}),
            "max_age_days": dg.MetadataValue.int(ONLINE_MAX_AGE_DAYS),
        },
    )  # fmt: skip


def online_feature_age_check(sources: Sequence[SourceSpec]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=keys.ONLINE_FEATURES,
        name=ONLINE_CHECK,
        additional_deps=[source.key("validated") for source in sources],
        blocking=False,
        description=f"How many days the newest row of each feature table, as the online store serves it, trails the newest "
        f"validated day of its source; warns above {ONLINE_MAX_AGE_DAYS} days.",
    )
    def _check(lake: LakeResource, feast: FeastResource) -> dg.AssetCheckResult:
        return online_feature_age(sources, lake, feast)

    return _check
