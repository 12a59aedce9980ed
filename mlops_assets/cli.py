"""`mlops`: replay data, run the graph, serve the champion, tell the whole story (`demo`)."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from mlops_assets.profile import Profile, load_profile

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_CREDIT = PROJECT_ROOT.parent / "shared" / "datasets" / "credit_risk"


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


def cmd_serve(args: argparse.Namespace, profile: Profile) -> None:
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
    )
    serve(app, host=args.host, port=args.port, state_file=server_state_file(profile.serving_root, spec.name))


def cmd_demo(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.demo import run_demo

    run_demo(args, profile)


def cmd_dev(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.instance import ensure_instance

    ensure_instance(profile)
    env = {**os.environ, **profile.environ()}
    say(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={profile.dagster_home}); Ctrl-C stops it")
    os.execvpe("dagster", ["dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(args.port)], env)


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
    srv.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="the whole story, headless: replay, train, gate, deploy, serve")
    demo.add_argument("--days", type=int, default=90)
    demo.add_argument("--requests", type=int, default=20)
    demo.add_argument("--port", type=int, default=8765)
    demo.set_defaults(func=cmd_demo)

    dev = sub.add_parser("dev", help="open the Dagster UI on this profile's instance")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    args = parser.parse_args(argv)
    args.func(args, load_profile())


if __name__ == "__main__":
    main()
