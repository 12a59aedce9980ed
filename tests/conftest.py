"""Shared fixtures: each domain's data (real when ../shared has it, else its seeded generator), one real pipeline run.

Which data a run used is printed in the header and the summary. Tests that assert facts of
the real data only are marked ``real_data("<folder>")``; without that folder they are
reported as not run, with the reason, never skipped silently.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MLOPS_DATA", ROOT.parent / "shared" / "datasets")).resolve()
SYNTHETIC_SEED = 0

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ["MLOPS_DATA"] = str(DATA)  # every subprocess a test starts reads the same data


def real(folder: str) -> bool:
    """Whether the real dataset ``folder`` is under the data root."""
    return (DATA / folder).is_dir()


def data_used() -> list[str]:
    from domains import MODELS
    from mlops_assets.spec_checks import sources_of

    lines = []
    for source in sources_of(MODELS):
        folder = source.sample_data.folder
        lines.append(f"{source.name}: real data in {DATA / folder}" if real(folder)
                     else f"{source.name}: seeded synthetic generator (seed {SYNTHETIC_SEED}); {DATA / folder} not found")  # fmt: skip
    return lines


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_data(folder): asserts facts of that real dataset; not run (and reported) without it")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return ["data: " + "; ".join(data_used())]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker in item.iter_markers("real_data"):
            folder = marker.args[0]
            if not real(folder):
                item.add_marker(pytest.mark.skip(reason=f"needs the real {folder} data at {DATA / folder}; the synthetic tier ran instead"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    not_run = [r for r in terminalreporter.stats.get("skipped", []) if "needs the real" in str(r.longrepr)]
    terminalreporter.write_sep("=", "data")
    for line in data_used():
        terminalreporter.write_line(line)
    if not_run:
        terminalreporter.write_line(f"{len(not_run)} test(s) of real-data facts did not run (their reasons are listed above)")
    passed = [report.nodeid for report in terminalreporter.stats.get("passed", []) if report.when == "call"]
    files = sum("reliability/test_bad_files.py::" in nodeid for nodeid in passed)
    if files or any("reliability/test_bad_requests.py::" in nodeid for nodeid in passed):
        from tests.reliability.test_bad_requests import CASES

        requests = len(CASES) if any("reliability/test_bad_requests.py::" in nodeid for nodeid in passed) else 0
        terminalreporter.write_sep("=", "reliability")
        terminalreporter.write_line(f"tried {files} kinds of bad landing and label file and {requests} kinds of bad request; each got its expected outcome")


@pytest.fixture(autouse=True)
def no_dagster_context_left_open() -> Iterator[None]:
    """Fail the test that leaves a Dagster schedule or sensor context open (not used in ``with``).

    Such a context sets Dagster's current defs-state storage to an instance it opened; contexts sit in
    reference cycles, the garbage collector closes them in any order, and a non-LIFO close leaves the
    storage of a collected instance current: every later Definitions load then fails far from the cause
    (CI on 97eafab). Checked before any collection, so an open context is seen while it is still open.
    """
    from dagster._core.storage.defs_state.base import DefsStateStorage

    before = DefsStateStorage.get()
    yield
    assert DefsStateStorage.get() is before, "a Dagster schedule/sensor context was left open: use it in a `with` block"


def replay_tables(source: Any) -> Any:
    """The source's real dataset when present, else its seeded synthetic stand-in."""
    sample = source.sample_data
    return sample.load(DATA / sample.folder) if real(sample.folder) else sample.synthesize(SYNTHETIC_SEED)


@pytest.fixture(scope="session")
def credit_tables() -> Any:
    from domains.credit import APPLICATIONS

    return replay_tables(APPLICATIONS)


@pytest.fixture(scope="session")
def access_tables() -> Any:
    from domains.access_requests import ACCESS_REQUESTS

    return replay_tables(ACCESS_REQUESTS)


def free_port() -> int:
    """A loopback port nothing listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_signals() -> None:
    """``preexec_fn`` for a test's server process: SIGINT and SIGTERM at their defaults.

    An in-process Dagster run maps SIGTERM onto SIGINT's handler in the pytest process, and
    a pytest started in the background has SIGINT ignored; a child then inherits SIGTERM
    ignored, so a server never stops, or (uvicorn) stops but does not exit by the signal.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


TOKEN = "test-admin-token"
DAYS = 60


@dataclass
class Pipeline:
    """One real run of the whole graph on replayed days, shared by the Dagster and integration tiers."""

    profile: Any
    defs: Any
    instance: Any
    result: Any
    days: tuple[str, str]
    landed: dict[str, Any]

    def training_set(self, model: str) -> Any:
        """The training set this run built for ``model`` (stages hand over by run: mlops_assets.handover)."""
        import pandas as pd

        return pd.read_parquet(self.profile.lake_root / model / "runs" / self.result.run_id / "training_set.parquet")


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory, credit_tables: Any, access_tables: Any) -> Pipeline:
    """Both domains replayed into a temporary MLOPS_HOME up to the same day (at most 60 days each), and the
    `pipeline` job run once over them.

    Real components: a SQLite Dagster instance, an MLflow tracking store and registry, a Feast
    repo (duckdb offline, sqlite online), GE suites.
    """
    from domains.access_requests import ACCESS_REQUESTS
    from domains.credit import APPLICATIONS
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance
    from mlops_assets.profile import load_profile
    from mlops_assets.runs import run_job
    from mlops_assets.simulate import land_together

    home = tmp_path_factory.mktemp("mlops_home")
    profile = load_profile({"MLOPS_HOME": str(home), "MLOPS_ADMIN_TOKEN": TOKEN, "MLOPS_DATA": str(DATA)})
    landed = land_together([(APPLICATIONS, credit_tables), (ACCESS_REQUESTS, access_tables)], profile.landing_root, days=DAYS)
    days = (min(s.first_day for s in landed.values()).isoformat(), max(s.last_day for s in landed.values()).isoformat())
    defs = build_definitions(profile=profile)
    instance = ensure_instance(profile)
    result = run_job(defs, instance, "pipeline", days=days, trigger="test")
    return Pipeline(profile, defs, instance, result, days, landed)


@contextmanager
def serving(profile: Any, *specs: Any) -> Iterator[Any]:
    """The real app with the real scorers for ``specs``, on a free loopback port, findable as `mlops serve` is."""
    from mlops_assets.serving.app import create_app, model_prefix
    from mlops_assets.serving.scorer import model_endpoint
    from mlops_assets.serving.server import BackgroundServer
    from resources.serving import server_state_file

    app = create_app([model_endpoint(profile, spec) for spec in specs], admin_token=TOKEN)
    states = [server_state_file(profile.serving_root, spec.name) for spec in specs]
    with BackgroundServer(app) as running:
        for spec, state in zip(specs, states):  # what `mlops serve` writes, so the deployment assets find this server
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_text(json.dumps({"pid": os.getpid(), "url": running.url + model_prefix(spec.name)}))
        try:
            yield running
        finally:
            for state in states:
                state.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def server(pipeline: Pipeline):
    """Both champions served for the session, from one server."""
    from domains.access_requests import ACCESS_MODEL
    from domains.credit import CREDIT_MODEL

    with serving(pipeline.profile, CREDIT_MODEL, ACCESS_MODEL) as running:
        yield running
