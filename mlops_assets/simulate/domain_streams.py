"""A project model's stream, built by the project's own feature path: replay, ingest, feature tables, Feast.

The domain's data (real when its folder is under the data root, else its seeded generator)
is landed into a temporary home with the label contract's delay, the `pipeline` job
materializes the source's assets (raw, validated, labels, labelled events, feature and
reference tables) and `feast apply`, and `model_inputs` retrieves the point-in-time features
of every labelled event, as the training_set asset does. This is done once per domain; the
replay then sets its own label delays (entity histories keep the contract's delay, so at a
shorter replay delay they lag the labels, and never lead them).

The run uses an in-memory Dagster instance: the SQLite event log of a year of daily
partitions took longer than the work itself (measured: 3.5 of 6 minutes for credit).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import dagster as dg

from mlops_assets import keys
from mlops_assets.definitions import PIPELINE_JOB, build_definitions
from mlops_assets.errors import DataError
from mlops_assets.features.retrieval import model_inputs
from mlops_assets.profile import load_profile
from mlops_assets.runs import failure_summary, run_job
from mlops_assets.simulate.landing import ReplayTables, write_landing
from mlops_assets.simulate.streams import Stream
from mlops_assets.source_factory import feast_inputs
from mlops_assets.specs.model import ModelSpec
from resources import resources_for
from resources.feast import feature_columns

def domain_tables(spec: ModelSpec, data_root: Path, *, seed: int = 0) -> tuple[ReplayTables, str]:
    """The source's real dataset when its folder is under ``data_root``, else its seeded generator; and which it was."""
    sample = spec.source.sample_data
    if sample is None:
        raise DataError(f"source {spec.source.name!r} declares no sample_data: there is nothing to replay")
    folder = Path(data_root) / sample.folder
    if folder.is_dir():
        return sample.load(folder), f"real data in {folder}"
    return sample.synthesize(seed), f"seeded synthetic generator (seed {seed}); {folder} not found"


def domain_streams(specs: Sequence[ModelSpec], data_root: Path, *, days: int | None = None, seed: int = 0,
                   say: Callable[[str], None] = print) -> list[Stream]:  # fmt: skip
    """One stream per model: its labelled events (the last ``days`` days of its data, all when None) with their features."""
    with tempfile.TemporaryDirectory(prefix="mlops-ct-") as home:
        profile = load_profile({"MLOPS_HOME": home, "MLOPS_DATA": str(data_root)})
        defs = build_definitions(list(specs), profile=profile)
        instance = dg.DagsterInstance.ephemeral()
        resources = resources_for(profile)
        streams = []
        for spec in specs:
            tables, data = domain_tables(spec, data_root, seed=seed)
            first, last = tables.day_range(spec.source)
            start = first if days is None else max(first, last - timedelta(days=days - 1))
            write_landing(spec.source, tables, profile.landing_root, start=start, days=(last - start).days + 1)
            say(f"{spec.name}: {data}; landed {start} .. {last}; running its ingest and feature assets")
            source = spec.source
            assets = [source.key(stage) for stage in keys.SOURCE_STAGES if stage != "reference"] + feast_inputs(source) + [keys.FEATURE_VIEWS]
            result = run_job(defs, instance, PIPELINE_JOB, days=(start.isoformat(), last.isoformat()), trigger="ct-benchmark", assets=assets)
            if not result.success:
                raise DataError(f"{spec.name}: the ingest run failed:\n{failure_summary(result)}")
            events = resources["lake"].read_table(*spec.events.path, "part.parquet")
            store = resources["feast"].store()
            frame = model_inputs(store, spec, events, extra=[spec.label])
            features = tuple(feature_columns(store, spec.feature_service))
            streams.append(Stream(name=spec.name, spec=spec, frame=frame, features=features, drifting=True,
                                  data=f"{data}, {start} .. {last}"))  # fmt: skip
        return streams
