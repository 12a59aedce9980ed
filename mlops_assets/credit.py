"""The shipped credit-default model: one `ModelSpec`, built by the same factory as any user model."""

from __future__ import annotations

from mlops_assets.features.encoding import CATEGORICAL_FEATURES
from mlops_assets.specs import ModelSpec

CREDIT_MODEL = ModelSpec(
    name="credit",
    feature_service="credit_model_v1",
    label="loan_status",
    entity_keys=("zipcode", "dob_ssn"),
    optional_entity_keys=("dob_ssn",),  # most applicants have no credit history on file
    categorical_features=CATEGORICAL_FEATURES,
    slices=("person_home_ownership", "loan_intent"),
    description="Probability that a loan application defaults.",
)
