"""`mlops demo`: the lifecycle end to end, headless, with progress and a summary at the end.

Chapter 1 replays real loans, materializes the graph and serves the champion. Chapter 2 is
continuous training: simulated weeks land (stable, then concept drift), the sensors are
evaluated after each week, retrains run, the gate decides, and the running server follows
while background traffic counts every answer.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace

from mlops_assets.cli import cmd_replay, credit_source, landed_range, run_pipeline, say
from mlops_assets.credit import CREDIT_MODEL
from mlops_assets.demo_story import DEMO_MODEL, STORY, Traffic, application_requests, live_auc, post
from mlops_assets.profile import Profile
from resources.serving import server_state_file

READY_TIMEOUT_S = 120
HOME_MARKERS = ("dagster", "landing", "lake", "mlflow.db")


def start_server(profile: Profile, port: int) -> subprocess.Popen:
    """`mlops serve` in its own process group, so one signal stops it and its children."""
    env = {**os.environ, **profile.environ()}
    server_state_file(profile.serving_root, CREDIT_MODEL.name).unlink(missing_ok=True)
    process = subprocess.Popen([sys.executable, "-m", "mlops_assets.cli", "serve", "--port", str(port)], env=env, start_new_session=True)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"mlops serve exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    stop_server(process)
    raise SystemExit(f"mlops serve was not ready after {READY_TIMEOUT_S}s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def fresh_home(profile: Profile) -> None:
    """The demo tells its story from the start: a previous demo's home is cleared, anything else refused."""
    if not profile.home.exists() or not any(profile.home.iterdir()):
        return
    if not any((profile.home / marker).exists() for marker in HOME_MARKERS):
        raise SystemExit(f"{profile.home} is not empty and not an MLOPS_HOME: set MLOPS_HOME to a new folder")
    say(f"clearing the previous demo in {profile.home}")
    shutil.rmtree(profile.home)


def first_chapter(args: argparse.Namespace, profile: Profile) -> dict:
    say(f"1/6 replaying {args.days} days of loan applications into the landing zone (the real ones, or synthetic ones without them)")
    cmd_replay(argparse.Namespace(source=None, synthetic=False, seed=0, start=None, days=args.days, label_delay=7), profile)
    say("2/6 materializing the whole graph: raw → validated → Feast → training set → model → report → gate → endpoint")
    if not run_pipeline(profile, job="pipeline", days=landed_range(profile), trigger="demo").success:
        raise SystemExit(1)
    lake = profile.lake_root / CREDIT_MODEL.name
    gate = json.loads((lake / "champion_gate.json").read_text())
    say(f"gate: v{gate['version']} {gate['gate.decision']}: {gate['gate.reason']}")
    return json.loads((lake / "evaluation_report.json").read_text())


def served_versions(replies: list[tuple[int, dict]]) -> dict[str, int]:
    """How many answers each model version gave."""
    counts: dict[str, int] = {}
    for status, body in replies:
        if status == 200:
            counts[body["model_version"]] = counts.get(body["model_version"], 0) + 1
    return counts


def second_chapter(profile: Profile, url: str) -> list[str]:
    """Weeks of new data; after each, the sensors decide. Returns one summary line per week."""
    from mlops_assets.automation import tick
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance
    from mlops_assets.simulate.scenarios import simulate

    history = credit_source(profile, None, False, seed=0)
    defs = build_definitions(profile, models=[DEMO_MODEL])
    instance = ensure_instance(profile)
    retrain_sensors = [f"{CREDIT_MODEL.name}_{kind}_sensor" for kind in ("new_labels", "drift", "performance")]
    lines: list[str] = []
    weeks: list[tuple[int, str, str, str]] = []
    for week, (scenario, days) in enumerate(STORY, start=1):
        summary = simulate(profile.landing_root, scenario, history=history, days=days, seed=week)
        first, last = summary.first_day.isoformat(), summary.last_day.isoformat()
        say(f"week {week}: {scenario} {first}..{last}: {summary.notes}")
        rows = application_requests(profile.landing_root, first, last)
        replies = [post(f"{url}/predict", row) for row in rows]
        served = served_versions(replies)
        say(f"  served {sum(served.values())} applications ({', '.join(f'v{v}: {n}' for v, n in sorted(served.items()))}), refused {len(replies) - sum(served.values())} invalid")
        for outcome in tick(defs, instance, ["raw_arrival_sensor"]):
            say(f"  {outcome.sensor}: {outcome.message}" + (f" → run {'ok' if outcome.success else 'FAILED'}" if outcome.run_id else ""))
        with Traffic(url, rows) as traffic:
            for outcome in tick(defs, instance, retrain_sensors):
                say(f"  {outcome.sensor}: {outcome.message}" + (f" → retrain run {'ok' if outcome.success else 'FAILED'}" if outcome.run_id else ""))
        gate = json.loads((profile.lake_root / CREDIT_MODEL.name / "champion_gate.json").read_text())
        say(f"  during the sensors' runs: {sum(traffic.statuses.values())} requests, {traffic.failed} failed, versions {dict(traffic.versions)}; last gate: v{gate['version']} {gate['gate.decision']}")
        weeks.append((week, scenario, first, last))
        if len(weeks) > 1:  # outcomes trail by a week: the previous week's are in now
            prev, prev_scenario, prev_first, prev_last = weeks[-2]
            auc, n = live_auc(profile, prev_first, prev_last)
            lines.append(f"week {prev} {prev_scenario:<14} live AUC {auc:.3f} on {n} outcomes" if auc is not None else f"week {prev} {prev_scenario:<14} too few outcomes ({n})")
            say(f"  {lines[-1]}")
    return lines


def run_demo(args: argparse.Namespace, profile: Profile) -> None:
    started = time.perf_counter()
    fresh_home(profile)
    say(f"MLOPS_HOME={profile.home} (profile {profile.name})")
    if not profile.admin_token:
        os.environ["MLOPS_ADMIN_TOKEN"] = secrets.token_urlsafe(16)
        profile = replace(profile, admin_token=os.environ["MLOPS_ADMIN_TOKEN"])
    evaluation = first_chapter(args, profile)
    say(f"3/6 starting `mlops serve` on 127.0.0.1:{args.port}")
    server = start_server(profile, args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        first_version = json.loads(urllib.request.urlopen(f"{url}/version", timeout=5).read())["model_version"]
        say(f"4/6 serving v{first_version}; a few recent applications:")
        last = landed_range(profile)[1]
        for row in application_requests(profile.landing_root, last, last)[:4]:
            status, body = post(f"{url}/predict", {k: v for k, v in row.items() if k != "request_id"})
            say(f"  {row.get('loan_intent', '?'):<17} {row.get('loan_amnt', '?'):>6} at {row.get('loan_int_rate', '?')}% -> "
                + (f"default risk {body['score']:.3f} (v{body['model_version']})" if status == 200 else f"refused {status}: {body['error']['message']}"))
        weeks = [] if args.skip_drift else (say("5/6 continuous training: a stable week, then concept drift") or second_chapter(profile, url))
        final_version = json.loads(urllib.request.urlopen(f"{url}/version", timeout=5).read())["model_version"]
    finally:
        stop_server(server)
    say("6/6 collecting the prediction log asset")
    run_pipeline(profile, job=f"{CREDIT_MODEL.name}_prediction_log", days=None, trigger="demo")
    metrics = evaluation["metrics"]["challenger"]
    lake = profile.lake_root / CREDIT_MODEL.name
    say(f"done in {time.perf_counter() - started:.0f}s")
    story = "\n".join(f"  {line}" for line in weeks)
    print(
        f"""
  first champion   : {CREDIT_MODEL.name} v{evaluation['version']}  holdout ROC-AUC {metrics['roc_auc']:.4f}  PR-AUC {metrics['pr_auc']:.4f}  log loss {metrics['log_loss']:.4f}  Brier {metrics['brier']:.4f}
  baseline ROC-AUC : {evaluation['metrics']['baseline']['roc_auc']:.4f}
  served at the end: v{final_version} (registry alias 'champion'; history in the registered model's champion_history tag)
{story}
  reports          : {lake / 'evaluation'}
  MLflow           : {profile.mlflow_tracking_uri}  (artifacts {profile.mlflow_artifact_root})
  prediction log   : {lake / 'prediction_log' / 'part.parquet'}
  Dagster UI       : make dev  → http://127.0.0.1:3000 (same instance: {profile.dagster_home}); runs are tagged mlops/trigger
""",
        flush=True,
    )
