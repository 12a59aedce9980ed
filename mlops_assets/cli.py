"""`mlops`: replay data, run the graph, serve the champion, tell the whole story (`demo`)."""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from mlops_assets.profile import Profile, load_profile
from mlops_assets.serving.request import MAX_BATCH_ROWS, MAX_BODY_BYTES

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_CREDIT = PROJECT_ROOT.parent / "shared" / "datasets" / "credit_risk"


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def say(message: str) -> None:
    print(f"[mlops {time.strftime('%H:%M:%S')}] {message}", flush=True)


def credit_source(profile: Profile, explicit: str | None, synthetic: bool, seed: int):
    """Real credit data when it can be found, else the seeded synthetic generator."""
    from mlops_assets.simulate.sources import load_credit_risk, synthetic_source

    if synthetic:
        say(f"source: synthetic generator (seed {seed})")
        return synthetic_source(seed=seed)
    folder = Path(explicit) if explicit else (profile.credit_data or SHARED_CREDIT)
    if (folder / "loan_table.parquet").exists():
        say(f"source: real credit data in {folder}")
        return load_credit_risk(folder)
    if explicit:
        raise SystemExit(f"no loan_table.parquet in {folder}: pass --source with the credit_risk folder or use --synthetic")
    say(f"no credit data at {folder}: using the synthetic generator (seed {seed})")
    return synthetic_source(seed=seed)


def cmd_replay(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.simulate.landing import write_landing

    tables = credit_source(profile, args.source, args.synthetic, args.seed)
    start = date.fromisoformat(args.start) if args.start else None
    summary = write_landing(tables, profile.landing_root, start=start, days=args.days, label_delay_days=args.label_delay, progress=say)
    say(
        f"landed {summary.applications} applications in {summary.application_files} daily files and "
        f"{summary.labels} labels in {summary.label_files} files, {summary.first_day} .. {summary.last_day}, under {summary.root}"
    )


def landed_range(profile: Profile) -> tuple[str, str]:
    from mlops_assets.simulate.landing import landed_days

    days = landed_days(profile.landing_root)
    if not days:
        raise SystemExit(f"nothing landed under {profile.landing_root}: run `mlops replay` first")
    return days[0].isoformat(), days[-1].isoformat()


def run_pipeline(profile: Profile, *, job: str, days: tuple[str, str] | None, trigger: str):
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance
    from mlops_assets.runs import failure_summary, run_job

    say(f"loading definitions and the Dagster instance at {profile.dagster_home}")
    defs = build_definitions(profile)
    instance = ensure_instance(profile)
    say(f"running job {job!r}" + (f" over {days[0]} .. {days[1]}" if days else "") + " (one run)")
    started = time.perf_counter()
    result = run_job(defs, instance, job, days=days, trigger=trigger)
    materialized = sorted({e.asset_key.to_user_string() for e in result.get_asset_materialization_events()})
    say(f"run {result.run_id[:8]} {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f}s; materialized {', '.join(materialized)}")
    if not result.success:
        say("failure:\n" + failure_summary(result))
    return result


def cmd_run(args: argparse.Namespace, profile: Profile) -> None:
    days = (args.start, args.end) if args.start else landed_range(profile)
    result = run_pipeline(profile, job=args.job, days=days if args.job != "credit_retrain" else None, trigger="cli")
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
    from mlops_assets.credit import CREDIT_MODEL
    from mlops_assets.serving.app import create_app
    from mlops_assets.serving.scorer import scorer_loader
    from mlops_assets.serving.server import serve
    from resources.serving import prediction_log_folder, server_state_file

    spec = CREDIT_MODEL
    app = create_app(
        scorer_loader(profile, spec),
        admin_token=profile.admin_token,
        log_folder=prediction_log_folder(profile.serving_root, spec.name),
        max_body_bytes=args.max_body_bytes,
        max_batch_rows=args.max_batch_rows,
    )
    serve(app, host=args.host, port=args.port, state_file=server_state_file(profile.serving_root, spec.name))


def cmd_rollback(args: argparse.Namespace, profile: Profile) -> None:
    """Move `champion` back along its history; a running server is told to follow."""
    import getpass

    from resources import resources_for

    resources = resources_for(profile)
    move = resources["registry"].rollback(args.model, by=f"cli:{getpass.getuser()}", to=args.to)
    say(f"{args.model}: champion v{move['previous']} → v{move['version']} ({move['reason']}, {move['at']})")
    say(f"server: {resources['endpoint'].follow(args.model, move['version'])}")


def cmd_tick(args: argparse.Namespace, profile: Profile) -> None:
    """Evaluate every sensor once and run what they ask for, here (what the daemon does on a timer)."""
    from mlops_assets.automation import tick
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance

    defs = build_definitions(profile)
    names = args.sensor or [s.name for s in defs.resolve_all_sensor_defs() if not s.name.startswith("mlflow_run_closer")]
    for outcome in tick(defs, ensure_instance(profile), names):
        state = "" if outcome.run_id is None else f" → run {outcome.run_id[:8]} {'succeeded' if outcome.success else 'FAILED'}"
        say(f"{outcome.sensor}: {outcome.message}{state}")


def cmd_simulate(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.simulate.scenarios import simulate

    history = credit_source(profile, args.source, args.synthetic, seed=0)
    summary = simulate(profile.landing_root, args.scenario, history=history, days=args.days, seed=args.seed, progress=say)
    say(f"{summary.scenario}: {summary.applications} applications, {summary.labels} labels, {summary.first_day} .. {summary.last_day}; {summary.notes}")


def cmd_demo(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.demo import run_demo

    run_demo(args, profile)


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

    replay = sub.add_parser("replay", help="write daily landing files of applications and delayed labels")
    replay.add_argument("--days", type=int, default=90, help="days to land (default 90)")
    replay.add_argument("--start", help="first day YYYY-MM-DD (default: the window ending on the data's last day)")
    replay.add_argument("--source", help="folder with loan_table.parquet, zipcode_table.parquet, credit_history_sample.csv")
    replay.add_argument("--synthetic", action="store_true", help="use the seeded synthetic generator")
    replay.add_argument("--seed", type=int, default=0)
    replay.add_argument("--label-delay", type=int, default=7, help="days between an application and its outcome")
    replay.set_defaults(func=cmd_replay)

    run = sub.add_parser("run", help="run a job over the landed days (default: the whole pipeline)")
    run.add_argument("--job", default="pipeline", help="pipeline | ingest | credit_retrain")
    run.add_argument("--start", help="first partition day (default: first landed day)")
    run.add_argument("--end", help="last partition day (default: last landed day)")
    run.set_defaults(func=cmd_run)

    srv = sub.add_parser("serve", help="serve the champion over HTTP (POST /predict)")
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
    back.add_argument("--model", default="credit")
    back.add_argument("--to", help="version to roll back to (default: the previous champion)")
    back.set_defaults(func=cmd_rollback)

    tick = sub.add_parser("tick", help="evaluate the sensors once and run what they request, in this process")
    tick.add_argument("--sensor", action="append", help="only this sensor (repeatable)")
    tick.set_defaults(func=cmd_tick)

    sim = sub.add_parser("simulate", help="land more days with a scenario injected")
    sim.add_argument("--scenario", required=True, help="stable | covariate-drift | concept-drift | label-delay | schema-break | garbage-rows")
    sim.add_argument("--days", type=int, default=30)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--source", help="the data the landed history was replayed from (its pending outcomes still arrive)")
    sim.add_argument("--synthetic", action="store_true", help="the history came from the synthetic generator")
    sim.set_defaults(func=cmd_simulate)

    dev = sub.add_parser("dev", help="open the Dagster UI on this profile's instance")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    args = parser.parse_args(argv)
    args.func(args, load_profile())


if __name__ == "__main__":
    main()
