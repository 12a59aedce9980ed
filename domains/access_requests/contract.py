"""The access-request contract: every input is a categorical code; the outcome (granted or not) follows days later."""

from __future__ import annotations

from mlops_assets import Column, LabelContract

CODES = ("resource", "mgr_id", "role_rollup_1", "role_rollup_2", "role_deptname", "role_title", "role_family_desc", "role_family", "role_code")

REQUEST_COLUMNS = (
    Column("request_id", "int", unique=True, minimum=1, description="one request for access, in the order they arrived"),
    *(Column(code, "int", minimum=0, description="an integer code") for code in CODES),
    Column("event_timestamp", "timestamp", description="when the request arrived"),
)

ACTION = LabelContract(column="action", values=(0, 1), positive=1, delay_days=3)
"""1 = access granted (94 % of requests), 0 = refused; the decision is known 3 days later."""
