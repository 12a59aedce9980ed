"""Stage hand-over by run: each delivery stage writes under its own run's folder and reads its upstream's.

A stage reads what its upstream wrote in the same run when it ran there (the normal retrain),
and otherwise what the run of the upstream's latest materialization wrote (a stage launched
alone from the UI). Two overlapping retrains therefore never gate or deploy each other's
candidate, which a shared "latest" file allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from mlops_assets import keys
from mlops_assets.specs.model import ModelSpec
from resources.lake import LakeResource

TRAINING_SET = "training_set.parquet"


def run_folder(spec: ModelSpec, run_id: str) -> tuple[str, ...]:
    return (spec.name, "runs", run_id)


def write_stage(lake: LakeResource, spec: ModelSpec, run_id: str, stage: str, record: dict[str, Any]) -> Path:
    return lake.write_json({**record, "run_id_of_stage": run_id}, *run_folder(spec, run_id), f"{stage}.json")


def latest_run(instance: dg.DagsterInstance, lake: LakeResource, model: str, stage: str) -> str:
    """The run of the latest materialization of ``<model>/<stage>`` that left its record."""
    event = instance.get_latest_materialization_event(keys.model_key(model, stage))
    if event is None or not lake.path(model, "runs", event.run_id, f"{stage}.json").exists():
        raise dg.Failure(f"{model}/{stage} has no materialization to read: materialize it first (the {model}_retrain job runs every stage)")
    return event.run_id


def latest_record(instance: dg.DagsterInstance, lake: LakeResource, model: str, stage: str) -> dict[str, Any]:
    """What the latest materialization of ``<model>/<stage>`` handed over (for the CLI and the demo)."""
    return lake.read_json(model, "runs", latest_run(instance, lake, model, stage), f"{stage}.json")


def upstream_run(context: dg.AssetExecutionContext, lake: LakeResource, spec: ModelSpec, stage: str) -> str:
    """The run whose ``stage`` output this step reads: this run's if it produced one, else the latest materialization's."""
    if lake.path(*run_folder(spec, context.run.run_id), f"{stage}.json").exists():
        return context.run.run_id
    return latest_run(context.instance, lake, spec.name, stage)


def read_stage(context: dg.AssetExecutionContext, lake: LakeResource, spec: ModelSpec, stage: str) -> dict[str, Any]:
    return lake.read_json(*run_folder(spec, upstream_run(context, lake, spec, stage)), f"{stage}.json")


def read_training_set(lake: LakeResource, spec: ModelSpec, run_id: str) -> pd.DataFrame:
    return lake.read_table(*run_folder(spec, run_id), TRAINING_SET)
