"""The daily calendar data arrives on."""

from __future__ import annotations

import functools

import dagster as dg


@functools.cache
def daily_partitions(first_day: str) -> dg.DailyPartitionsDefinition:
    """Daily partitions from ``first_day``: every daily asset of one Definitions shares one calendar.

    Dagster cannot run assets with different partition calendars in one job, so
    ``build_definitions`` starts the calendar at the earliest ``first_day`` of its sources.
    """
    return dg.DailyPartitionsDefinition(start_date=first_day)


# One run processes a whole range of days (a backfill or a replay), not one run per day.
single_run = dg.BackfillPolicy.single_run()
