"""The replay: lands a source's events and delayed labels into the landing zone, day by day."""

from __future__ import annotations

from mlops_assets.simulate.landing import (
    LandingSummary,
    ReplayTables,
    conform,
    land_together,
    landed_days,
    landing_path,
    write_landing,
)

__all__ = ["LandingSummary", "ReplayTables", "conform", "land_together", "landed_days", "landing_path", "write_landing"]
