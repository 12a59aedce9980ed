"""Launching runs of the graph from Python (CLI, demo, tests) on a real instance."""

from __future__ import annotations

from collections.abc import Collection

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
    """Run a job in this process over a range of days (one run, not one per day); ``assets`` picks a subset of its assets.

    The run's MLflow run ends with it, so the next run in this process starts its own (`mlops_assets.mlflow_run`).
    """
    tags = {TRIGGER_TAG: trigger}
    if days is not None:
        tags |= {RANGE_START: days[0], RANGE_END: days[1]}
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, tags=tags, raise_on_error=False, run_config=None if verbose else QUIET,
        asset_selection=None if assets is None else list(assets),
    )
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
