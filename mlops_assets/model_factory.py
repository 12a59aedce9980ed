"""`build_model_assets`: a `ModelSpec` in, that model's Dagster definitions out.

No branch here knows a particular model: the credit model is one spec like any other.
"""

from __future__ import annotations

import dagster as dg

from mlops_assets import keys
from mlops_assets.deployment.assets import champion_gate_asset, deployed_endpoint_asset
from mlops_assets.deployment.rollout_asset import rollout_decision_asset
from mlops_assets.evaluation.assets import evaluation_report_asset
from mlops_assets.instance import RETRAIN_QUEUE_TAG
from mlops_assets.mlflow_run import mlflow_hooks
from mlops_assets.monitoring.assets import drift_report_asset, live_performance_asset
from mlops_assets.monitoring.prediction_log import prediction_log_asset
from mlops_assets.monitoring.staleness import training_data_age_check
from mlops_assets.partitions import daily_partitions
from mlops_assets.provenance import automatic_tags
from mlops_assets.specs.model import ModelSpec
from mlops_assets.training.assets import candidate_model_asset, training_set_asset
from sensors.drift import drift_sensor
from sensors.new_labels import new_labels_sensor
from sensors.performance import performance_sensor
from sensors.schedule import weekly_retrain_schedule

DELIVERY_STAGES = ("training_set", "candidate_model", "evaluation_report", "champion_gate", "deployed_endpoint")


def automatic_schedule(name: str, job: str, cron: str, description: str) -> dg.ScheduleDefinition:
    """A schedule that runs by default, its runs tagged as automatic with the schedule as their trigger."""
    return dg.ScheduleDefinition(
        name=name,
        job_name=job,
        cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags=automatic_tags(f"{name} schedule"),
        description=description,
    )


def build_model_assets(spec: ModelSpec, partitions: dg.PartitionsDefinition | None = None) -> dg.Definitions:
    """Training set → candidate → evaluation → gate → endpoint → prediction log → monitoring → rollout decision,
    with their jobs, sensors and schedules.

    Jobs: `<name>_retrain` (labelled events, feature tables, then training to deployment;
    its runs carry the run-queue tag `mlops/retrain=<name>`, so the instance starts one at
    a time per model), `<name>_prediction_log` and `<name>_rollout`. Sensors
    `<name>_new_labels_sensor`, `<name>_drift_sensor` and `<name>_performance_sensor`, and
    the schedule `<name>_weekly_retrain` (Mondays 03:00 UTC), launch the retrain job under
    the spec's policy; `<name>_rollout_check` (daily 06:00 UTC) decides a running shadow or
    canary. The endpoint's check `<name>_training_data_age` runs with the retrain and with
    each ingest.

    ``partitions`` is the daily calendar of the Definitions (default: its source's); the
    source's own assets come from ``build_source_assets`` (``build_definitions`` adds them).
    """
    partitions = partitions or daily_partitions(spec.source.first_day)
    assets = [
        training_set_asset(spec),
        candidate_model_asset(spec),
        evaluation_report_asset(spec),
        champion_gate_asset(spec),
        deployed_endpoint_asset(spec),
        prediction_log_asset(spec),
        drift_report_asset(spec, partitions),
        live_performance_asset(spec),
        rollout_decision_asset(spec),
    ]
    age = training_data_age_check(spec)
    tables = [table.key for table in spec.source.feature_tables]
    retrain = dg.define_asset_job(
        spec.retrain_job,
        selection=dg.AssetSelection.assets(spec.events, *tables, *(keys.model_key(spec.name, s) for s in DELIVERY_STAGES)),
        hooks=mlflow_hooks(),
        tags={RETRAIN_QUEUE_TAG: spec.name},
        description=f"Refresh labelled events{' and their feature tables' if tables else ''}, train, evaluate, gate and deploy {spec.name}.",
    )
    collect_log = dg.define_asset_job(
        f"{spec.name}_prediction_log",
        selection=dg.AssetSelection.assets(keys.model_key(spec.name, "prediction_log")),
        description=f"Gather what the {spec.name} endpoint served into the prediction log table.",
    )
    rollout = dg.define_asset_job(
        spec.rollout_job,
        selection=dg.AssetSelection.assets(*(keys.model_key(spec.name, s) for s in ("prediction_log", "rollout_decision"))),
        description=f"Gather the {spec.name} prediction log, then promote or end the running shadow/canary on its outcomes.",
    )
    sensors = [
        new_labels_sensor(spec),
        drift_sensor(spec),
        performance_sensor(spec),
    ]
    schedules = [
        weekly_retrain_schedule(spec),
        automatic_schedule(f"{spec.name}_rollout_check", spec.rollout_job, "0 6 * * *",
                           f"Every day 06:00 UTC: decide the running {spec.name} shadow/canary on the outcomes known by then."),
    ]  # fmt: skip
    return dg.Definitions(assets=assets, asset_checks=[age], jobs=[retrain, collect_log, rollout], sensors=sensors, schedules=schedules)
