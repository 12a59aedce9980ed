"""Feast: apply every domain's feature repo module, then materialize the feature views to the online store."""

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster import AssetExecutionContext

from mlops_assets import keys
from mlops_assets.conditions import ONLINE_FRESHNESS
from resources.feast import FeastResource
from resources.lake import LakeResource

GROUP = "features"
PARITY_CHECK = "online_matches_offline"
PARITY_SAMPLE = 50
MATERIALIZED = ("features", "materialized.json")  # per view, the source file it last materialized


def feature_views_asset(deps: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """`feast apply` of the repo; it depends on every table a Feast source reads."""

    @dg.asset(key=keys.FEATURE_VIEWS, deps=list(deps), group_name=GROUP, kinds={"feast"},
              description="Every domain's entities, sources, feature views and services registered (`feast apply`).")  # fmt: skip
    def feature_views(feast: FeastResource) -> dg.MaterializeResult:
        applied = feast.apply()
        return dg.MaterializeResult(
            metadata={kind: dg.MetadataValue.json(names) for kind, names in applied.items()}
            | {"registry": dg.MetadataValue.text(feast.registry)}
        )

    return feature_views


@dg.asset(
    key=keys.ONLINE_FEATURES,
    deps=[keys.FEATURE_VIEWS],
    group_name=GROUP,
    kinds={"feast"},
    freshness_policy=ONLINE_FRESHNESS,
    description="Latest entity features in the online store (`feast materialize`), checked against the offline rows.",
    check_specs=[dg.AssetCheckSpec(PARITY_CHECK, asset=keys.ONLINE_FEATURES, blocking=True,
                                   description="sampled online rows of every view equal the offline store's latest values")],
)  # fmt: skip
def online_features(context: AssetExecutionContext, feast: FeastResource, lake: LakeResource):
    """Views whose source file changed since they were last materialized are materialized again, in full.

    Replayed data carries old event times, so Feast's incremental materialization (by event
    time) would miss rows written after it ran; a full pass over a changed view does not.
    """
    store = feast.store()
    online = [view for view in store.list_feature_views() if view.online]
    waiting = sorted(view.name for view in online if _waits_for_its_file(view))  # a domain with nothing landed yet
    views = [view for view in online if view.name not in waiting]
    if waiting:
        context.log.info(f"not materialized, their source files do not exist yet: {', '.join(waiting)}")
    done_path = lake.path(*MATERIALIZED)
    done = json.loads(done_path.read_text()) if done_path.exists() else {}
    current = {view.name: _fingerprint(view) for view in views}
    changed = [name for name, print_ in current.items() if done.get(name) != print_ or print_ is None]
    if changed:
        context.log.info(f"materializing {', '.join(changed)}")
        store.materialize(start_date=datetime(1970, 1, 1, tzinfo=timezone.utc), end_date=datetime.now(timezone.utc), feature_views=changed)
        lake.write_json({**done, **{name: current[name] for name in changed}}, *MATERIALIZED)
    sampled, mismatches = 0, {}
    for view in views:
        n, bad = _online_offline_mismatches(store, view)
        sampled += n
        if bad:
            mismatches[view.name] = bad
    context.log.info(f"online parity: {sum(mismatches.values())} mismatches in {sampled} sampled entities of {len(views)} views")
    yield dg.MaterializeResult(metadata={
        "views": dg.MetadataValue.json(sorted(current)),
        "materialized_now": dg.MetadataValue.json(changed),
        "waiting_for_data": dg.MetadataValue.json(waiting),
        "materialized_until": dg.MetadataValue.text(datetime.now(timezone.utc).isoformat(timespec="seconds")),
    })  # fmt: skip
    yield dg.AssetCheckResult(
        check_name=PARITY_CHECK,
        passed=not mismatches,
        metadata={"sampled": dg.MetadataValue.int(sampled), "mismatches": dg.MetadataValue.json(mismatches)},
    )


def _waits_for_its_file(view: Any) -> bool:
    """A file-sourced view whose file has not been written yet (its domain's data has not landed)."""
    uri = getattr(view.batch_source, "path", None)
    return bool(uri) and "://" not in uri and not Path(uri).exists()


def _source_path(view: Any) -> Path | None:
    uri = getattr(view.batch_source, "path", None)
    return Path(uri) if uri and Path(uri).exists() else None


def _fingerprint(view: Any) -> str | None:
    """Size and modification time of the view's source file; None when it is not a local file (always materialized)."""
    path = _source_path(view)
    if path is None:
        return None
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def _online_offline_mismatches(store: Any, view: Any) -> tuple[int, int]:
    """Online values of a seeded sample of entities against the latest row of each in the view's source file."""
    path = _source_path(view)
    if path is None:
        return 0, 0
    source = view.batch_source
    join_keys = [column.name for column in view.entity_columns]
    features = [feature.name for feature in view.features]
    order = [source.timestamp_field, *([source.created_timestamp_column] if source.created_timestamp_column else [])]
    frame = pd.read_parquet(path, columns=list(dict.fromkeys([*join_keys, *order, *features])))
    if frame.empty:
        return 0, 0
    latest = frame.sort_values(order, kind="stable").drop_duplicates(join_keys, keep="last")
    sample = latest.sample(min(PARITY_SAMPLE, len(latest)), random_state=0).reset_index(drop=True)
    rows = [{key: _plain(row[key]) for key in join_keys} for _, row in sample.iterrows()]
    online = store.get_online_features(features=[f"{view.name}:{f}" for f in features], entity_rows=rows).to_dict()
    differs = [any(not _same(online[f][i], sample.at[i, f]) for f in features) for i in range(len(sample))]
    return len(sample), sum(differs)


def _same(online: Any, offline: Any) -> bool:
    """Equal values, or both missing (Feast answers None, a parquet row NaN or None)."""
    if online is None or (isinstance(online, float) and math.isnan(online)):
        return bool(pd.isna(offline))
    return not pd.isna(offline) and online == _plain(offline)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
