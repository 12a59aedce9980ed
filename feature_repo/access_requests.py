"""The access-request domain's Feast objects: entities, history sources, feature views and the model's service.

The history tables are computed by the pipeline (`label_history` in the source spec) from
labelled requests, each row stamped with when its outcome became known; Feast's point-in-time
join then gives every request only what was known before it arrived.
"""

from datetime import timedelta

import pandas as pd
from feast import Entity, FeatureService, FeatureView, Field, FileSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64

from domains.access_requests.encoding import CODE_FEATURES, CODE_INPUTS
from mlops_assets.features.columnar import COLUMNAR_TAG

HISTORY_TTL = timedelta(days=3650)  # a history never expires: it is the count so far


def _history(name: str, prefix: str, entity: Entity) -> FeatureView:
    """One entity's history view over the lake's features/<name>.parquet."""
    source = FileSource(name=name, path=f"features/{name}.parquet", timestamp_field="event_timestamp",
                        created_timestamp_column="created_timestamp")  # fmt: skip
    return FeatureView(
        name=name,
        entities=[entity],
        ttl=HISTORY_TTL,
        schema=[Field(name=f"{prefix}_count", dtype=Int64), Field(name=f"{prefix}_rate", dtype=Float64)],
        source=source,
        online=True,
    )


resource = Entity(name="resource", join_keys=["resource"], value_type=ValueType.INT64, description="the resource access is asked for")
manager = Entity(name="manager", join_keys=["mgr_id"], value_type=ValueType.INT64, description="the requester's manager")
department = Entity(name="department", join_keys=["role_deptname"], value_type=ValueType.INT64, description="the requester's department")
title = Entity(name="title", join_keys=["role_title"], value_type=ValueType.INT64, description="the requester's business title")
family_desc = Entity(name="family_desc", join_keys=["role_family_desc"], value_type=ValueType.INT64, description="the requester's role family description")

resource_history = _history("resource_history", "resource", resource)
manager_history = _history("manager_history", "manager", manager)
department_history = _history("department_history", "department", department)
title_history = _history("title_history", "title", title)
family_desc_history = _history("family_desc_history", "family_desc", family_desc)

access_request = RequestSource(name="access_request", schema=[Field(name=name, dtype=Int64) for name in CODE_INPUTS])


@on_demand_feature_view(
    name="request_codes",
    sources=[access_request],
    schema=[Field(name=name, dtype=Float64) for name in CODE_FEATURES],
    mode="pandas",
    tags={COLUMNAR_TAG: "domains.access_requests.encoding:encode_code_columns"},
)
def request_codes(inputs: pd.DataFrame) -> pd.DataFrame:
    """The role codes the model reads directly (imported when it runs: Feast pickles this by value)."""
    from domains.access_requests.encoding import encode_codes

    return encode_codes(inputs)


access_v1 = FeatureService(
    name="access_v1",
    features=[request_codes, resource_history, manager_history, department_history, title_history, family_desc_history],
    description="Access model: role codes and what earlier decisions say about the resource, manager, department and role",
)
