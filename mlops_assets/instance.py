"""The persistent Dagster instance of a profile (the one `dagster dev` and the CLI share)."""

from __future__ import annotations

import os

import dagster as dg

from mlops_assets.profile import DAGSTER_STORAGE_VAR, Profile

# Retrain runs carry it with the model's name (model_factory); the run queue starts one per value at a time.
RETRAIN_QUEUE_TAG = "mlops/retrain"
RUN_QUEUE = [
    "concurrency:",  # Dagster 1.13's place for run-queue limits (`run_queue:` is the older spelling of the same)
    "  runs:",
    "    tag_concurrency_limits:",
    f'      - key: "{RETRAIN_QUEUE_TAG}"',
    "        value:",
    "          applyLimitPerUniqueValue: true",
    "        limit: 1",
]


def instance_config(profile: Profile) -> str:
    """dagster.yaml: telemetry and the first-visit modal off; one retrain per model at a time
    (runs the daemon, a schedule or the UI submit wait in the queue); Postgres storage in production."""
    lines = ["telemetry:", "  enabled: false", "nux:", "  enabled: false", *RUN_QUEUE]
    if profile.dagster_pg_url:  # the URL may hold a password: the file names the variable, every process has it (Profile.environ)
        lines += ["storage:", "  postgres:", "    postgres_url:", f"      env: {DAGSTER_STORAGE_VAR}"]
    return "\n".join(lines) + "\n"


def ensure_instance(profile: Profile) -> dg.DagsterInstance:
    """The profile's instance; in production its PostgreSQL databases are created first if missing."""
    if profile.postgres_urls():
        from resources.postgres import ensure_database

        for url in profile.postgres_urls():
            ensure_database(url)
    if profile.dagster_storage_url:
        os.environ[DAGSTER_STORAGE_VAR] = profile.dagster_storage_url  # what dagster.yaml reads, in this process too
    home = profile.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = instance_config(profile)
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    return dg.DagsterInstance.from_config(str(home))
