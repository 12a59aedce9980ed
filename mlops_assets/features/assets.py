"""Feast: apply the feature repo, then materialize the feature views to the online store."""

from datetime import datetime, timezone

import dagster as dg
from dagster import AssetExecutionContext
import pandas as pd

from mlops_assets import keys
from resources.feast import FeastResource
from resources.lake import LakeResource

GROUP = "features"
PARITY_CHECK = "online_matches_offline"
PARITY_SAMPLE = 50


@dg.asset(key=keys.FEATURE_VIEWS, deps=[keys.REFERENCE_TABLES], group_name=GROUP, kinds={"feast"})
def feature_views(feast: FeastResource) -> dg.MaterializeResult:
    """Entities, sources, feature views and services registered (`feast apply`)."""
    applied = feast.apply()
    return dg.MaterializeResult(
        metadata={kind: dg.MetadataValue.json(names) for kind, names in applied.items()}
        | {"registry": dg.MetadataValue.text(feast.registry)}
    )


@dg.asset(
    key=keys.ONLINE_FEATURES,
    deps=[keys.FEATURE_VIEWS],
    group_name=GROUP,
    kinds={"feast"},
    check_specs=[dg.AssetCheckSpec(PARITY_CHECK, asset=keys.ONLINE_FEATURES, blocking=True,
                                   description="sampled online rows equal the offline store's latest values")],
)
def online_features(context: AssetExecutionContext, feast: FeastResource, lake: LakeResource):
    """Latest entity features in the online store (`feast materialize`), checked against offline."""
    store = feast.store()
    zipcodes = lake.read_table("reference", "zipcodes.parquet")
    start = pd.Timestamp(zipcodes["event_timestamp"].min()).to_pydatetime() - pd.Timedelta(days=1)
    feast.materialize(start)
    mismatches, sampled = _online_offline_mismatches(store, zipcodes)
    context.log.info(f"online parity: {mismatches} mismatches in {sampled} sampled zipcodes")
    yield dg.MaterializeResult(metadata={"zipcodes": dg.MetadataValue.int(len(zipcodes)), "materialized_until": dg.MetadataValue.text(datetime.now(timezone.utc).isoformat(timespec="seconds"))})
    yield dg.AssetCheckResult(
        check_name=PARITY_CHECK,
        passed=mismatches == 0,
        metadata={"sampled": dg.MetadataValue.int(sampled), "mismatches": dg.MetadataValue.int(mismatches)},
    )


def _online_offline_mismatches(store, zipcodes: pd.DataFrame) -> tuple[int, int]:
    """Compare online values with the latest source rows for a seeded sample of keys."""
    latest = zipcodes.sort_values("event_timestamp").drop_duplicates("zipcode", keep="last").set_index("zipcode")
    sample = latest.sample(min(PARITY_SAMPLE, len(latest)), random_state=0)
    columns = ["population", "total_wages", "tax_returns_filed"]
    online = store.get_online_features(
        features=[f"zipcode_features:{c}" for c in columns],
        entity_rows=[{"zipcode": int(z)} for z in sample.index],
    ).to_df().set_index("zipcode")
    diff = online.loc[sample.index, columns].astype("float64").to_numpy() != sample[columns].astype("float64").to_numpy()
    return int(diff.any(axis=1).sum()), len(sample)
