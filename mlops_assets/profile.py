"""Deployment profiles: where every external system lives.

This is the only module that reads environment variables. Everything else receives a
`Profile` (or resources built from it by `resources_for`), so a test or a second
deployment changes one object, not a dozen scattered `os.environ` look-ups.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_assets.errors import ConfigurationError

EMBEDDED = "embedded"
PRODUCTION = "production"
PROFILES = (EMBEDDED, PRODUCTION)

DEFAULT_PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Dagster and MLflow both create a table named `runs`: each system gets its own database.
PG_DATABASES = {"dagster": "mlops_dagster", "mlflow": "mlops_mlflow", "feast": "mlops_feast"}
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
CHECKOUT = Path(__file__).resolve().parents[1]
# The Feast repo of a source checkout; an installed wheel points MLOPS_FEATURE_REPO at its own.
CHECKOUT_FEATURE_REPO = CHECKOUT / "feature_repo"
# Real datasets live beside the checkout (never inside it); MLOPS_DATA points elsewhere.
CHECKOUT_DATA = CHECKOUT.parent / "shared" / "datasets"
DEFAULT_MODELS = "domains:MODELS"
ADMIN_TOKEN_VAR = "MLOPS_ADMIN_TOKEN"
MLFLOW_DB_VAR = "MLOPS_MLFLOW_DB_URL"
DAGSTER_STORAGE_VAR = "MLOPS_DAGSTER_STORAGE_URL"  # the Dagster database URL as dagster.yaml reads it (`{env: ...}`), driver named
DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class Profile:
    """Every location the pipeline reads or writes, resolved to absolute values."""

    name: str
    home: Path
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    feast_registry: str
    feast_registry_type: str
    feast_online_store: Mapping[str, str]
    dagster_pg_url: str | None
    admin_token: str | None
    data_root: Path
    feature_repo: Path
    models: str = DEFAULT_MODELS
    mlflow_ui_url: str = DEFAULT_MLFLOW_UI
    in_environment: frozenset[str] = frozenset()  # secret-bearing variables this process has: resources read them there

    def secret(self, var: str, value: str | None) -> Any:
        """``dg.EnvVar(var)`` when this process has the variable, so the value never reaches the UI or run config; else the value."""
        if var not in self.in_environment:
            return value
        import dagster as dg

        return dg.EnvVar(var)

    @property
    def dagster_home(self) -> Path:
        """The Dagster instance: `DAGSTER_HOME` of every process this profile starts."""
        return self.home / "dagster"

    @property
    def landing_root(self) -> Path:
        """Where files arrive: the replay writes here, the raw assets and arrival sensors read here."""
        return self.home / "landing"

    @property
    def lake_root(self) -> Path:
        """The parquet tables the assets write; Feast's file sources are anchored here."""
        return self.home / "lake"

    @property
    def feast_root(self) -> Path:
        """The rendered feature_store.yaml (and, embedded, the registry and SQLite online store)."""
        return self.home / "feast"

    @property
    def serving_root(self) -> Path:
        """Each model's server state file and prediction log, under `<model>/`."""
        return self.home / "serving"

    def postgres_urls(self) -> list[str]:
        """The PostgreSQL databases this profile stores into (none when embedded)."""
        urls = [self.dagster_pg_url, self.mlflow_tracking_uri, self.feast_registry.replace("+psycopg", "", 1)]
        return [u for u in urls if u and u.startswith("postgresql")]

    def environ(self) -> dict[str, str]:
        """Variables a child process (dagster dev, the server) needs to see this profile."""
        env = {
            "MLOPS_HOME": str(self.home),
            "MLOPS_PROFILE": self.name,
            "DAGSTER_HOME": str(self.dagster_home),
            "MLOPS_MODELS": self.models,
            "MLOPS_DATA": str(self.data_root),
            "MLOPS_FEATURE_REPO": str(self.feature_repo),
            "MLOPS_MLFLOW_UI": self.mlflow_ui_url,
        }
        if self.admin_token:
            env[ADMIN_TOKEN_VAR] = self.admin_token
        if self.name == PRODUCTION:
            env[MLFLOW_DB_VAR] = self.mlflow_tracking_uri
        if self.dagster_pg_url:
            env[DAGSTER_STORAGE_VAR] = self.dagster_storage_url
        return env

    @property
    def dagster_storage_url(self) -> str | None:
        """The Dagster database with the psycopg2 driver named.

        SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3, whose server-side binding breaks
        dagster-postgres's `NOTIFY run_events, %(id)s` (measured).
        """
        return self.dagster_pg_url.replace("postgresql://", "postgresql+psycopg2://", 1) if self.dagster_pg_url else None


def load_profile(env: Mapping[str, str] | None = None) -> Profile:
    """Build the profile named by `MLOPS_PROFILE` (default embedded) under `MLOPS_HOME`.

    Read from this process's environment (``env`` None), it notes which secret-bearing
    variables are set here, so resources take them as ``dg.EnvVar`` (``Profile.secret``).
    """
    own = env is None
    env = os.environ if env is None else env
    name = env.get("MLOPS_PROFILE", EMBEDDED)
    if name not in PROFILES:
        raise ConfigurationError(f"MLOPS_PROFILE={name!r} is not a profile; use one of {', '.join(PROFILES)}")
    home = Path(env.get("MLOPS_HOME", "./.mlops")).expanduser().resolve()
    common = {
        "home": home,
        "admin_token": _admin_token(env),
        "data_root": Path(env.get("MLOPS_DATA", CHECKOUT_DATA)).expanduser().resolve(),
        "feature_repo": Path(env.get("MLOPS_FEATURE_REPO", CHECKOUT_FEATURE_REPO)).expanduser().resolve(),
        "models": env.get("MLOPS_MODELS", DEFAULT_MODELS),
        "mlflow_ui_url": env.get("MLOPS_MLFLOW_UI", DEFAULT_MLFLOW_UI).rstrip("/"),
        "in_environment": frozenset(v for v in (ADMIN_TOKEN_VAR, MLFLOW_DB_VAR) if own and env.get(v)),
    }
    if name == EMBEDDED:
        return Profile(
            name=name,
            mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
            mlflow_artifact_root=(home / "mlartifacts").as_uri(),
            feast_registry=str(home / "feast" / "registry.db"),
            feast_registry_type="file",
            feast_online_store={"type": "sqlite", "path": str(home / "feast" / "online_store.db")},
            dagster_pg_url=None,
            **common,
        )
    server = env.get("MLOPS_PG_SERVER", DEFAULT_PG_SERVER).rstrip("/")
    feast_db = env.get("MLOPS_FEAST_REGISTRY_URL", f"{server}/{PG_DATABASES['feast']}")
    return Profile(
        name=name,
        mlflow_tracking_uri=env.get(MLFLOW_DB_VAR, f"{server}/{PG_DATABASES['mlflow']}"),
        mlflow_artifact_root=env.get("MLOPS_ARTIFACT_ROOT", (home / "mlartifacts").as_uri()),
        feast_registry=feast_db.replace("postgresql://", "postgresql+psycopg://", 1),
        feast_registry_type="sql",
        feast_online_store={"type": "redis", "connection_string": _redis_connection(env.get("MLOPS_REDIS_URL", DEFAULT_REDIS_URL))},
        dagster_pg_url=env.get("MLOPS_DAGSTER_PG_URL", f"{server}/{PG_DATABASES['dagster']}"),
        **common,
    )


def redacted(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``: for what people read (console, logs)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def _admin_token(env: Mapping[str, str]) -> str | None:
    """The admin bearer token, from the variable or from a file (for secrets mounted as files)."""
    if token := env.get(ADMIN_TOKEN_VAR):
        return token
    if path := env.get("MLOPS_ADMIN_TOKEN_FILE"):
        return Path(path).read_text().strip() or None
    return None


def _redis_connection(url: str) -> str:
    """Feast's redis store wants `host:port[,db=N]`, not a URL."""
    rest = url.split("://", 1)[-1].rstrip("/")
    host, _, db = rest.partition("/")
    return f"{host},db={db}" if db else host
