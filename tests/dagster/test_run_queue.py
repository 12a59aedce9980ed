"""One retrain per model at a time: the instance's run queue holds a second retrain of the same model back.

The queue's own selection (what the daemon's QueuedRunCoordinatorDaemon would dequeue next) is
asked directly, on the instance `dagster dev` and the CLI use; launching needs a code server,
which this test does not start.
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

from mlops_assets.instance import RETRAIN_QUEUE_TAG, ensure_instance


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    from mlops_assets.definitions import build_definitions
    from mlops_assets.profile import load_profile

    profile = load_profile({"MLOPS_HOME": str(tmp_path_factory.mktemp("queue_home"))})
    return build_definitions(profile=profile), ensure_instance(profile)


def next_dequeued(instance: dg.DagsterInstance) -> list[str]:
    """The job names of the queued runs the daemon would start now, in order."""
    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    runs = daemon._get_runs_to_dequeue(instance, instance.get_concurrency_config(), fixed_iteration_time=None)
    return [run.job_name for run in runs]


def submit(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """A run as a sensor, a schedule or the UI submits it: the job's tags on it, and where its code lives (the workspace's location)."""
    job_def = defs.resolve_job_def(job)
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("mlops_assets"), "__repository__"), job)
    return instance.create_run_for_job(job_def, status=status, tags=job_def.tags, remote_job_origin=origin)


def test_the_instance_config_limits_retrains_per_model(home):
    _, instance = home
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)  # what `dagster dev` dequeues with, by default too
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert limits == [{"key": RETRAIN_QUEUE_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_a_second_retrain_of_a_model_waits_while_other_models_start(home):
    defs, instance = home
    first = submit(defs, instance, "credit_retrain", dg.DagsterRunStatus.QUEUED)
    assert first.tags[RETRAIN_QUEUE_TAG] == "credit"
    submit(defs, instance, "credit_retrain", dg.DagsterRunStatus.QUEUED)
    submit(defs, instance, "access_retrain", dg.DagsterRunStatus.QUEUED)
    assert next_dequeued(instance) == ["credit_retrain", "access_retrain"]  # one credit retrain, not two

    for run in instance.get_runs():
        instance.delete_run(run.run_id)
    submit(defs, instance, "credit_retrain", dg.DagsterRunStatus.STARTED)
    submit(defs, instance, "credit_retrain", dg.DagsterRunStatus.QUEUED)
    submit(defs, instance, "credit_prediction_log", dg.DagsterRunStatus.QUEUED)
    assert next_dequeued(instance) == ["credit_prediction_log"]  # the queued retrain waits for the running one
