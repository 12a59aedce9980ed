"""One MLflow run per Dagster run, even when a step fails and the others go on (mlops_assets.mlflow_run).

Seen in CI: a pipeline step failed in process; a later step's logging started an MLflow run with no
Dagster run id, which stayed active and made the next test's MLflow run fail to start.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from mlops_assets.mlflow_run import mlflow_hooks
from mlops_assets.runs import run_job
from resources.mlflow import tracking_resource

EXPERIMENT = "steps"


def definitions(store: str, artifacts: str, *, fail: bool, last_needs_broken: bool) -> dg.Definitions:
    """first logs; broken fails (or not); after logs, following broken in topological order; last comes after all.

    When last needs broken and broken fails, last is skipped: the hook's "after the last step" never comes, and
    the run's end is `run_job`'s. Otherwise last runs after the failure and the hook ends the run.
    """

    @dg.asset(required_resource_keys={"mlflow"})
    def first(context) -> int:
        context.resources.mlflow.log_param("first", 1)
        return 1

    @dg.asset
    def broken(first: int) -> int:
        if fail:
            raise RuntimeError("this step fails")
        return first

    @dg.asset
    def second(first: int) -> int:
        return first

    @dg.asset(required_resource_keys={"mlflow"})
    def after(context, second: int) -> int:
        context.resources.mlflow.log_param("after", second)
        return second

    @dg.asset(deps=[broken] if last_needs_broken else [])
    def last(after: int) -> int:
        return after

    job = dg.define_asset_job("steps", hooks=mlflow_hooks())
    return dg.Definitions(assets=[first, broken, second, after, last], jobs=[job],
                          resources={"mlflow": tracking_resource(store, EXPERIMENT, artifacts)})  # fmt: skip


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    yield uri, (tmp_path / "artifacts").as_uri()
    if mlflow.active_run() is not None:  # what a broken hook left: end it, so no other test inherits it
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.mark.parametrize(("fail", "last_needs_broken", "status"), [(True, True, "FAILED"), (True, False, "FAILED"), (False, True, "FINISHED")])
def test_every_step_logs_into_the_dagster_runs_mlflow_run_which_ends_with_it(store, fail, last_needs_broken, status):
    import mlflow

    uri, artifacts = store
    instance = dg.DagsterInstance.ephemeral()
    defs = definitions(uri, artifacts, fail=fail, last_needs_broken=last_needs_broken)
    results = [run_job(defs, instance, "steps") for _ in range(2)]
    assert [r.success for r in results] == [not fail] * 2
    assert mlflow.active_run() is None, "the Dagster run left its MLflow run active in this process"
    client = mlflow.tracking.MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    assert sorted(r.data.tags.get("dagster_run_id", "none") for r in runs) == sorted(r.run_id for r in results)
    for run in runs:  # one MLflow run per Dagster run: the step after the failure logged into it, not into a run of its own
        assert run.data.params == {"first": "1", "after": "1"} and run.info.status == status
