"""The credit-default model: one `ModelSpec`, built by the same factory as any user model."""

from __future__ import annotations

from domains.credit.encoding import CATEGORICAL_FEATURES
from domains.credit.source import APPLICATIONS
from mlops_assets import ModelSpec

CREDIT_MODEL = ModelSpec(
    name="credit",
    source=APPLICATIONS,
    feature_service="credit_model_v1",
    entity_keys=("zipcode", "dob_ssn"),
    optional_entity_keys=("dob_ssn",),  # most applicants have no credit history on file
    sticky_keys=("dob_ssn",),  # a canary answers the same applicants every time
    categorical_features=CATEGORICAL_FEATURES,
    slices=("person_home_ownership", "loan_intent"),
    owners=("team:credit-risk",),
    description="Probability that a loan application defaults.",
)
