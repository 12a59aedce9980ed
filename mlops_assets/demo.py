"""`mlops demo`: the lifecycle end to end for every model of the project, headless, with progress and a summary.

Chapter 1 replays each source up to the same day (real data, or its synthetic stand-in),
materializes the graph and serves every champion from one `mlops serve`. Chapter 2 is
continuous training: each source's `story` lands week after week, the sensors are evaluated
after each week, retrains run, the gate decides, and the running server follows while
background traffic counts every answer.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from datetime import date, timedelta

from mlops_assets.project import landed_range, project_sources, replay_tables, run_pipeline, say
from mlops_assets.demo_story import Traffic, demo_policy, get, landed_requests, live_metric, post
from mlops_assets.profile import Profile, redacted
from mlops_assets.specs.model import ModelSpec
from resources.serving import server_state_file

READY_TIMEOUT_S = 120
HOME_MARKERS = ("dagster", "landing", "lake", "mlflow.db")
SHOWN_REQUESTS = 3


def demo_models(models: tuple[ModelSpec, ...]) -> list[ModelSpec]:
    """The project's models with the demo's settings: simulated weeks pass in seconds, so no cooldown
    or daily cap, and a 5-day holdout with outcomes weighted by recency, to follow a change within weeks."""
    return [replace(m, policy=demo_policy(m.policy), holdout_days=5, recency_half_life_days=7.0) for m in models]


def start_server(profile: Profile, port: int, models: list[ModelSpec]) -> subprocess.Popen:
    """`mlops serve` in its own process group, so one signal stops it and its children."""
    env = {**os.environ, **profile.environ()}
    for spec in models:
        server_state_file(profile.serving_root, spec.name).unlink(missing_ok=True)
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


def replay_chapter(profile: Profile, days: int) -> dict:
    """Land every source up to the same day; returns the replayed tables, by source."""
    from mlops_assets.simulate.landing import land_together

    sources = project_sources(profile)
    tables = {s.name: replay_tables(profile, s, synthetic=False, seed=0) for s in sources}
    for name, summary in land_together([(s, tables[s.name]) for s in sources], profile.landing_root, days=days).items():
        say(f"  {name}: {summary.events} events and {summary.labels} outcomes landed, {summary.first_day} .. {summary.last_day}")
    return tables


def first_chapter(args: argparse.Namespace, profile: Profile) -> dict:
    say(f"1/6 replaying up to {args.days} days of every source into the landing zone (real data, or its synthetic stand-in)")
    tables = replay_chapter(profile, args.days)
    say("2/6 materializing the whole graph: raw → validated → Feast → training set → model → report → gate → endpoint, every domain")
    if not run_pipeline(profile, job="pipeline", days=landed_range(profile), trigger="demo").success:
        raise SystemExit(1)
    return tables


def lake_record(profile: Profile, model: str, name: str) -> dict:
    """What the latest materialization of ``<model>/<name>`` handed to the next stage."""
    from mlops_assets.handover import latest_record
    from mlops_assets.instance import ensure_instance
    from resources import resources_for

    return latest_record(ensure_instance(profile), resources_for(profile)["lake"], model, name)


def refit_note(gate: dict) -> str:
    """How a gate record names what serves: the refit of a passed challenger."""
    return f" (refit on all its rows as v{gate['serve_version']})" if gate["serve_version"] != gate["version"] else ""


def show_requests(profile: Profile, url: str, models: list[ModelSpec], fields: dict[str, list[str]]) -> None:
    """A few of the latest events of each source, sent as a client would, and what each model answered."""
    last = landed_range(profile)[1]
    for spec in models:
        first = (date.fromisoformat(last) - timedelta(days=6)).isoformat()
        for row in landed_requests(profile.landing_root, spec, fields[spec.name], first, last)[-SHOWN_REQUESTS:]:
            status, body = post(f"{url}/models/{spec.name}/predict", {k: v for k, v in row.items() if k != "request_id"})
            shown = ", ".join(f"{k}={v}" for k, v in list(row.items())[:4] if k != "request_id")
            answer = f"{spec.label} score {body['score']:.3f} (v{body['model_version']})" if status == 200 else f"refused {status}: {body['error']['message']}"
            say(f"  {spec.name:<8} {shown} -> {answer}")


def served_versions(replies: list[tuple[int, dict]]) -> dict[str, int]:
    """How many answers each model version gave."""
    counts: dict[str, int] = {}
    for status, body in replies:
        if status == 200:
            counts[body["model_version"]] = counts.get(body["model_version"], 0) + 1
    return counts


def second_chapter(profile: Profile, url: str, tables: dict, fields: dict[str, list[str]], models: list[ModelSpec]) -> list[str]:
    """Weeks of new data for the sources of ``models``; after each, the sensors decide. Returns one summary line per model and week."""
    from mlops_assets.automation import tick
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance
    from mlops_assets.spec_checks import sources_of

    defs = build_definitions(models, profile=profile)
    instance = ensure_instance(profile)
    sources = [s for s in sources_of(models) if s.sample_data and s.sample_data.story]
    weeks = max(len(s.sample_data.story) for s in sources)
    lines: list[str] = []
    windows: list[dict[str, tuple[str, str]]] = []
    for week in range(weeks):
        landed: dict[str, tuple[str, str]] = {}
        for source in sources:
            if week >= len(source.sample_data.story):
                continue
            scenario = source.sample_data.story[week]
            summary = source.sample_data.simulate(source, profile.landing_root, scenario, history=tables[source.name], days=7, seed=week + 1)
            landed[source.name] = (summary.first_day.isoformat(), summary.last_day.isoformat())
            say(f"week {week + 1}: {source.name} {scenario} {summary.first_day}..{summary.last_day}: {summary.events} events{_notes(summary)}")
        rows = {}
        for spec in models:
            if spec.source.name in landed:
                rows[spec.name] = landed_requests(profile.landing_root, spec, fields[spec.name], *landed[spec.source.name])
                replies = [post(f"{url}/models/{spec.name}/predict", {k: v for k, v in r.items()}) for r in rows[spec.name]]
                served = served_versions(replies)
                say(f"  {spec.name}: served {sum(served.values())} ({', '.join(f'v{v}: {n}' for v, n in sorted(served.items()))}), "
                    f"refused {len(replies) - sum(served.values())} invalid")  # fmt: skip
        arrivals = [f"{s.name}_arrival_sensor" for s in sources if s.name in landed]
        for outcome in tick(defs, instance, arrivals):
            say(f"  {outcome.sensor}: {outcome.message}" + (f" → run {'ok' if outcome.success else 'FAILED'}" if outcome.run_id else ""))
        retrain = [f"{m.name}_{kind}_sensor" for m in models for kind in ("new_labels", "drift", "performance")]
        with Traffic(url, rows) as traffic:
            for outcome in tick(defs, instance, retrain):
                if outcome.run_id:
                    say(f"  {outcome.sensor}: {outcome.message} → retrain run {'ok' if outcome.success else 'FAILED'}")
        for spec in models:
            gate = lake_record(profile, spec.name, "champion_gate")
            say(f"  {spec.name}: last gate v{gate['version']} {gate['gate.decision']}{refit_note(gate)}: {gate['gate.reason']}")
        say(f"  during the sensors' runs: {sum(traffic.statuses.values())} requests, {traffic.failed} failed, versions {dict(traffic.versions)}")
        windows.append(landed)
        if len(windows) > 1:  # outcomes trail by days: the previous week's are in now
            for spec in models:
                if spec.source.name not in windows[-2]:
                    continue
                value, n = live_metric(profile, spec, *windows[-2][spec.source.name])
                story = spec.source.sample_data.story[week - 1] if spec.source.sample_data else ""
                line = f"week {week} {spec.name:<8} {story:<14} live {spec.metric} " + (f"{value:.3f} on {n} outcomes" if value is not None else f"too few outcomes ({n})")
                lines.append(line)
                say(f"  {line}")
    return lines


def _notes(summary: object) -> str:
    notes = getattr(summary, "notes", "")
    return f"; {notes}" if notes else ""


def run_demo(args: argparse.Namespace, profile: Profile) -> None:
    from mlops_assets.definitions import project_models

    started = time.perf_counter()
    fresh_home(profile)
    say(f"MLOPS_HOME={profile.home} (profile {profile.name})")
    if not profile.admin_token:
        os.environ["MLOPS_ADMIN_TOKEN"] = secrets.token_urlsafe(16)
        profile = replace(profile, admin_token=os.environ["MLOPS_ADMIN_TOKEN"])
    models = list(project_models(profile))
    tables = first_chapter(args, profile)
    evaluations = {m.name: lake_record(profile, m.name, "evaluation_report") for m in models}
    for spec in models:
        gate = lake_record(profile, spec.name, "champion_gate")
        say(f"  {spec.name}: gate v{gate['version']} {gate['gate.decision']}{refit_note(gate)}: {gate['gate.reason']}")
    say(f"3/6 starting `mlops serve` on 127.0.0.1:{args.port} for {', '.join(m.name for m in models)}")
    server = start_server(profile, args.port, models)
    url = f"http://127.0.0.1:{args.port}"
    try:
        served = get(f"{url}/models")["models"]
        fields = {name: [f["name"] for f in doc["fields"]] for name, doc in served.items()}
        say("4/6 serving " + ", ".join(f"{name} v{doc['model_version']}" for name, doc in served.items()) + "; a few recent events:")
        show_requests(profile, url, models, fields)
        if args.skip_drift:
            weeks = []
        else:
            say("5/6 continuous training: weeks of new data, the sensors decide")
            weeks = second_chapter(profile, url, tables, fields, demo_models(tuple(models)))
        final = {name: doc["model_version"] for name, doc in get(f"{url}/models")["models"].items()}
    finally:
        stop_server(server)
    say("6/6 collecting the prediction log assets")
    for spec in models:
        run_pipeline(profile, job=f"{spec.name}_prediction_log", days=None, trigger="demo")
    say(f"done in {time.perf_counter() - started:.0f}s")
    lines = []
    for spec in models:
        metrics = evaluations[spec.name]["metrics"]
        lines.append(
            f"  {spec.name:<8} first champion v{evaluations[spec.name]['version']}: holdout {spec.metric} {metrics['challenger'][spec.metric]:.4f} "
            f"(baseline {metrics['baseline'][spec.metric]:.4f}), PR-AUC {metrics['challenger']['pr_auc']:.4f}; serving v{final[spec.name]} at the end; "
            f"reports in {profile.lake_root / spec.name / 'evaluation'}"
        )
    story = "\n".join(f"  {line}" for line in weeks)
    print(
        "\n" + "\n".join(lines) + f"""
{story}
  registry         : alias 'champion' of each model; its history in the registered model's champion_history tag
  MLflow           : {redacted(profile.mlflow_tracking_uri)}  (artifacts {profile.mlflow_artifact_root}); `make mlflow` opens its UI
  prediction logs  : {profile.lake_root}/<model>/prediction_log/part.parquet
  Dagster UI       : make dev  → http://127.0.0.1:3000 (same instance: {profile.dagster_home}); runs are tagged mlops/trigger
""",
        flush=True,
    )
