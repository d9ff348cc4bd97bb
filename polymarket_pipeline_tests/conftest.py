"""Shared fixtures: throwaway databases on SQLite and on the local PostgreSQL server.

PostgreSQL tests skip when no server answers, except under ``CI=true`` where they must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster._core.storage.defs_state.base import _current_storage as current_defs_state_storage
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade

# The settings never read a developer's .env (scripts/dev.sh writes one into the project root,
# where the suite runs); tests that exercise .env point POLYMARKET_ENV_FILE elsewhere themselves.
os.environ["POLYMARKET_ENV_FILE"] = ""

PG_ADMIN_URL = os.environ.get(
    "POLYMARKET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _no_defs_state_storage_leaks_between_tests() -> Iterator[None]:
    """Each test starts with the Dagster defs-state storage the previous one started with.

    Entering a ``DagsterInstance`` sets a context variable to its defs-state storage, and
    leaving it resets the variable. Now and then (seen after the Terminate test, whose run
    executes in another thread) the variable is still set when a test ends. The instance behind
    it is gone by then, so every later ``Definitions`` load in this process failed with
    "Attempted to resolve undefined DagsterInstance weakref". Putting the value back after each
    test keeps one test's leftovers out of the others.
    """
    before = current_defs_state_storage.get()
    yield
    current_defs_state_storage.set(before)


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of the local PostgreSQL server; fails loudly under CI=true if it is missing."""
    problem = _pg_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    return PG_ADMIN_URL


def create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"pmtest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return name, sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, name: str) -> None:
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name, url = create_pg_database(pg_server)
    try:
        yield url
    finally:
        drop_pg_database(pg_server, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty application database on each dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.sqlite'}"
        return
    pg_admin = request.getfixturevalue("pg_server")
    name, url = create_pg_database(pg_admin)
    try:
        yield url
    finally:
        drop_pg_database(pg_admin, name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated application database on each dialect."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
