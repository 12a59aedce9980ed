"""`<source>_arrival_sensor`: new landing files of a source → ingest those days (one run for a batch).

It never loses a day. A folder that is not `date=YYYY-MM-DD` (say `date=latest`) is reported
in the tick's message and left out, instead of making a run request no partition matches.
A batch whose run failed (one bad day fails the blocking check for the whole run) is
retried day by day on a later tick, so its good days are ingested; a day that fails alone
waits until its files change.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import dagster as dg

from mlops_assets.provenance import automatic_tags
from mlops_assets.runs import RANGE_END, RANGE_START
from mlops_assets.specs.source import SourceSpec
from resources.lake import LakeResource


RUN_KEY_TAG = "dagster/run_key"
FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
MAX_WATCHED_BATCHES = 100  # runs whose outcome the cursor waits for; older ones (never launched, say) are forgotten


def landing_files(landing_root: Path, folders: tuple[str, ...]) -> tuple[dict[str, list[Path]], list[str]]:
    """Landing files of the folders (a source's events and labels) by day, and the entries that are not day folders."""
    days: dict[str, list[Path]] = {}
    invalid: list[str] = []
    for name in folders:
        for entry in sorted((landing_root / name).glob("*")):
            day = entry.name.removeprefix("date=")
            if not (entry.is_dir() and entry.name.startswith("date=") and _is_day(day)):
                invalid.append(f"{name}/{entry.name}")
                continue
            days.setdefault(day, []).extend(sorted(entry.glob("*.parquet")))
    return days, invalid


def _is_day(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


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
        files, invalid = landing_files(Path(lake.landing_root), folders)
        if invalid:
            context.log.warning(f"{name}: left out {len(invalid)} landing entr{'y' if len(invalid) == 1 else 'ies'} that are not "
                                f"date=YYYY-MM-DD folders: {', '.join(invalid[:5])}; move their files into a day's folder")  # fmt: skip
        state = json.loads(context.cursor) if context.cursor else {}
        seen: dict[str, str] = state["seen"] if "seen" in state else state or already_ingested(context.instance, source.key("raw"), files)
        batches: dict[str, list[str]] = state.get("batches", {})
        current = {day: signature(paths) for day, paths in files.items()}
        requests: list[tuple[dg.RunRequest, list[str]]] = []
        for run_key, days in list(batches.items()):
            status = _status(context.instance, run_key)
            if status is None or status not in (*FAILED, dg.DagsterRunStatus.SUCCESS):
                continue  # not launched or not finished yet
            del batches[run_key]
            if status in FAILED and len(days) > 1:  # one bad day failed the run: each day again, alone
                for day in days:
                    if day in current and seen.get(day) == current[day]:  # a changed day is in the new batch below
                        requests.append((_request(name, [day], current, why=f"retry of {day} alone: the run of {days[0]}..{days[-1]} failed"), [day]))
        changed = sorted(day for day, digest in current.items() if seen.get(day) != digest)
        if changed:
            requests.append((_request(name, changed, current, why=f"new files for {len(changed)} day(s) {changed[0]}..{changed[-1]}"), changed))
        if not requests:
            note = f"; left out {', '.join(invalid[:5])} (not date=YYYY-MM-DD)" if invalid else ""
            why = f"no new landing files ({len(current)} days known){note}"
            return dg.SensorResult(skip_reason=why, cursor=json.dumps({"seen": seen, "batches": batches})) if context.cursor else dg.SkipReason(why)
        batches = dict([*batches.items(), *((request.run_key, days) for request, days in requests)][-MAX_WATCHED_BATCHES:])
        return dg.SensorResult(run_requests=[r for r, _ in requests], cursor=json.dumps({"seen": current, "batches": batches}))

    return _sensor


def _request(sensor: str, days: list[str], current: dict[str, str], *, why: str) -> dg.RunRequest:
    first, last = days[0], days[-1]
    batch = "|".join(f"{day}={current[day]}" for day in days)
    return dg.RunRequest(
        run_key=f"ingest:{first}..{last}:{_digest(batch)}" + (":alone" if why.startswith("retry") else ""),
        tags={RANGE_START: first, RANGE_END: last, **automatic_tags(f"{sensor}: {why}")},
    )


def _status(instance: dg.DagsterInstance, run_key: str) -> dg.DagsterRunStatus | None:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
    return runs[0].status if runs else None
