"""The project as the CLI and the demo see it: its models and sources, their data, one run of a job."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mlops_assets.profile import Profile

if TYPE_CHECKING:
    from mlops_assets.simulate.landing import ReplayTables
    from mlops_assets.specs import ModelSpec, SourceSpec


def say(message: str) -> None:
    print(f"[mlops {time.strftime('%H:%M:%S')}] {message}", flush=True)


def project_sources(profile: Profile, names: list[str] | None = None) -> list[SourceSpec]:
    """The project's sources (all, or those named), in order."""
    from mlops_assets.definitions import project_models
    from mlops_assets.spec_checks import sources_of

    sources = list(sources_of(project_models(profile)))
    if names:
        unknown = sorted(set(names) - {s.name for s in sources})
        if unknown:
            raise SystemExit(f"no source named {', '.join(unknown)}; the project's sources are {', '.join(s.name for s in sources)}")
        sources = [s for s in sources if s.name in names]
    return sources


def project_model(profile: Profile, name: str | None) -> ModelSpec:
    """One of the project's models by name; the only one when the project has one and none is named."""
    from mlops_assets.definitions import project_models

    models = {m.name: m for m in project_models(profile)}
    if name is None and len(models) == 1:
        return next(iter(models.values()))
    if name not in models:
        raise SystemExit(f"name a model with --model: the project's models are {', '.join(models)}")
    return models[name]


def replay_tables(profile: Profile, source: SourceSpec, *, synthetic: bool, seed: int) -> ReplayTables:
    """The source's real dataset when it is under the data root, else its seeded synthetic stand-in; says which."""
    sample = source.sample_data
    if sample is None:
        raise SystemExit(f"source {source.name!r} declares no sample_data: land its files yourself under {profile.landing_root / source.name}")
    folder = profile.data_root / sample.folder
    if synthetic:
        say(f"{source.name}: synthetic generator (seed {seed})")
        return sample.synthesize(seed)
    if folder.is_dir():
        say(f"{source.name}: real data in {folder}")
        return sample.load(folder)
    say(f"{source.name}: no data at {folder}: using the synthetic generator (seed {seed})")
    return sample.synthesize(seed)


def landed_range(profile: Profile, sources: list[str] | None = None) -> tuple[str, str]:
    """The first and last day any source of the project (or any of ``sources``) has landed."""
    from mlops_assets.simulate.landing import landed_days

    days = sorted(day for source in project_sources(profile, sources) for day in landed_days(profile.landing_root, source.name))
    if not days:
        raise SystemExit(f"nothing landed under {profile.landing_root}: run `mlops replay` first")
    return days[0].isoformat(), days[-1].isoformat()


def run_pipeline(profile: Profile, *, job: str, days: tuple[str, str] | None, trigger: str, model: str | None = None):
    """Run ``job`` in this process over ``days``; with ``model``, only that model's domain (its source, features and stages)."""
    from mlops_assets.definitions import build_definitions, domain_selection
    from mlops_assets.instance import ensure_instance
    from mlops_assets.runs import failure_summary, run_job

    say(f"loading definitions and the Dagster instance at {profile.dagster_home}")
    defs = build_definitions(profile=profile)
    instance = ensure_instance(profile)
    assets = None if model is None else domain_selection(project_model(profile, model)).resolve(defs.resolve_asset_graph()) & set(
        defs.resolve_job_def(job).asset_layer.selected_asset_keys)
    say(f"running job {job!r}" + (f" for {model}" if model else "") + (f" over {days[0]} .. {days[1]}" if days else "") + " (one run)")
    started = time.perf_counter()
    if days is not None and defs.resolve_job_def(job).partitions_def is None:
        days = None  # a job of unpartitioned assets (a retrain) runs over everything known
    result = run_job(defs, instance, job, days=days, trigger=trigger, assets=assets)
    materialized = sorted({e.asset_key.to_user_string() for e in result.get_asset_materialization_events()})
    say(f"run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f}s; materialized {', '.join(materialized)}")
    if not result.success:
        say("failure:\n" + failure_summary(result))
    return result
