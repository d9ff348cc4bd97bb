"""Engines for the application database, tuned per dialect.

SQLite is written by several processes at once (the sensor in the code server, runs, the CLI),
so it runs in WAL mode with a busy timeout, and a write transaction (``engine.begin()``) takes the
write lock when it begins, instead of failing when its first read later tries to write. Reads go
through :func:`reading`, whose transactions begin deferred: in WAL mode they neither wait for a
writer nor block one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseConfigError(ValueError):
    """The database URL cannot be used."""


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with the URL in it; keep it out
        raise DatabaseConfigError("POLYMARKET_DATABASE_URL is not a valid SQLAlchemy URL") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise DatabaseConfigError(
        f"unsupported database backend {parsed.get_backend_name()!r}: use sqlite or postgresql"
    )


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" hook below emit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


_BEGIN_OPTION = "sqlite_begin"


def reading(engine: Engine) -> Connection:
    """A connection for reads only (``with reading(engine) as connection:``).

    On SQLite its transaction begins DEFERRED, so a poll reading its cursors never queues behind
    a sweep's writes; elsewhere it is a plain connection.
    """
    return engine.connect().execution_options(**{_BEGIN_OPTION: "DEFERRED"})
