"""Launching runs of the graph from Python (CLI, demo, tests) on a real instance."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import dagster as dg

from mlops_assets.mlflow_run import end_open_mlflow_run
from mlops_assets.provenance import TRIGGER_TAG

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_job(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job: str,
    *,
    days: tuple[str, str] | None = None,
    trigger: str = "manual",
    verbose: bool = False,
    assets: Collection[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a job in this process over a range of days (one run, not one per day); ``assets`` picks a subset of its assets."""
    tags = {TRIGGER_TAG: trigger}
    if days is not None:
        tags |= {RANGE_START: days[0], RANGE_END: days[1]}
    return execute(defs.resolve_job_def(job), instance, tags=tags, run_config=None if verbose else QUIET,
                   asset_selection=None if assets is None else list(assets))  # fmt: skip


def execute(job: dg.JobDefinition, instance: dg.DagsterInstance, **options: Any) -> dg.ExecuteInProcessResult:
    """Every run this library executes in process (CLI, demo, tick, tests): failures are returned, not raised, and the
    run's MLflow run ends with it, so the next run in this process starts its own (`mlops_assets.mlflow_run`)."""
    result = job.execute_in_process(instance=instance, raise_on_error=False, **options)
    end_open_mlflow_run(result.success)
    return result


def failure_summary(result: dg.ExecuteInProcessResult) -> str:
    """The failed steps and their messages, for a clear error on the command line."""
    lines = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.event_specific_data.error
            lines.append(f"{event.step_key}: {error.message.strip() if error else 'failed'}")
    return "\n".join(lines) or "run failed"
