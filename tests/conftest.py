"""Shared fixtures: a real throwaway PostgreSQL server, per-test targets, Prefect harness."""

from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from pathlib import Path

import pytest

# Before anything imports dbt or Prefect.
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="ctseds-prefect-home-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
for _var in ("CTSEDS_RAW_SCHEMA", "CTSEDS_SCHEMA"):
    os.environ.pop(_var, None)

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_server import PgServer  # noqa: E402

from ctseds.targets import Target  # noqa: E402

_PG_VARS = (
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGHOSTADDR",
    "PGSERVICE",
    "PGOPTIONS",
    "PGSSLMODE",
)


@pytest.fixture(scope="session")
def pg_env():
    """Start a throwaway PostgreSQL server; PG* variables point at it for the session."""
    server = PgServer()
    atexit.register(server.stop)  # also stops it if the session dies before teardown
    try:
        env = server.start()
    except Exception as exc:
        server.stop()
        where = "in CI" if os.environ.get("CI") else "locally"
        pytest.fail(
            f"Could not start the test PostgreSQL server ({where}; PostgreSQL tests are never "
            f"skipped): {exc}",
            pytrace=False,
        )
    saved = {k: os.environ.get(k) for k in _PG_VARS}
    for k in _PG_VARS:
        os.environ.pop(k, None)
    os.environ.update(env)
    try:
        yield dict(env)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def _pg_exec(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _duckdb_target(tmp_path: Path) -> Target:
    return Target(
        kind="duckdb",
        warehouse=tmp_path / "warehouse" / "ctseds.duckdb",
        raw_schema="powerschool",
        schema="ctseds",
    )


def _make_pg_target(tmp_path: Path):
    suffix = uuid.uuid4().hex[:12]
    target = Target(
        kind="postgres",
        warehouse=tmp_path / "warehouse" / "ctseds.duckdb",
        raw_schema=f"raw_t{suffix}",
        schema=f"m_t{suffix}",
    )
    _pg_exec(
        f"drop schema if exists {target.raw_schema} cascade; "
        f"drop schema if exists {target.schema} cascade; "
        f"create schema {target.raw_schema}; create schema {target.schema};"
    )
    return target


def _drop_pg_target(target: Target) -> None:
    _pg_exec(
        f"drop schema if exists {target.raw_schema} cascade; "
        f"drop schema if exists {target.schema} cascade;"
    )


@pytest.fixture
def duckdb_target(tmp_path: Path) -> Target:
    return _duckdb_target(tmp_path)


@pytest.fixture
def pg_target(pg_env, tmp_path: Path):
    target = _make_pg_target(tmp_path)
    try:
        yield target
    finally:
        _drop_pg_target(target)


@pytest.fixture(params=["duckdb", "postgres"], ids=["duckdb", "postgres"])
def target(request, tmp_path: Path):
    """A fresh Target per test, once per engine."""
    if request.param == "duckdb":
        yield _duckdb_target(tmp_path)
        return
    request.getfixturevalue("pg_env")
    t = _make_pg_target(tmp_path)
    try:
        yield t
    finally:
        _drop_pg_target(t)


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API (own database) for flow tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def prefect_api(prefect_harness):
    """The harness's Prefect server, shared with every `ctseds` process a test starts.

    Without PREFECT_API_URL each `ctseds run` process would start its own temporary server
    (10-15 s each); with it they all report to this one real server, whose database the
    privacy tests scan. Yields {"url": ..., "database": Path of its SQLite file}.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_API_URL.value()
    database = Path(PREFECT_SERVER_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    saved = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        yield {"url": url, "database": database}
    finally:
        if saved is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = saved
