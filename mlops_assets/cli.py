"""`mlops`: replay data, run the graph, serve the champions, tell the whole story (`demo`)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from datetime import date
from pathlib import Path

from mlops_assets.profile import Profile, load_profile, redacted
from mlops_assets.project import landed_range, project_model, project_sources, replay_tables, run_pipeline, say
from mlops_assets.serving.prediction_log import FSYNC_POLICIES
from mlops_assets.serving.request import MAX_BATCH_ROWS, MAX_BODY_BYTES

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def cmd_replay(args: argparse.Namespace, profile: Profile) -> None:
    """Without --start, every source lands up to the same last day (the earliest among them): one "today"."""
    from mlops_assets.simulate.landing import land_together, write_landing

    sources = project_sources(profile, args.source)
    tables = {s.name: replay_tables(profile, s, synthetic=args.synthetic, seed=args.seed) for s in sources}
    if args.start:
        summaries = {s.name: write_landing(s, tables[s.name], profile.landing_root, start=date.fromisoformat(args.start), days=args.days,
                                           label_delay_days=args.label_delay, progress=say) for s in sources}  # fmt: skip
    else:
        summaries = land_together([(s, tables[s.name]) for s in sources], profile.landing_root, days=args.days,
                                  label_delay_days=args.label_delay, progress=say)  # fmt: skip
    for source in sources:
        summary = summaries[source.name]
        say(
            f"{source.name}: landed {summary.events} events in {summary.event_files} daily files and "
            f"{summary.labels} labels in {summary.label_files} files, {summary.first_day} .. {summary.last_day}, under {summary.root}"
        )


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
        [model_endpoint(profile, spec, log_fsync=args.log_fsync) for spec in models],
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
    import dagster as dg

    from mlops_assets.automation import tick
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance

    defs = build_definitions(profile=profile)
    # the run closers react to runs, not to data; declarative automation is evaluated by tick() itself
    names = args.sensor or [s.name for s in defs.sensors
                            if not s.name.startswith("mlflow_run_closer") and not isinstance(s, dg.AutomationConditionSensorDefinition)]
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
    say(f"MLflow UI on {url} (store {redacted(profile.mlflow_tracking_uri)}); the first start migrates the store and takes a while; Ctrl-C stops it")
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
    replay.add_argument("--start", help="first day YYYY-MM-DD (default: the window ending on the last day every source has)")
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
    srv.add_argument("--log-fsync", choices=FSYNC_POLICIES, default="interval",
                     help="when the prediction log reaches the disk: interval (each flush, default), always (each prediction), never; "
                          "a killed server loses no answered prediction with any of them. off: no write-ahead, a killed server "
                          "loses up to a second of answered predictions (the benchmark's before)")  # fmt: skip
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
