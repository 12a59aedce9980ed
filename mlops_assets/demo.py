"""`mlops demo`: the lifecycle end to end, headless, with progress and a summary at the end."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from mlops_assets.cli import cmd_replay, landed_range, run_pipeline, say
from mlops_assets.credit import CREDIT_MODEL
from mlops_assets.profile import Profile
from resources.serving import server_state_file

READY_TIMEOUT_S = 120


def start_server(profile: Profile, port: int) -> subprocess.Popen:
    """`mlops serve` in its own process group, so one signal stops it and its children."""
    env = {**os.environ, **profile.environ()}
    state = server_state_file(profile.serving_root, CREDIT_MODEL.name)
    state.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "mlops_assets.cli", "serve", "--port", str(port)],
        env=env,
        start_new_session=True,
    )
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


def post(url: str, body: dict) -> tuple[int, dict]:
    """Status and JSON body; a 4xx is an answer (bad applications are refused), not a crash."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def request_rows(profile: Profile, fields: list[str], count: int) -> list[dict]:
    """The most recent landed applications, as a client would send them."""
    days = sorted((profile.landing_root / "applications").glob("date=*"))
    frame = pd.concat([pd.read_parquet(p) for d in days[-3:] for p in d.glob("*.parquet")]).tail(count)
    return json.loads(frame.loc[:, fields].to_json(orient="records"))


def request_fields(profile: Profile) -> list[str]:
    """What a client sends: the feature service's request fields and the entity keys."""
    from resources import resources_for
    from resources.feast import request_columns

    store = resources_for(profile)["feast"].store()
    return [*request_columns(store, CREDIT_MODEL.feature_service), *CREDIT_MODEL.entity_keys]


def run_demo(args: argparse.Namespace, profile: Profile) -> None:
    started = time.perf_counter()
    say(f"MLOPS_HOME={profile.home} (profile {profile.name})")
    if not profile.admin_token:
        os.environ["MLOPS_ADMIN_TOKEN"] = secrets.token_urlsafe(16)
        profile = Profile(**{**vars(profile), "admin_token": os.environ["MLOPS_ADMIN_TOKEN"]})
    say(f"1/5 replaying {args.days} days of loan applications into the landing zone")
    cmd_replay(argparse.Namespace(source=None, synthetic=False, seed=0, start=None, days=args.days, label_delay=7), profile)
    say("2/5 materializing the whole graph: raw → validated → Feast → training set → model → report → gate → endpoint")
    result = run_pipeline(profile, job="pipeline", days=landed_range(profile), trigger="demo")
    if not result.success:
        raise SystemExit(1)
    lake = profile.lake_root / CREDIT_MODEL.name
    evaluation = json.loads((lake / "evaluation_report.json").read_text())
    gate = json.loads((lake / "champion_gate.json").read_text())
    say(f"gate: v{gate['version']} {gate['gate.decision']}: {gate['gate.reason']}")
    say(f"3/5 starting `mlops serve` on 127.0.0.1:{args.port}")
    server = start_server(profile, args.port)
    try:
        url = f"http://127.0.0.1:{args.port}"
        version = json.loads(urllib.request.urlopen(f"{url}/version", timeout=5).read())["model_version"]
        rows = request_rows(profile, request_fields(profile), args.requests)
        say(f"4/5 sending {len(rows)} real loan applications to POST {url}/predict")
        replies = [(row, *post(f"{url}/predict", row)) for row in rows]
        answers = [body for _, status, body in replies if status == 200]
        for row, status, body in replies[:3]:
            say(f"  {row['loan_intent']:<17} {row['loan_amnt']:>6} at {row['loan_int_rate']:>5}% -> default risk {body['score']:.3f} (v{body['model_version']})" if status == 200 else f"  refused {status}: {body['error']['message']}")
        for _, status, body in (r for r in replies[3:] if r[1] != 200):
            say(f"  refused {status}: {body['error']['message']}")
        served_versions = sorted({a["model_version"] for a in answers})
    finally:
        stop_server(server)
    say("5/5 collecting the prediction log asset")
    run_pipeline(profile, job="credit_prediction_log", days=None, trigger="demo")
    metrics = evaluation["metrics"]["challenger"]
    say("done in {:.0f}s".format(time.perf_counter() - started))
    print(
        f"""
  served model     : {CREDIT_MODEL.name} v{version} (registry alias 'champion')
  holdout ROC-AUC  : {metrics['roc_auc']:.4f}   PR-AUC {metrics['pr_auc']:.4f}   log loss {metrics['log_loss']:.4f}   Brier {metrics['brier']:.4f}
  baseline ROC-AUC : {evaluation['metrics']['baseline']['roc_auc']:.4f}
  requests served  : {len(answers)} of {len(replies)} (versions {', '.join(served_versions)}; refusals are listed above)
  evaluation report: {lake / 'evaluation' / f"v{gate['version']}" / 'report.md'}
  MLflow           : {profile.mlflow_tracking_uri}  (artifacts {profile.mlflow_artifact_root})
  prediction log   : {lake / 'prediction_log' / 'part.parquet'}
  Dagster UI       : make dev  → http://127.0.0.1:3000 (same instance: {profile.dagster_home})
""",
        flush=True,
    )
