"""Public asset keys: what user assets may depend on."""

from __future__ import annotations

import dagster as dg

REFERENCE_TABLES = dg.AssetKey("reference_tables")
RAW_APPLICATIONS = dg.AssetKey("raw_applications")
RAW_LABELS = dg.AssetKey("raw_labels")
VALIDATED_APPLICATIONS = dg.AssetKey("validated_applications")
QUARANTINED_APPLICATIONS = dg.AssetKey("quarantined_applications")
LABELLED_EVENTS = dg.AssetKey("labelled_events")
FEATURE_VIEWS = dg.AssetKey("feature_views")
ONLINE_FEATURES = dg.AssetKey("online_features")

MODEL_STAGES = (
    "training_set",
    "candidate_model",
    "evaluation_report",
    "champion_gate",
    "deployed_endpoint",
    "prediction_log",
    "drift_report",
    "live_performance",
    "rollout_decision",
)


def model_key(model: str, stage: str) -> dg.AssetKey:
    """Key of one model stage, prefixed by the model name (e.g. credit/candidate_model)."""
    if stage not in MODEL_STAGES:
        raise ValueError(f"unknown model stage {stage!r}; stages are {', '.join(MODEL_STAGES)}")
    return dg.AssetKey([model, stage])
