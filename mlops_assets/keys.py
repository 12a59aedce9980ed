"""Public asset keys: what user assets may depend on.

A source's assets are flat keys named after the source (``raw_loans``, ``validated_loans``,
``loans_labels``, ``labelled_loans``); a model's stages are prefixed by the model name
(``credit/candidate_model``). The lake stores each table under its key's path.
"""

from __future__ import annotations

import dagster as dg

FEATURE_VIEWS = dg.AssetKey("feature_views")
"""Every domain's Feast objects applied (`feast apply`): depend on it to read features offline."""

ONLINE_FEATURES = dg.AssetKey("online_features")
"""The feature views materialized to the online store: every deployed endpoint depends on it."""

SOURCE_STAGES = ("raw", "validated", "quarantined", "labels", "validated_labels", "quarantined_labels", "labelled", "reference")
"""The stages `source_key` names, so a mistyped stage fails instead of naming an asset nobody builds."""

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
"""The stages `model_key` names, in the graph's order, each prefixed by the model's name."""


def source_key(source: str, stage: str) -> dg.AssetKey:
    """Key of one source stage: raw_<source>, validated_<source>, quarantined_<source>, <source>_labels
    (as landed), validated_<source>_labels, quarantined_<source>_labels, labelled_<source> or <source>_reference."""
    if stage not in SOURCE_STAGES:
        raise ValueError(f"unknown source stage {stage!r}; stages are {', '.join(SOURCE_STAGES)}")
    if stage.endswith("_labels"):
        return dg.AssetKey(f"{stage.removesuffix('_labels')}_{source}_labels")
    name = f"{source}_{stage}" if stage in ("labels", "reference") else f"{stage}_{source}"
    return dg.AssetKey(name)


def feature_table_key(name: str) -> dg.AssetKey:
    """Key of a computed entity feature table (lake `features/<name>.parquet`)."""
    return dg.AssetKey(name)


def model_key(model: str, stage: str) -> dg.AssetKey:
    """Key of one model stage, prefixed by the model name (e.g. credit/candidate_model)."""
    if stage not in MODEL_STAGES:
        raise ValueError(f"unknown model stage {stage!r}; stages are {', '.join(MODEL_STAGES)}")
    return dg.AssetKey([model, stage])
