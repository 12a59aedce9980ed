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


def upstream_run(context: dg.AssetExecutionContext, lake: LakeResource, spec: ModelSpec, stage: str) -> str:
    """The run whose ``stage`` output this step reads: this run's if it produced one, else the latest materialization's."""
    if lake.path(*run_folder(spec, context.run.run_id), f"{stage}.json").exists():
        return context.run.run_id
    event = context.instance.get_latest_materialization_event(keys.model_key(spec.name, stage))
    if event is None or not lake.path(*run_folder(spec, event.run_id), f"{stage}.json").exists():
        raise dg.Failure(f"{spec.name}/{stage} has no materialization to read: materialize it first (the {spec.retrain_job} job runs every stage)")
    return event.run_id


def read_stage(context: dg.AssetExecutionContext, lake: LakeResource, spec: ModelSpec, stage: str) -> dict[str, Any]:
    return lake.read_json(*run_folder(spec, upstream_run(context, lake, spec, stage)), f"{stage}.json")


def read_training_set(lake: LakeResource, spec: ModelSpec, run_id: str) -> pd.DataFrame:
    return lake.read_table(*run_folder(spec, run_id), TRAINING_SET)
