"""The Dagster UI in a real browser: `dagster dev` on a fresh MLOPS_HOME, a run launched over GraphQL,
then the global lineage page in headless Chromium showing both domains and every stage group.

The browser is Debian's `chromium` driven by Playwright (no browser download: `playwright
install` is never run). `make test` installs the package when it is missing and it can
(root with apt-get). Without a browser this test FAILS, naming what is missing and how to
install it: a skip would let a suite that never looked at the UI pass as if it had.

The screenshot is kept at test-artifacts/ui/lineage.png (git-ignored), its path printed.
The launched assets need no data (each model's prediction log and live performance, empty
on a fresh home), so nothing is landed and no sensor of the running daemon launches a run.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

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


@pytest.mark.integration
def test_lineage_shows_both_domains_after_a_run_launched_over_graphql(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from mlops_assets import keys
    from mlops_assets.instance import ensure_instance
    from mlops_assets.profile import load_profile

    browser_path = chromium()
    profile = load_profile({"MLOPS_HOME": str(tmp_path / "home"), "MLOPS_DATA": os.environ["MLOPS_DATA"]})
    ensure_instance(profile)  # dagster.yaml: telemetry off, and no first-visit modal over every page
    env = {**os.environ, **profile.environ(), "TMPDIR": str(tmp_path)}
    started = time.monotonic()
    with dagster_dev(env, tmp_path / "dagster_dev.log") as dev:
        ready = dev.wait_ready(READY_TIMEOUT_S)
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
                page.goto(lineage_url(dev))
                expect(page.get_by_text("training_set", exact=True)).to_have_count(len(MODELS))  # the graph is laid out
                labels = page.locator('[class*="minimalName"]').all_inner_texts()
                for group in GROUPS:  # the group boxes of the graph (the sidebar lists groups even when collapsed)
                    expect(page.locator("svg").get_by_text(group, exact=True)).to_be_visible()
                assert [name for name in SHOWN if labelled(name, labels) != 1] == [], labels
                per_model = {stage: labelled(stage, labels) for stage in keys.MODEL_STAGES}  # a node per model: both domains
                assert per_model == dict.fromkeys(keys.MODEL_STAGES, len(MODELS)), labels
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                try:  # the run's assets turn green once the UI has their materializations (health is computed per request)
                    green = page.locator('[style*="background-green"] [class*="minimalName"]')
                    expect(green).to_have_count(len(LAUNCHED), timeout=HEALTH_TIMEOUT_MS)
                finally:
                    page.screenshot(path=str(ARTIFACTS / "lineage.png"))
            finally:
                browser.close()
        looked = time.monotonic() - started
    print(f"\nUI: dagster dev ready {ready:.1f}s, run done {ran:.1f}s, pages checked {looked:.1f}s, "
          f"stopped {time.monotonic() - started:.1f}s; screenshot {ARTIFACTS / 'lineage.png'}")
