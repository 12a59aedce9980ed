"""The daily calendar data arrives on."""

from __future__ import annotations

import dagster as dg

# The credit data starts on 2020-08-25; replays and simulations fall on this calendar.
daily = dg.DailyPartitionsDefinition(start_date="2020-08-25")

# One run processes a whole range of days (a backfill or a replay), not one run per day.
single_run = dg.BackfillPolicy.single_run()
