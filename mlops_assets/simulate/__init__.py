"""The data simulator: replays real or synthetic loans into the landing zone, day by day."""

from __future__ import annotations

from mlops_assets.simulate.landing import LandingSummary, landed_days, landing_path, write_landing
from mlops_assets.simulate.sources import (
    LabelModel,
    Population,
    SourceTables,
    SyntheticParams,
    conform,
    load_credit_risk,
    synthetic_source,
)

__all__ = [
    "LabelModel",
    "LandingSummary",
    "Population",
    "SourceTables",
    "SyntheticParams",
    "conform",
    "landed_days",
    "landing_path",
    "load_credit_risk",
    "synthetic_source",
    "write_landing",
]
