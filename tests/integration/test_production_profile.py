"""The production profile for real: Dagster and MLflow on PostgreSQL, Feast SQL registry + Redis online store."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pytest

from tests.integration.online_parity import ACCESS_FIELDS, assert_reader_matches_feast, request_rows

SERVER = "postgresql://postgres@127.0.0.1:5432"
REDIS_DBS = range(8, 16)  # each run claims one: its teardown flushes it, so two suites on one Redis must not share a database
CLAIM = "mlops_test_claim"


def drop_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    connection = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
    connection.close()


def count_rows(url: str, table: str) -> int:
    import psycopg2

    connection = psycopg2.connect(url)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        (count,) = cursor.fetchone()
    connection.close()
    return count


@pytest.fixture
def redis_db():
    """A Redis database this run alone uses (claimed with SET NX; the claim expires after an hour if a run dies)."""
    import redis

    token = uuid.uuid4().hex
    for db in REDIS_DBS:
        client = redis.Redis(host="127.0.0.1", port=6379, db=db)
        if client.set(CLAIM, token, nx=True, ex=3600):
            for key in client.scan_iter():  # what a run that died left behind
                if key != CLAIM.encode():
                    client.delete(key)
            yield db
            client.flushdb()
            return
    pytest.fail(f"every Redis database {REDIS_DBS.start}-{REDIS_DBS.stop - 1} is claimed by another test run ({CLAIM}); "
                "wait for those runs, or delete their claims if they died")  # fmt: skip


@pytest.fixture
def production(tmp_path, redis_db):
    from mlops_assets.profile import load_profile

    suffix = uuid.uuid4().hex[:8]
    urls = {name: f"{SERVER}/mlops_test_{name}_{suffix}" for name in ("dagster", "mlflow", "feast")}
    env = {
        "MLOPS_PROFILE": "production",
        "MLOPS_HOME": str(tmp_path / "home"),
        "MLOPS_DAGSTER_PG_URL": urls["dagster"],
        "MLOPS_MLFLOW_DB_URL": urls["mlflow"],
        "MLOPS_FEAST_REGISTRY_URL": urls["feast"],
        "MLOPS_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
    }
    profile = load_profile(env)
    yield profile
    import mlflow

    mlflow.set_tracking_uri(None)  # release the engine before its database goes
    for url in urls.values():
        drop_database(url)


@pytest.mark.integration
def test_both_domains_run_on_postgres_and_redis(production, redis_db, credit_tables, access_tables):
    import redis

    from domains.access_requests import ACCESS_MODEL, ACCESS_REQUESTS
    from domains.credit import APPLICATIONS, CREDIT_MODEL
    from mlops_assets.definitions import build_definitions
    from mlops_assets.instance import ensure_instance
    from mlops_assets.runs import run_job
    from mlops_assets.serving.scorer import scorer_loader
    from mlops_assets.simulate import land_together
    from resources import resources_for

    landed = land_together([(APPLICATIONS, credit_tables), (ACCESS_REQUESTS, access_tables)], production.landing_root, days=30)
    instance = ensure_instance(production)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    days = (min(s.first_day for s in landed.values()).isoformat(), max(s.last_day for s in landed.values()).isoformat())
    result = run_job(build_definitions(profile=production), instance, "pipeline", days=days, trigger="test-production")
    assert result.success
    assert instance.get_run_records(), "the run is stored in PostgreSQL"

    registry = resources_for(production)["registry"]
    for model in ("credit", "access"):
        champion = registry.champion(model)
        assert champion is not None and champion.tags["dagster_run_id"] == result.run_id
    assert count_rows(production.mlflow_tracking_uri, "model_versions") >= 2, "the registry lives in PostgreSQL"
    champion = registry.champion("credit")

    keys = redis.Redis(host="127.0.0.1", port=6379, db=redis_db).dbsize()
    assert keys > 1000, f"online features in Redis: {keys} keys"

    scorer = scorer_loader(production, CREDIT_MODEL)(None)
    events = pd.read_parquet(production.lake_root / "labelled_applications" / "part.parquet")
    row = events[(events.person_age <= 100) & (events.person_emp_length <= 60)].iloc[0]
    request = {f.name: row[f.name].item() if hasattr(row[f.name], "item") else row[f.name] for f in scorer.fields}
    [score] = scorer.score([request])
    assert 0.0 < score < 1.0 and scorer.version == str(champion.version)

    # the server's direct read of Redis equals Feast's get_online_features
    store = resources_for(production)["feast"].store()
    assert_reader_matches_feast(store, CREDIT_MODEL.feature_service, request_rows(events.head(500)), witness="credit_card_due")
    requests = pd.read_parquet(production.lake_root / "labelled_access_requests" / "part.parquet")
    assert assert_reader_matches_feast(store, ACCESS_MODEL.feature_service, request_rows(requests.tail(500), ACCESS_FIELDS),
                                       witness="resource_count") > 0  # fmt: skip
    access = scorer_loader(production, ACCESS_MODEL)(None)
    assert access.inline is False  # Redis is a network read: scored off the event loop
    assert 0.0 < access.score(request_rows(requests.tail(3), ACCESS_FIELDS))[0] < 1.0
