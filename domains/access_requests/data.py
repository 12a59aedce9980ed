"""Where the access-request domain's replays come from: the real requests or a seeded synthetic stand-in.

The real file has no timestamps, only the original order (`request_id`). A replay gives the
requests arrival times in that order: ``DAYS`` days from ``FIRST_DAY``, spread evenly over
each day, so about 360 requests arrive a day. The synthetic stand-in has the same columns,
the same kind of structure (many resources and managers, each with its own grant rate, and
a role hierarchy) and about the same 6 % of refusals.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from domains.access_requests.contract import ACTION, REQUEST_COLUMNS
from mlops_assets.simulate.landing import ReplayTables, conform
from mlops_assets.specs.contract import dtypes

FILE = "access_requests.parquet"
FIRST_DAY = date(2021, 7, 15)
DAYS = 91
EVENT_COLUMNS = {**dtypes(REQUEST_COLUMNS), ACTION.column: "int64"}


def arrival_times(n: int, *, first_day: date = FIRST_DAY, days: int = DAYS) -> pd.Series:
    """Arrival times for ``n`` requests in file order: ``days`` days from ``first_day``, evenly within each day."""
    per_day = -(-n // days)
    position = np.arange(n)
    offsets = pd.to_timedelta(position // per_day, unit="D") + pd.to_timedelta((position % per_day) * (86_400 / per_day), unit="s")
    return pd.Series(pd.Timestamp(first_day, tz="UTC") + offsets).dt.as_unit("us")


def load_access_requests(folder: Path) -> ReplayTables:
    """The real requests, with arrival times in their original order."""
    path = Path(folder) / FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: pass the access_requests folder (e.g. ../shared/datasets/access_requests), "
                                "set MLOPS_DATA to the folder that holds it, or use synthetic_requests()")  # fmt: skip
    frame = pd.read_parquet(path).sort_values("request_id", ignore_index=True)
    frame["event_timestamp"] = arrival_times(len(frame))
    return ReplayTables(events=conform(frame, EVENT_COLUMNS, FILE))


def synthetic_requests(seed: int = 0, *, n: int = 32_760, first_day: date = FIRST_DAY, days: int = DAYS) -> ReplayTables:
    """A seeded stand-in: resources, managers and departments with their own grant rates, roles nested in departments.

    Whether a request is granted depends on who asks (manager, department, role family) and
    for what (the resource), so per-entity grant rates known from earlier outcomes predict it,
    as on the real data.
    """
    rng = np.random.default_rng(seed)
    resources, managers, departments, titles = 2_000, 1_200, 150, 120
    families = 40
    dept_family = rng.integers(0, families, departments)
    title_family = rng.integers(0, families, titles)
    resource = _zipf(rng, resources, n, 1.1)
    manager = _zipf(rng, managers, n, 0.9)
    department = rng.integers(0, departments, managers)[manager]  # a manager's team sits in one department
    title = _zipf(rng, titles, n, 1.0)
    family = np.where(rng.random(n) < 0.8, title_family[title], dept_family[department])
    logit = (
        4.0
        + rng.normal(0, 1.8, resources)[resource]
        + rng.normal(0, 1.1, managers)[manager]
        + rng.normal(0, 0.6, departments)[department]
        + rng.normal(0, 0.5, families)[family]
    )
    granted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    codes = {
        "resource": 10_000 + resource,
        "mgr_id": 50_000 + manager,
        "role_rollup_1": 117_000 + department % 12,
        "role_rollup_2": 118_000 + department % 40,
        "role_deptname": 119_000 + department,
        "role_title": 120_000 + title,
        "role_family_desc": 130_000 + title * 7 + department % 7,
        "role_family": 140_000 + family,
        "role_code": 150_000 + title,
    }
    frame = pd.DataFrame({"request_id": np.arange(1, n + 1), **codes, ACTION.column: granted})
    frame["event_timestamp"] = arrival_times(n, first_day=first_day, days=days)
    return ReplayTables(events=conform(frame, EVENT_COLUMNS, "synthetic access requests"))


def synthetic_replay(seed: int) -> ReplayTables:
    return synthetic_requests(seed)


def _zipf(rng: np.random.Generator, size: int, n: int, exponent: float) -> np.ndarray:
    """Indices in ``range(size)`` with a long tail: a few popular values, many rare ones."""
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return rng.permutation(size)[rng.choice(size, n, p=weights / weights.sum())]
