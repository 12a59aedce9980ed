"""One MLflow run per Dagster run: every step logs into it, and it ends once, with the Dagster run's outcome.

dagster-mlflow's `end_mlflow_on_run_finished` ends the MLflow run at the first failed step.
A Dagster run goes on with the steps that do not depend on the failed one. In a single
process (the CLI, the demo, tests), such a step that logs finds no active MLflow run, so
MLflow starts a new one. That run has no ``dagster_run_id`` tag, so what the step logged
cannot be traced to its Dagster run. It also stays active after the Dagster run, and the next
run in the process logs into it ("is already active").

Here a failed step only marks the MLflow run FAILED (``set_terminated``, which keeps it the
active run of the process), so later steps still log into it. A run still active when
`end_open_mlflow_run` is called is ended with the Dagster run's outcome.
"""

from __future__ import annotations

import dagster as dg
from dagster import HookContext, HookExecutionResult
from dagster._core.definitions.decorators.hook_decorator import event_list_hook  # as dagster-mlflow's hook: it sees step failures

FINISHED, FAILED = "FINISHED", "FAILED"
HOOK = "mlflow_run_outcome"


@event_list_hook(name=HOOK, required_resource_keys={"mlflow"})
def _mlflow_run_outcome(context: HookContext, event_list: list) -> HookExecutionResult:
    import mlflow

    active = mlflow.active_run()
    for event in event_list if active is not None else ():
        if event.is_step_failure:
            mlflow.tracking.MlflowClient().set_terminated(active.info.run_id, status=FAILED)
        elif event.is_step_success and context.op.name == _last_op(context):
            failed = mlflow.get_run(active.info.run_id).info.status == FAILED
            mlflow.end_run(status=FAILED if failed else FINISHED)
    return HookExecutionResult(hook_name=HOOK, is_skipped=False)


def _last_op(context: HookContext) -> str:
    return context._step_execution_context.job_def.nodes_in_topological_order[-1].name  # noqa: SLF001 (as dagster-mlflow's own hook)


def mlflow_hooks() -> set[dg.HookDefinition]:
    """The hooks a job whose steps log to MLflow carries: its MLflow run is FAILED at a failed step, ended after the last."""
    return {_mlflow_run_outcome}


def end_open_mlflow_run(success: bool) -> None:
    """End the MLflow run a finished Dagster run left active in this process, with that run's outcome."""
    import mlflow

    if mlflow.active_run() is not None:
        mlflow.end_run(status=FINISHED if success else FAILED)
