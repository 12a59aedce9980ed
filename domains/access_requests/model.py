"""The access model: will a request be granted? One `ModelSpec`, nothing below it knows the domain."""

from __future__ import annotations

from domains.access_requests.source import ACCESS_REQUESTS
from mlops_assets import ModelSpec, RetrainPolicy

ENTITY_KEYS = ("resource", "mgr_id", "role_deptname", "role_title", "role_family_desc")

ACCESS_MODEL = ModelSpec(
    name="access",
    source=ACCESS_REQUESTS,
    feature_service="access_v1",
    entity_keys=ENTITY_KEYS,
    optional_entity_keys=ENTITY_KEYS,  # a resource or manager never seen before has no history yet: its features are missing
    sticky_keys=("mgr_id",),  # a canary answers a manager's whole team the same way
    owners=("team:identity",),
    description="Probability that an access request is granted (ROC-AUC; refusals are 6 %).",
    # Each outcome also sharpens the resource and manager histories the model reads, so retrain once
    # 15 % more outcomes arrived, not when the training set has doubled (the default's share, 1.0).
    policy=RetrainPolicy(min_new_label_share=0.15),
)
