"""The access-request source: what lands, when the decision follows, which entity features it feeds."""

from __future__ import annotations

from domains.access_requests import data
from domains.access_requests.contract import ACTION, REQUEST_COLUMNS
from mlops_assets import SampleData, SourceSpec, label_history
from mlops_assets.simulate import CONTINUE, continue_replay

# Per entity: how many of its requests have a known decision so far, and the share granted.
# Computed from earlier labelled requests only: each row is stamped when a decision arrived.
HISTORIES = (
    label_history("resource_history", "resource", prefix="resource"),
    label_history("manager_history", "mgr_id", prefix="manager"),
    label_history("department_history", "role_deptname", prefix="department"),
    label_history("title_history", "role_title", prefix="title"),
    label_history("family_desc_history", "role_family_desc", prefix="family_desc"),
)

ACCESS_REQUESTS = SourceSpec(
    name="access_requests",
    columns=REQUEST_COLUMNS,
    id_column="request_id",
    event_time="event_timestamp",
    labels=ACTION,
    feature_tables=HISTORIES,
    first_day=data.FIRST_DAY.isoformat(),
    sample_data=SampleData(
        folder="access_requests",
        load=data.load_access_requests,
        synthesize=data.synthetic_replay,
        simulate=continue_replay,
        scenarios=(CONTINUE,),
        story=(CONTINUE,) * 6,  # `mlops demo`: the next weeks of requests arrive
    ),
    owners=("team:identity",),
    description="Requests by employees for access to a resource; whether it was granted (action) is known 3 days later.",
)
