"""`raw_arrival_sensor`: new landing files → ingest those days (one run for a contiguous batch)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from mlops_assets.provenance import AUTOMATIC_TAG, TRIGGER_TAG
from mlops_assets.runs import RANGE_END, RANGE_START
from resources.lake import LakeResource

KINDS = ("applications", "labels")


def landing_signatures(landing_root: Path) -> dict[str, str]:
    """Per day, a signature of every landing file (name, size, mtime): it changes when a file lands."""
    days: dict[str, list[str]] = {}
    for kind in KINDS:
        for folder in sorted((landing_root / kind).glob("date=*")):
            for path in sorted(folder.glob("*.parquet")):
                stat = path.stat()
                days.setdefault(folder.name.removeprefix("date="), []).append(f"{kind}/{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return {day: _digest("|".join(files)) for day, files in sorted(days.items())}


def _digest(text: str) -> str:
    """Stable across processes (the daemon evaluates each tick in a fresh one), unlike hash()."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def raw_arrival_sensor(job_name: str) -> dg.SensorDefinition:
    @dg.sensor(
        name="raw_arrival_sensor",
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Ingests and validates every day whose landing files are new or changed.",
    )
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult | dg.SkipReason:
        seen: dict[str, str] = json.loads(context.cursor or "{}")
        current = landing_signatures(Path(lake.landing_root))
        changed = sorted(day for day, signature in current.items() if seen.get(day) != signature)
        if not changed:
            return dg.SkipReason(f"no new landing files ({len(current)} days known)")
        first, last = changed[0], changed[-1]
        batch = "|".join(f"{day}={current[day]}" for day in changed)
        request = dg.RunRequest(
            run_key=f"ingest:{first}..{last}:{_digest(batch)}",
            tags={
                RANGE_START: first,
                RANGE_END: last,
                TRIGGER_TAG: f"raw_arrival_sensor: new files for {len(changed)} day(s) {first}..{last}",
                AUTOMATIC_TAG: "true",
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=json.dumps(current))

    return _sensor
