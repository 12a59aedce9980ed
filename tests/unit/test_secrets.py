"""Secrets reach the resources only through the environment: never the UI's repository snapshot, run config or dagster.yaml."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from mlops_assets.definitions import build_definitions
from mlops_assets.instance import instance_config
from mlops_assets.profile import load_profile, redacted


def test_the_admin_token_and_database_passwords_appear_nowhere_in_the_repository_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token, password = f"tok-{uuid.uuid4().hex}", f"pw-{uuid.uuid4().hex}"
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path))
    monkeypatch.setenv("MLOPS_PROFILE", "production")
    monkeypatch.setenv("MLOPS_ADMIN_TOKEN", token)
    monkeypatch.setenv("MLOPS_MLFLOW_DB_URL", f"postgresql://mlops:{password}@127.0.0.1:5432/mlops_mlflow")
    monkeypatch.setenv("MLOPS_DAGSTER_PG_URL", f"postgresql://mlops:{password}@127.0.0.1:5432/mlops_dagster")
    profile = load_profile()
    assert profile.admin_token == token  # the resources do get it: through the variable

    defs = build_definitions(profile=profile)
    snapshot = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert token not in snapshot and password not in snapshot
    assert "MLOPS_ADMIN_TOKEN" in snapshot and "MLOPS_MLFLOW_DB_URL" in snapshot  # the UI shows which variable holds each

    config = instance_config(profile)
    assert password not in config and "env: MLOPS_DAGSTER_STORAGE_URL" in config
    assert profile.environ()["MLOPS_DAGSTER_STORAGE_URL"].startswith("postgresql+psycopg2://mlops:")  # what every child process reads
    assert redacted(profile.mlflow_tracking_uri) == "postgresql://mlops:***@127.0.0.1:5432/mlops_mlflow"


def test_a_profile_built_from_a_mapping_keeps_plain_values(tmp_path: Path) -> None:
    """A test or a program that passes its own mapping has no variables to point at: values stay values."""
    profile = load_profile({"MLOPS_HOME": str(tmp_path), "MLOPS_ADMIN_TOKEN": "t"})
    assert profile.in_environment == frozenset() and profile.secret("MLOPS_ADMIN_TOKEN", "t") == "t"
