import inspect
from pathlib import Path

import pytest

import mlops_assets
from mlops_assets import ConfigurationError, keys, load_profile


def test_embedded_profile_lives_under_mlops_home(tmp_path):
    p = load_profile({"MLOPS_HOME": str(tmp_path)})
    assert p.name == "embedded"
    assert p.mlflow_tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert p.feast_online_store == {"type": "sqlite", "path": str(tmp_path / "feast" / "online_store.db")}
    assert p.dagster_home == tmp_path / "dagster"
    assert p.dagster_pg_url is None


def test_production_profile_points_at_postgres_and_redis(tmp_path):
    p = load_profile({"MLOPS_HOME": str(tmp_path), "MLOPS_PROFILE": "production", "MLOPS_REDIS_URL": "redis://127.0.0.1:6379/2"})
    assert p.dagster_pg_url == "postgresql://postgres@127.0.0.1:5432/mlops_dagster"
    assert p.mlflow_tracking_uri == "postgresql://postgres@127.0.0.1:5432/mlops_mlflow"
    assert p.feast_registry == "postgresql+psycopg://postgres@127.0.0.1:5432/mlops_feast"
    assert len(set(p.postgres_urls())) == 3  # Dagster and MLflow both own a `runs` table
    assert p.feast_registry_type == "sql"
    assert p.feast_online_store == {"type": "redis", "connection_string": "127.0.0.1:6379,db=2"}


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="MLOPS_PROFILE='staging'.*embedded, production"):
        load_profile({"MLOPS_PROFILE": "staging"})


def test_admin_token_from_file(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert load_profile({"MLOPS_HOME": str(tmp_path), "MLOPS_ADMIN_TOKEN_FILE": str(token)}).admin_token == "s3cret"


def test_keys_name_sources_flat_and_prefix_models():
    assert keys.model_key("churn", "candidate_model").path == ["churn", "candidate_model"]
    with pytest.raises(ValueError, match="unknown model stage"):
        keys.model_key("churn", "model")
    assert [keys.source_key("loans", s).to_user_string() for s in ("raw", "validated", "quarantined", "labels", "labelled")] == [
        "raw_loans", "validated_loans", "quarantined_loans", "loans_labels", "labelled_loans"]
    with pytest.raises(ValueError, match="unknown source stage"):
        keys.source_key("loans", "clean")


def test_public_api_is_listed_once_and_sorted():
    assert mlops_assets.__all__ == sorted(mlops_assets.__all__)
    assert len(set(mlops_assets.__all__)) == len(mlops_assets.__all__)
    for name in mlops_assets.__all__:
        assert hasattr(mlops_assets, name), name
    public = {name for name, value in vars(mlops_assets).items() if not name.startswith("_") and not inspect.ismodule(value)}
    assert public - {"annotations"} | {"keys"} == set(mlops_assets.__all__)  # nothing public that __all__ does not list
    assert {"SourceSpec", "ModelSpec", "build_definitions", "build_source_assets", "build_model_assets", "keys"} <= set(mlops_assets.__all__)


def test_importing_the_package_loads_no_heavy_library():
    import subprocess
    import sys

    code = "import sys, mlops_assets; print(sorted(m for m in ('feast','mlflow','great_expectations','lightgbm','sklearn','matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "[]"
