"""One pass of the automation, in this process: evaluate sensors, launch what they request.

The daemon does this on its own schedule under `dagster dev`; `mlops tick` and the demo
do it on demand, with the same sensor code, cursors kept in the instance, and the same
run-key de-duplication, so a batch triggers exactly once either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from mlops_assets.runs import QUIET

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
) -> list[TickOutcome]:
    """Evaluate the named sensors in order; run each request whose run key is new, in-process."""
    outcomes = []
    for name in sensors:
        sensor = defs.resolve_sensor_def(name)
        cursor_key = CURSOR_PREFIX + name
        cursor = instance.run_storage.get_cursor_values({cursor_key}).get(cursor_key)
        resources = {key: defs.resources[key] for key in sensor.required_resource_keys}  # never the MLflow run resource
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources=resources)
        result = sensor.evaluate_tick(context)
        if result.cursor is not None:
            instance.run_storage.set_cursor_values({cursor_key: result.cursor})
        if not result.run_requests:
            outcomes.append(TickOutcome(name, result.skip_message or "nothing to do"))
        for request in result.run_requests:
            outcomes.append(_launch(defs, instance, sensor, request))
    return outcomes


def _launch(defs: dg.Definitions, instance: dg.DagsterInstance, sensor: dg.SensorDefinition, request: dg.RunRequest) -> TickOutcome:
    key = f"{sensor.name}:{request.run_key}"
    if request.run_key and instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": key}), limit=1):
        return TickOutcome(sensor.name, f"run key {request.run_key} already launched")
    job = defs.resolve_job_def(request.job_name or sensor.job_name)
    tags = {**request.tags, "dagster/sensor_name": sensor.name, "dagster/run_key": key}
    result = job.execute_in_process(instance=instance, tags=tags, run_config=QUIET, raise_on_error=False,
                                    partition_key=request.partition_key)
    return TickOutcome(sensor.name, request.tags.get("mlops/trigger", job.name), result.run_id, result.success)
