"""`dagster dev` on the session pipeline's home, as people run it: the UI in a real browser, and the daemon closing the loop.

One `dagster dev` serves both tests (starting it takes most of a minute). First a run launched
over GraphQL, then the global lineage page in headless Chromium showing both domains and every
stage group; then files land and the daemon's sensors ingest them and retrain, on their own.

The browser is Debian's `chromium` driven by Playwright (no browser download: `playwright
install` is never run). `make test` installs the package when it is missing and it can
(root with apt-get). Without a browser this test FAILS, naming what is missing and how to
install it: a skip would let a suite that never looked at the UI pass as if it had.

The screenshot is kept at test-artifacts/ui/lineage.png (git-ignored), its path printed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import dagster as dg
import pandas as pd
import pytest

from tests.conftest import TOKEN, Pipeline
from tests.dagster_dev import ROOT, DagsterDev, dagster_dev

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run", "--hide-scrollbars"]  # fmt: skip
GROUPS = ("raw", "validated", "features", "training", "evaluation", "deployment", "monitoring", "rollout")
MODELS = ("credit", "access")
LAUNCHED = [[model, stage] for model in MODELS for stage in ("prediction_log", "live_performance")]
SHOWN = ["raw_applications", "validated_applications", "labelled_applications", "raw_access_requests", "validated_access_requests",
         "labelled_access_requests", "resource_history", "feature_views", "online_features"]  # fmt: skip
ARTIFACTS = ROOT / "test-artifacts" / "ui"
READY_TIMEOUT_S = 240  # 37-51 s measured here while other suites shared the 2 cores
RUN_TIMEOUT_S = 180
DEADLINE_S = 480  # for the daemon: land, ingest (30 s sensor interval), retrain (60 s sensor interval)
PAGE_TIMEOUT_MS = 60_000
HEALTH_TIMEOUT_MS = 120_000  # the whole browser part took 8-9 s; once two of four nodes were still grey after 60 s

LOCATIONS = "{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }"  # fmt: skip


def chromium() -> str:
    """The system Chromium, or a failure that says what to install."""
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    pytest.fail(
        f"no Chromium for the UI test: none of {', '.join(BROWSERS)} is on PATH. Install Debian's package as root "
        "(`apt-get update && apt-get install -y chromium`; `make test` does it when it can), or put a Chromium on PATH. "
        "Playwright drives that browser; it downloads none.",
        pytrace=False,
    )


def graphql(dev: DagsterDev, query: str) -> dict:
    request = urllib.request.Request(f"{dev.url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.load(reply)["data"]


def run_to_the_end(dev: DagsterDev) -> str:
    """Launch LAUNCHED through the implicit asset job (the Definitions' executor is in-process) and wait for its end."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=dev.port)
    run_id = client.submit_job_execution("__ASSET_JOB", repository_location_name="mlops_assets", asset_selection=LAUNCHED, run_config={})
    started = time.monotonic()
    while (status := client.get_run_status(run_id).value) not in ("SUCCESS", "FAILURE", "CANCELED"):
        assert time.monotonic() - started < RUN_TIMEOUT_S, f"run {run_id} still {status} after {RUN_TIMEOUT_S}s"
        time.sleep(0.5)
    return status


def labelled(name: str, labels: list[str]) -> int:
    """How many node labels show ``name``: zoomed out, the graph cuts names over 18 characters in the middle (`raw_acce…_requests`)."""
    def shows(label: str) -> bool:
        head, cut, tail = label.partition("…")
        return label == name or bool(cut) and name.startswith(head) and name.endswith(tail) and len(name) > len(label)

    return sum(shows(label) for label in labels)


def lineage_url(dev: DagsterDev) -> str:
    """Global lineage with every stage group expanded (collapsed groups put no asset name in the page)."""
    expanded = ",".join(f"global@global:{group}" for group in GROUPS)
    return f"{dev.url}/asset-groups?expanded={urllib.parse.quote(expanded, safe='')}"


def land_next_days_with_outcomes(pipeline: Pipeline, tables) -> str:
    """New days of applications with their outcomes, as the replay would write them: enough that a challenger
    learns a whole day beyond the refit champion (its holdout is the last ``holdout_days`` days), and with
    incomes doubled and amounts up by half, so the drift sensor has a reason to retrain in both data modes
    (15 days of labels are far from doubling the training set, the new-labels sensor's default)."""
    from domains.credit import APPLICATIONS, CREDIT_MODEL
    from mlops_assets.simulate import ReplayTables, write_landing

    last = pipeline.landed["applications"].last_day
    shift = CREDIT_MODEL.holdout_days + 1
    # the data ends on the last landed day; shift the days before it forward to make new ones
    days = tables.events[(tables.events.event_timestamp.dt.date > last - pd.Timedelta(days=shift))].copy()
    days["event_timestamp"] += pd.Timedelta(days=shift)
    days["created_timestamp"] += pd.Timedelta(days=shift)
    days["loan_id"] += 5_000_000
    days["person_income"] = (days["person_income"] * 2).clip(upper=10_000_000).astype("int64")
    days["loan_amnt"] = (days["loan_amnt"] * 1.5).clip(upper=100_000).astype("int64")
    shifted = ReplayTables(events=pd.concat([tables.events, days], ignore_index=True), reference=tables.reference)
    write_landing(APPLICATIONS, shifted, pipeline.profile.landing_root, start=last, days=shift + 1)
    return (last + pd.Timedelta(days=shift)).isoformat()


@pytest.fixture(scope="module")
def dev(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterDev]:
    """`dagster dev -w workspace.yaml` on the pipeline's home, its daemon running every sensor; stopped whole after the module."""
    folder = tmp_path_factory.mktemp("dagster_dev")
    env = {**os.environ, **pipeline.profile.environ(), "MLOPS_ADMIN_TOKEN": TOKEN, "TMPDIR": str(folder)}
    with dagster_dev(env, folder / "dagster_dev.log") as running:
        running.wait_ready(READY_TIMEOUT_S)
        yield running


@pytest.mark.integration
def test_lineage_shows_both_domains_after_a_run_launched_over_graphql(dev: DagsterDev) -> None:
    from playwright.sync_api import expect, sync_playwright

    from mlops_assets import keys

    browser_path = chromium()
    started = time.monotonic()
    [location] = graphql(dev, LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert (location["name"], location["loadStatus"]) == ("mlops_assets", "LOADED"), location
    assert location["locationOrLoadError"]["__typename"] == "RepositoryLocation", location["locationOrLoadError"]
    assert run_to_the_end(dev) == "SUCCESS", dev.tail()
    ran = time.monotonic() - started
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 2000, "height": 2000})  # the whole graph, fitted, fits
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            expect.set_options(timeout=PAGE_TIMEOUT_MS)  # expect has its own default, 5 s: the graph took longer on a loaded machine
            page.goto(lineage_url(dev))
            expect(page.get_by_text("training_set", exact=True)).to_have_count(len(MODELS))  # the graph is laid out
            labels = page.locator('[class*="minimalName"]').all_inner_texts()
            for group in GROUPS:  # the group boxes of the graph (the sidebar lists groups even when collapsed)
                expect(page.locator("svg").get_by_text(group, exact=True)).to_be_visible()
            assert [name for name in SHOWN if labelled(name, labels) != 1] == [], labels
            per_model = {stage: labelled(stage, labels) for stage in keys.MODEL_STAGES}  # a node per model: both domains
            assert per_model == dict.fromkeys(keys.MODEL_STAGES, len(MODELS)), labels
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            try:  # the run's assets are green once the UI has their materializations (health is computed per request)
                green = page.locator('[style*="background-green"] [class*="minimalName"]')
                for stage in {stage for _, stage in LAUNCHED}:
                    expect(green.filter(has_text=stage)).to_have_count(len(MODELS), timeout=HEALTH_TIMEOUT_MS)
            finally:
                page.screenshot(path=str(ARTIFACTS / "lineage.png"))
        finally:
            browser.close()
    print(f"\nUI: run done {ran:.1f}s, pages checked {time.monotonic() - started:.1f}s; screenshot {ARTIFACTS / 'lineage.png'}")


@pytest.mark.integration
def test_the_daemons_sensors_ingest_new_files_and_retrain(dev: DagsterDev, pipeline: Pipeline, credit_tables) -> None:
    from mlflow import MlflowClient

    uri = pipeline.profile.mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)  # the registry URI is process-global otherwise
    before = {str(v.version) for v in client.search_model_versions("name='credit'")}
    new_day = land_next_days_with_outcomes(pipeline, credit_tables)
    started = time.monotonic()
    new_versions: set[str] = set()
    ingested = False
    while time.monotonic() - started < DEADLINE_S and not new_versions:
        assert dev.process.poll() is None, dev.tail()
        time.sleep(5)
        ingested = ingested or (pipeline.profile.lake_root / "validated_applications" / f"date={new_day}" / "part.parquet").exists()
        # a version counts once its training step has tagged it (registration comes first)
        new_versions = {str(v.version) for v in client.search_model_versions("name='credit'") if "trigger" in v.tags} - before
    elapsed = time.monotonic() - started
    assert ingested, f"applications_arrival_sensor did not ingest {new_day} within {elapsed:.0f}s"
    assert new_versions, f"no retrain registered a version within {elapsed:.0f}s"
    version = client.get_model_version("credit", max(new_versions, key=int))
    assert version.tags["trigger"].startswith(("credit_new_labels_sensor", "credit_drift_sensor", "credit_performance_sensor"))
    print(f"\ndaemon: ingest + sensor-triggered retrain registered v{version.version} in {elapsed:.0f}s ({version.tags['trigger']})")
    runs = pipeline.instance.get_run_records(filters=dg.RunsFilter(tags={"mlops/automatic": "true"}))
    assert any(r.dagster_run.job_name == "applications_ingest" for r in runs)
