"""The continuous-training chapter of `mlops demo`: weeks land, sensors fire, the endpoint follows."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pandas as pd

from mlops_assets.credit import CREDIT_MODEL
from mlops_assets.profile import Profile
from sensors.policy import RetrainPolicy

# Simulated weeks pass in seconds, so the wall-clock cooldown and daily cap are relaxed here;
# every other rule (thresholds, breaker, gate) is the shipped one. To follow a concept drift
# within weeks the demo model holds out 5 days (not 14) and weights outcomes by recency.
DEMO_POLICY = replace(RetrainPolicy(), cooldown=timedelta(0), max_retrains_per_day=50)
DEMO_MODEL = replace(CREDIT_MODEL, policy=DEMO_POLICY, holdout_days=5, recency_half_life_days=7.0)
STORY = (("stable", 7), *(("concept-drift", 7),) * 5)
REQUEST_FIELDS = ("person_age", "person_income", "person_home_ownership", "person_emp_length", "loan_intent", "loan_amnt", "loan_int_rate", "zipcode", "dob_ssn")


def post(url: str, body: dict) -> tuple[int, dict]:
    """Status and JSON body; a 4xx is an answer (bad applications are refused), not a crash."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def application_requests(landing: Path, first: str, last: str) -> list[dict]:
    """Landed applications of the days, as clients send them: the loan id is the request id."""
    frames = [pd.read_parquet(p) for p in sorted((landing / "applications").glob("date=*/*.parquet")) if first <= p.parent.name[5:] <= last]
    frame = pd.concat(frames, ignore_index=True)
    present = [c for c in REQUEST_FIELDS if c in frame.columns]
    rows = json.loads(frame.loc[:, present].to_json(orient="records"))
    for row, loan_id in zip(rows, frame["loan_id"]):
        row["request_id"] = str(loan_id)
    return rows


@dataclass
class Traffic:
    """Steady background requests while the model changes underneath, counting every answer."""

    url: str
    rows: list[dict]
    statuses: Counter = field(default_factory=Counter)
    versions: Counter = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            row = {k: v for k, v in self.rows[i % len(self.rows)].items() if k != "request_id"}
            try:
                status, body = post(f"{self.url}/predict", row)
            except OSError:
                status, body = 599, {}
            self.statuses[status] += 1
            if status == 200:
                self.versions[body["model_version"]] += 1
            i += 1

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    @property
    def failed(self) -> int:
        """Server errors and transport failures; a 4xx for an invalid application is a correct answer."""
        return sum(n for status, n in self.statuses.items() if status >= 500)


def live_auc(profile: Profile, first: str, last: str) -> tuple[float | None, int]:
    """AUC of served predictions whose outcomes arrived, for applications of those days."""
    from mlops_assets.evaluation.metrics import classification_metrics

    folder = profile.lake_root / CREDIT_MODEL.name / "live_performance"
    frames = [pd.read_parquet(p / "part.parquet") for p in sorted(folder.glob("date=*")) if first <= p.name[5:] <= last and (p / "part.parquet").exists()]
    frame = pd.concat(frames) if frames else pd.DataFrame()
    if len(frame) < 50 or frame[CREDIT_MODEL.label].nunique() < 2:
        return None, len(frame)
    return classification_metrics(frame[CREDIT_MODEL.label], frame["score"])["roc_auc"], len(frame)
