"""The persistent Dagster instance of a profile (the one `dagster dev` and the CLI share)."""

from __future__ import annotations

import json

import dagster as dg

from mlops_assets.profile import Profile


def instance_config(profile: Profile) -> str:
    """dagster.yaml: telemetry and the first-visit modal off; Postgres storage in production."""
    lines = ["telemetry:", "  enabled: false", "nux:", "  enabled: false"]
    if profile.dagster_pg_url:
        lines += ["storage:", "  postgres:", f"    postgres_url: {json.dumps(profile.dagster_pg_url)}"]
    return "\n".join(lines) + "\n"


def ensure_instance(profile: Profile) -> dg.DagsterInstance:
    home = profile.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = instance_config(profile)
    if not config.exists() or config.read_text() != text:
        config.write_text(text)
    return dg.DagsterInstance.from_config(str(home))
