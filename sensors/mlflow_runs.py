"""Close the MLflow run of every finished Dagster run, whichever way it was launched.

dagster-mlflow's hook ends the run only on jobs that carry it; a run launched from the
UI's Materialize button uses Dagster's implicit asset job, which has none, and its MLflow
run would stay RUNNING forever.
"""

from __future__ import annotations

import dagster as dg

from resources.mlflow import RegistryResource


def close_mlflow_runs(registry: RegistryResource, dagster_run_id: str, status: str) -> list[str]:
    """Terminate the still-running MLflow runs tagged with this Dagster run; returns their ids."""
    client = registry.client()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    runs = client.search_runs(experiments, filter_string=f"tags.dagster_run_id = '{dagster_run_id}' and attributes.status = 'RUNNING'")
    for run in runs:
        client.set_terminated(run.info.run_id, status=status)
    return [run.info.run_id for run in runs]


def _closer(name: str, run_status: dg.DagsterRunStatus, mlflow_status: str) -> dg.SensorDefinition:
    @dg.run_status_sensor(name=name, run_status=run_status, default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=False)
    def _sensor(context: dg.RunStatusSensorContext, registry: RegistryResource) -> None:
        closed = close_mlflow_runs(registry, context.dagster_run.run_id, mlflow_status)
        if closed:
            context.log.info(f"closed MLflow run(s) {', '.join(closed)} of Dagster run {context.dagster_run.run_id} as {mlflow_status}")

    return _sensor


def mlflow_run_closers() -> list[dg.SensorDefinition]:
    return [
        _closer("mlflow_run_closer_success", dg.DagsterRunStatus.SUCCESS, "FINISHED"),
        _closer("mlflow_run_closer_failure", dg.DagsterRunStatus.FAILURE, "FAILED"),
    ]
