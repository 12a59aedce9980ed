"""One pass of the automation, in this process: evaluate sensors and automation conditions, launch what they request.

The daemon does this on its own schedule under `dagster dev`; `mlops tick` and the demo
do it on demand, with the same sensor code, cursors kept in the instance, and the same
run-key de-duplication, so a batch triggers exactly once either way. The assets'
automation conditions (`mlops_assets.conditions`) are evaluated once per tick, after the
sensors, as `default_automation_condition_sensor` does under the daemon.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg

from mlops_assets.conditions import AUTOMATION_SENSOR
from mlops_assets.provenance import automatic_tags
from mlops_assets.runs import QUIET, RANGE_END, RANGE_START, execute

CURSOR_PREFIX = "mlops_tick_cursor:"


@dataclass(frozen=True)
class TickOutcome:
    sensor: str
    message: str
    run_id: str | None = None
    success: bool | None = None


def tick(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    sensors: Sequence[str],
    *,
    conditions: bool = True,
) -> list[TickOutcome]:
    """Evaluate the named sensors in order; run each request whose run key is new, in-process.

    Then, unless ``conditions`` is False, the automation conditions once (where the automation
    condition sensor is named, at that place instead), and run what they request.
    """
    outcomes = []
    for name in sensors:
        sensor = defs.resolve_sensor_def(name)
        if isinstance(sensor, dg.AutomationConditionSensorDefinition):
            outcomes += follow_upstream(defs, instance)
            conditions = False
            continue
        cursor_key = CURSOR_PREFIX + name
        cursor = instance.run_storage.get_cursor_values({cursor_key}).get(cursor_key)
        resources = {key: defs.resources[key] for key in sensor.required_resource_keys}  # never the MLflow run resource
        # Closed in a with block: an unclosed context leaves Dagster's current defs-state storage set to an
        # instance it opened, and once that instance is collected every later Definitions load fails.
        with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources) as context:
            result = sensor.evaluate_tick(context)
        if result.cursor is not None:
            instance.run_storage.set_cursor_values({cursor_key: result.cursor})
        if not result.run_requests:
            outcomes.append(TickOutcome(name, result.skip_message or "nothing to do"))
        for request in result.run_requests:
            outcomes.append(_launch(defs, instance, sensor, request))
    if conditions:
        outcomes += follow_upstream(defs, instance)
    return outcomes


def _launch(defs: dg.Definitions, instance: dg.DagsterInstance, sensor: dg.SensorDefinition, request: dg.RunRequest) -> TickOutcome:
    key = f"{sensor.name}:{request.run_key}"
    if request.run_key and instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": key}), limit=1):
        return TickOutcome(sensor.name, f"run key {request.run_key} already launched")
    job = defs.resolve_job_def(request.job_name or sensor.job_name)
    tags = {**request.tags, "dagster/sensor_name": sensor.name, "dagster/run_key": key}
    result = execute(job, instance, tags=tags, run_config=QUIET, partition_key=request.partition_key)
    return TickOutcome(sensor.name, request.tags.get("mlops/trigger", job.name), result.run_id, result.success)


def requested_by_conditions(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict[dg.AssetKey, set[str | None]]:
    """Every automation condition evaluated once since the previous evaluation (cursor kept in the instance):
    the partitions each asset asks for (None for an unpartitioned asset). The first evaluation only sets the baseline."""
    cursor_key = CURSOR_PREFIX + AUTOMATION_SENSOR
    stored = instance.run_storage.get_cursor_values({cursor_key}).get(cursor_key)
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=dg.deserialize_value(stored) if stored else None)
    instance.run_storage.set_cursor_values({cursor_key: dg.serialize_value(result.cursor)})
    return {r.key: set(result.get_requested_partitions(r.key)) for r in result.results
            if isinstance(r.key, dg.AssetKey) and result.get_num_requested(r.key)}  # fmt: skip


def follow_upstream(defs: dg.Definitions, instance: dg.DagsterInstance) -> list[TickOutcome]:
    """Run what the automation conditions request: one run per range of days (and one for undivided assets)."""
    requested = requested_by_conditions(defs, instance)
    if not requested:
        return [TickOutcome(AUTOMATION_SENSOR, "nothing follows: no upstream updated")]
    job = defs.resolve_implicit_global_asset_job_def()
    outcomes = []
    for days, assets in group_runs(defs, requested).items():
        names = ", ".join(sorted(key.to_user_string() for key in assets)) + (f" [{days[0]}..{days[1]}]" if days else "")
        tags = {**automatic_tags(f"{AUTOMATION_SENSOR}: {names} follow their upstream"), "dagster/sensor_name": AUTOMATION_SENSOR}
        if days:
            tags |= {RANGE_START: days[0], RANGE_END: days[1]}
        result = execute(job, instance, asset_selection=list(assets), tags=tags, run_config=QUIET)
        outcomes.append(TickOutcome(AUTOMATION_SENSOR, names, result.run_id, result.success))
    return outcomes


Days = tuple[str, str] | None  # a range of days, or None for undivided assets


def group_runs(defs: dg.Definitions, requested: Mapping[dg.AssetKey, Collection[str | None]]) -> dict[Days, list[dg.AssetKey]]:
    """The requested assets grouped by contiguous range of days, as a backfill with a single-run policy groups them."""
    graph = defs.resolve_asset_graph()
    runs: dict[Days, list[dg.AssetKey]] = {}
    for key, partitions in requested.items():
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            runs.setdefault(None, []).append(key)
            continue
        for days in partitions_def.subset_with_partition_keys(partitions).get_partition_key_ranges(partitions_def):
            runs.setdefault((days.start, days.end), []).append(key)
    return runs
