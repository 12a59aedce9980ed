"""`<source>_arrival_sensor`: new landing files of a source → ingest those days (one run for a batch)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from mlops_assets.provenance import automatic_tags
from mlops_assets.runs import RANGE_END, RANGE_START
from mlops_assets.specs.source import SourceSpec
from resources.lake import LakeResource


def landing_files(landing_root: Path, folders: tuple[str, ...]) -> dict[str, list[Path]]:
    """Landing files of the folders (a source's events and labels), by day."""
    days: dict[str, list[Path]] = {}
    for name in folders:
        for folder in sorted((landing_root / name).glob("date=*")):
            days.setdefault(folder.name.removeprefix("date="), []).extend(sorted(folder.glob("*.parquet")))
    return days


def signature(files: list[Path]) -> str:
    """Changes when a file of the day lands, changes or goes (name, size, mtime)."""
    return _digest("|".join(f"{p.parent.parent.name}/{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files))


def already_ingested(instance: dg.DagsterInstance, raw: dg.AssetKey, files: dict[str, list[Path]]) -> dict[str, str]:
    """The starting cursor: days the raw asset already holds, none of whose files is newer
    than its latest materialization, count as seen, so a new sensor does not re-ingest history
    (nor re-run a batch that failed validation until its files change)."""
    latest = instance.get_latest_materialization_event(raw)
    if latest is None:
        return {}
    done = instance.get_materialized_partitions(raw)
    return {
        day: signature(paths)
        for day, paths in files.items()
        if day in done and all(p.stat().st_mtime < latest.timestamp for p in paths)
    }


def _digest(text: str) -> str:
    """Stable across processes (the daemon evaluates each tick in a fresh one), unlike hash()."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def arrival_sensor(source: SourceSpec, job_name: str) -> dg.SensorDefinition:
    name = f"{source.name}_arrival_sensor"
    folders = (source.name, source.labels_landing)

    @dg.sensor(
        name=name,
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Ingests and validates every day whose {source.name} landing files (events or labels) are new or changed.",
    )
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult | dg.SkipReason:
        files = landing_files(Path(lake.landing_root), folders)
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else already_ingested(context.instance, source.key("raw"), files)
        current = {day: signature(paths) for day, paths in files.items()}
        changed = sorted(day for day, digest in current.items() if seen.get(day) != digest)
        if not changed:
            return dg.SkipReason(f"no new landing files ({len(current)} days known)")
        first, last = changed[0], changed[-1]
        batch = "|".join(f"{day}={current[day]}" for day in changed)
        request = dg.RunRequest(
            run_key=f"ingest:{first}..{last}:{_digest(batch)}",
            tags={
                RANGE_START: first,
                RANGE_END: last,
                **automatic_tags(f"{name}: new files for {len(changed)} day(s) {first}..{last}"),
            },
        )
        return dg.SensorResult(run_requests=[request], cursor=json.dumps(current))

    return _sensor
