"""The replay: lands a source's events and delayed labels into the landing zone, day by day."""

from __future__ import annotations

from mlops_assets.simulate.landing import (
    CONTINUE,
    LandingSummary,
    ReplayTables,
    conform,
    continue_replay,
    land_together,
    landed_days,
    landing_path,
    write_landing,
)

__all__ = ["CONTINUE", "LandingSummary", "ReplayTables", "conform", "continue_replay", "land_together", "landed_days", "landing_path", "write_landing"]
