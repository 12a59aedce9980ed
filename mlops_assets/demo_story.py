"""The continuous-training chapter of `mlops demo`: weeks land, sensors fire, the endpoint follows.

Nothing here knows a domain: requests are built from what the server says each model takes
(`GET /models`) and from the events that landed.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_assets.profile import Profile
from mlops_assets.specs.model import ModelSpec
from mlops_assets.specs.policy import RetrainPolicy


def demo_policy(policy: RetrainPolicy) -> RetrainPolicy:
    """A model's policy for the demo: simulated weeks pass in seconds, so the wall-clock cooldown and
    daily cap are relaxed; every other rule (thresholds, breaker, gate) is the model's own."""
    return replace(policy, cooldown=timedelta(0), max_retrains_per_day=50)


def post(url: str, body: dict) -> tuple[int, dict]:
    """Status and JSON body; a 4xx is an answer (bad requests are refused), not a crash."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def landed_requests(landing: Path, spec: ModelSpec, fields: list[str], first: str, last: str) -> list[dict[str, Any]]:
    """Landed events of the days, as clients send them: the model's request fields, the event id as request id."""
    source = spec.source
    paths = [p for p in sorted((landing / source.name).glob("date=*/*.parquet")) if first <= p.parent.name[5:] <= last]
    if not paths:
        return []
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    present = [c for c in fields if c in frame.columns]
    rows = json.loads(frame.loc[:, present].to_json(orient="records"))
    for row, event_id in zip(rows, frame[source.id_column]):
        row["request_id"] = str(event_id)
    return rows


PACE_S = 0.002
"""Pause between two background requests: the client shares the demo's process (and its GIL) with the
retrains it runs, so unpaced traffic would mostly slow the training down; a few hundred requests a
second still cross every hot swap."""


@dataclass
class Traffic:
    """Steady background requests to each model while the models change underneath, counting every answer."""

    url: str
    rows: dict[str, list[dict]]  # model name -> request bodies
    statuses: Counter = field(default_factory=Counter)
    versions: Counter = field(default_factory=Counter)  # (model, version)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        streams = [(name, rows) for name, rows in self.rows.items() if rows]
        while streams and not self._stop.is_set():
            name, rows = streams[i % len(streams)]
            row = {k: v for k, v in rows[(i // len(streams)) % len(rows)].items() if k != "request_id"}
            try:
                status, body = post(f"{self.url}/models/{name}/predict", row)
            except OSError:
                status, body = 599, {}
            self.statuses[status] += 1
            if status == 200:
                self.versions[name, body["model_version"]] += 1
            i += 1
            self._stop.wait(PACE_S)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def failed(self) -> int:
        """Server errors and transport failures; a 4xx for an invalid request is a correct answer."""
        return sum(n for status, n in self.statuses.items() if status >= 500)


def live_metric(profile: Profile, spec: ModelSpec, first: str, last: str) -> tuple[float | None, int]:
    """The model's metric on served predictions whose outcomes arrived, for events of those days."""
    from mlops_assets.evaluation.metrics import classification_metrics

    folder = profile.lake_root / spec.name / "live_performance"
    frames = [pd.read_parquet(p / "part.parquet") for p in sorted(folder.glob("date=*")) if first <= p.name[5:] <= last and (p / "part.parquet").exists()]
    frame = pd.concat(frames) if frames else pd.DataFrame()
    if len(frame) < 50 or frame[spec.label].nunique() < 2:
        return None, len(frame)
    return classification_metrics(frame[spec.label], frame["score"])[spec.metric], len(frame)
