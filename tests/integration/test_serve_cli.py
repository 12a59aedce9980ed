"""`mlops serve` as people run it: its own process on the pipeline's home serving every model, then SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from domains.access_requests import ACCESS_MODEL
from domains.credit import CREDIT_MODEL
from mlops_assets.serving.prediction_log import read_prediction_log
from mlops_assets.serving.scorer import scorer_loader
from resources.serving import prediction_log_folder, server_state_file

from tests.conftest import TOKEN, Pipeline
from tests.integration.online_parity import ACCESS_FIELDS, request_rows

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 60


@pytest.mark.integration
def test_mlops_serve_answers_like_the_in_process_scorer_within_its_limits_and_stops_cleanly(pipeline: Pipeline, tmp_path: Path):
    state = server_state_file(pipeline.profile.serving_root, CREDIT_MODEL.name)
    access_state = server_state_file(pipeline.profile.serving_root, ACCESS_MODEL.name)
    kept = {path: path.read_text() for path in (state, access_state) if path.exists()}  # the session's own server, restored afterwards
    for path in kept:
        path.unlink()
    env = {**os.environ, "MLOPS_HOME": str(pipeline.profile.home), "MLOPS_ADMIN_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "serve.log"
    frame = pipeline.training_set("credit").sample(20, random_state=5)
    rows = request_rows(frame)
    access = request_rows(pipeline.training_set("access").head(5), ACCESS_FIELDS)
    try:
        with open(log, "wb") as out:
            command = [sys.executable, "-m", "mlops_assets.cli", "serve", "--port", "0", "--max-batch-rows", "20", "--max-body-bytes", "20000"]
            proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = wait_ready(proc, state, log)
            served = [httpx.post(f"{url}/predict", json={**row, "request_id": f"cli-{i}"}, trust_env=False).json() for i, row in enumerate(rows)]
            batch = httpx.post(f"{url}/predict/batch", json={"rows": rows}, trust_env=False)
            too_many = httpx.post(f"{url}/predict/batch", json={"rows": rows + rows[:1]}, trust_env=False)
            too_big = httpx.post(f"{url}/predict", json={**rows[0], "padding": "x" * 20000}, trust_env=False)
            access_url = json.loads(access_state.read_text())["url"]
            assert access_url.endswith("/models/access") and access_url.rsplit("/models/", 1)[0] == url.rsplit("/models/", 1)[0]
            granted = httpx.post(f"{access_url}/predict/batch", json={"rows": access}, trust_env=False)
            listed = httpx.get(url.rsplit("/models/", 1)[0] + "/models", trust_env=False).json()["models"]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        assert not state.exists() and not access_state.exists(), "the state files go with the server"
        assert set(listed) == {"credit", "access"} and {f["name"] for f in listed["access"]["fields"]} == set(ACCESS_FIELDS)
        assert granted.status_code == 200, granted.text
        access_champion = scorer_loader(pipeline.profile, ACCESS_MODEL)(None)
        assert [p["score"] for p in granted.json()["predictions"]] == access_champion.score([dict(r) for r in access])
        champion = scorer_loader(pipeline.profile, CREDIT_MODEL)(None)  # in this process, Feast fully type-checked
        assert [s["score"] for s in served] == champion.score([dict(r) for r in rows])
        assert batch.status_code == 200 and [p["score"] for p in batch.json()["predictions"]] == [s["score"] for s in served]
        assert too_many.status_code == 413 and "21 > 20" in too_many.json()["error"]["message"], too_many.text
        assert too_big.status_code == 413 and "20000-byte limit" in too_big.json()["error"]["message"], too_big.text
        assert {s["model_version"] for s in served} == {champion.version}
        logged = read_prediction_log(prediction_log_folder(pipeline.profile.serving_root, CREDIT_MODEL.name))
        assert {f"cli-{i}" for i in range(len(rows))} <= set(logged["request_id"]), "SIGTERM flushed the prediction log"
    finally:
        for path, text in kept.items():
            path.write_text(text)


def wait_ready(proc: subprocess.Popen, state: Path, log: Path) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"mlops serve exited with {proc.returncode}: {log.read_text()[-2000:]}"
        if state.exists():
            url = json.loads(state.read_text())["url"]
            try:
                if httpx.get(f"{url}/ready", trust_env=False).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    raise TimeoutError(f"mlops serve not ready in {READY_TIMEOUT_S}s: {log.read_text()[-2000:]}")
