"""`mlops`: replay data, run the graph, serve the champions, tell the whole story (`demo`)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from datetime import date
from pathlib import Path

from typing import TYPE_CHECKING

from mlops_assets.profile import Profile, load_profile
from mlops_assets.serving.request import MAX_BATCH_ROWS, MAX_BODY_BYTES

if TYPE_CHECKING:
    from mlops_assets.simulate.landing import ReplayTables
    from mlops_assets.specs import ModelSpec, SourceSpec

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


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


def cmd_replay(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.simulate.landing import write_landing

    start = date.fromisoformat(args.start) if args.start else None
    for source in project_sources(profile, args.source):
        tables = replay_tables(profile, source, synthetic=args.synthetic, seed=args.seed)
        summary = write_landing(source, tables, profile.landing_root, start=start, days=args.days, label_delay_days=args.label_delay, progress=say)
        say(
            f"{source.name}: landed {summary.events} events in {summary.event_files} daily files and "
            f"{summary.labels} labels in {summary.label_files} files, {summary.first_day} .. {summary.last_day}, under {summary.root}"
        )


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


def cmd_run(args: argparse.Namespace, profile: Profile) -> None:
    sources = [project_model(profile, args.model).source.name] if args.model else None
    days = (args.start, args.end or args.start) if args.start else landed_range(profile, sources)
    result = run_pipeline(profile, job=args.job, days=days, trigger="cli", model=args.model)
    if not result.success:
        raise SystemExit(1)


def skip_import_time_type_instrumentation() -> None:
    """Make typeguard's ``@typechecked`` a no-op in this process, before Feast is imported.

    Feast decorates its classes with it, and typeguard re-parses and recompiles their source
    at every import: 1.65 s of the 5.5 s `mlops serve` took to be ready (measured). The server
    builds no Feast object from user input; typeguard itself skips the checks under ``python -O``.
    """
    import typeguard

    def typechecked(target=None, **_options):  # type: ignore[no-untyped-def]
        return target if target is not None else (lambda decorated: decorated)

    typeguard.typechecked = typechecked


def cmd_serve(args: argparse.Namespace, profile: Profile) -> None:
    gc.disable()  # start-up only builds what lives as long as the process; serve() turns it back on (settle_heap)
    skip_import_time_type_instrumentation()
    from mlops_assets.definitions import project_models
    from mlops_assets.serving.app import create_app
    from mlops_assets.serving.scorer import model_endpoint
    from mlops_assets.serving.server import serve
    from resources.serving import server_state_file

    models = [project_model(profile, name) for name in args.model] if args.model else list(project_models(profile))
    app = create_app(
        [model_endpoint(profile, spec) for spec in models],
        admin_token=profile.admin_token,
        max_body_bytes=args.max_body_bytes,
        max_batch_rows=args.max_batch_rows,
    )
    serve(app, host=args.host, port=args.port, state_files={m.name: server_state_file(profile.serving_root, m.name) for m in models})


def cmd_rollback(args: argparse.Namespace, profile: Profile) -> None:
    """Move `champion` back along its history; a running server is told to follow."""
    import getpass

    from resources import resources_for

    model = project_model(profile, args.model).name
    resources = resources_for(profile)
    move = resources["registry"].rollback(model, by=f"cli:{getpass.getuser()}", to=args.to)
    say(f"{model}: champion v{move['previous']} → v{move['version']} ({move['reason']}, {move['at']})")
    say(f"server: {resources['endpoint'].follow(model, move['version'])}")


def cmd_tick(args: argparse.Namespace, profile: Profile) -> None:
    """Evaluate every sensor once and run what they ask for, here (what the daemon does on a timer)."""
    from mlops_assets.automation import tick
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance

    defs = build_definitions(profile=profile)
    names = args.sensor or [s.name for s in defs.resolve_all_sensor_defs() if not s.name.startswith("mlflow_run_closer")]
    for outcome in tick(defs, ensure_instance(profile), names):
        state = "" if outcome.run_id is None else f" → run {outcome.run_id[:8]} {'succeeded' if outcome.success else 'FAILED'}"
        say(f"{outcome.sensor}: {outcome.message}{state}")


def cmd_simulate(args: argparse.Namespace, profile: Profile) -> None:
    sources = [s for s in project_sources(profile, [args.source] if args.source else None) if s.sample_data and s.sample_data.simulate]
    if len(sources) != 1:
        raise SystemExit(f"name one source with --source: scenarios exist for {', '.join(s.name for s in sources) or 'no source'}")
    source = sources[0]
    if args.scenario not in source.sample_data.scenarios:
        raise SystemExit(f"{source.name} has no scenario {args.scenario!r}; choose one of {', '.join(source.sample_data.scenarios)}")
    history = replay_tables(profile, source, synthetic=args.synthetic, seed=0)
    summary = source.sample_data.simulate(source, profile.landing_root, args.scenario, history=history, days=args.days, seed=args.seed, progress=say)
    say(f"{source.name} {args.scenario}: {summary.events} events, {summary.labels} labels, {summary.first_day} .. {summary.last_day}; {getattr(summary, 'notes', '')}")


def cmd_demo(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.demo import run_demo

    run_demo(args, profile)


def cmd_ui(args: argparse.Namespace, profile: Profile) -> None:
    """The MLflow UI on this profile's tracking store and registry (the links in the Dagster UI point here)."""
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    url = f"http://127.0.0.1:{args.port}"
    say(f"MLflow UI on {url} (store {profile.mlflow_tracking_uri}); the first start migrates the store and takes a while; Ctrl-C stops it")
    if url != profile.mlflow_ui_url:
        say(f"the Dagster UI links to {profile.mlflow_ui_url}: set MLOPS_MLFLOW_UI={url} for `make dev` to link here")
    env = {**os.environ, **profile.environ(), "MLFLOW_DISABLE_TELEMETRY": "true"}
    os.execve(mlflow, [mlflow, "ui", "--backend-store-uri", profile.mlflow_tracking_uri, "--registry-store-uri", profile.mlflow_tracking_uri,
                       "--default-artifact-root", profile.mlflow_artifact_root, "--host", "127.0.0.1", "--port", str(args.port)], env)  # fmt: skip


def cmd_dev(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.instance import ensure_instance

    ensure_instance(profile)
    env = {**os.environ, **profile.environ()}
    say(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={profile.dagster_home}); Ctrl-C stops it")
    dagster = str(Path(sys.executable).with_name("dagster"))  # this environment's, whatever PATH says
    os.execve(dagster, [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(args.port)], env)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mlops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    replay = sub.add_parser("replay", help="write daily landing files of each source's events and delayed labels")
    replay.add_argument("--source", action="append", help="only this source (repeatable; default: every source of the project)")
    replay.add_argument("--days", type=int, default=90, help="days to land (default 90)")
    replay.add_argument("--start", help="first day YYYY-MM-DD (default: the window ending on the data's last day)")
    replay.add_argument("--synthetic", action="store_true", help="use the seeded synthetic generators even where real data exists")
    replay.add_argument("--seed", type=int, default=0)
    replay.add_argument("--label-delay", type=int, help="days between an event and its outcome (default: each source's label contract)")
    replay.set_defaults(func=cmd_replay)

    run = sub.add_parser("run", help="run a job over the landed days (default: the whole pipeline)")
    run.add_argument("--job", default="pipeline", help="pipeline | <source>_ingest | <model>_retrain | <model>_rollout")
    run.add_argument("--model", help="only this model's domain: its source, the feature store and its stages")
    run.add_argument("--start", help="first partition day (default: first landed day)")
    run.add_argument("--end", help="last partition day (default: last landed day)")
    run.set_defaults(func=cmd_run)

    srv = sub.add_parser("serve", help="serve every model's champion over HTTP (POST /models/<name>/predict)")
    srv.add_argument("--model", action="append", help="only this model (repeatable; default: every model of the project)")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8765)
    srv.add_argument("--max-body-bytes", type=positive_int, default=MAX_BODY_BYTES,
                     help=f"refuse larger request bodies with 413 (default {MAX_BODY_BYTES})")  # fmt: skip
    srv.add_argument("--max-batch-rows", type=positive_int, default=MAX_BATCH_ROWS,
                     help=f"refuse batches of more rows with 413 (default {MAX_BATCH_ROWS})")  # fmt: skip
    srv.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="the whole story, headless: replay, train, gate, deploy, serve")
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--skip-drift", action="store_true", help="stop after the first deployment")
    demo.add_argument("--port", type=int, default=8765)
    demo.set_defaults(func=cmd_demo)

    back = sub.add_parser("rollback", help="move the champion alias back; the running server follows")
    back.add_argument("--model", help="the model to roll back (needed when the project has several)")
    back.add_argument("--to", help="version to roll back to (default: the previous champion)")
    back.set_defaults(func=cmd_rollback)

    tick = sub.add_parser("tick", help="evaluate the sensors once and run what they request, in this process")
    tick.add_argument("--sensor", action="append", help="only this sensor (repeatable)")
    tick.set_defaults(func=cmd_tick)

    sim = sub.add_parser("simulate", help="land more days of a source with a scenario injected")
    sim.add_argument("--source", help="the source (default: the only one that has scenarios)")
    sim.add_argument("--scenario", required=True, help="e.g. stable | covariate-drift | concept-drift | label-delay | schema-break | garbage-rows")
    sim.add_argument("--days", type=int, default=30)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--synthetic", action="store_true", help="the history came from the synthetic generator")
    sim.set_defaults(func=cmd_simulate)

    dev = sub.add_parser("dev", help="open the Dagster UI on this profile's instance")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    ui = sub.add_parser("ui", help="open the MLflow UI on this profile's tracking store and registry")
    ui.add_argument("--port", type=int, default=5000)
    ui.set_defaults(func=cmd_ui)

    args = parser.parse_args(argv)
    args.func(args, load_profile())


if __name__ == "__main__":
    main()
