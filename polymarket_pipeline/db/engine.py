"""Engines for the application database, tuned per dialect.

SQLite is written by several processes at once (the sensor in the code server, runs, the CLI),
so it runs in WAL mode with a busy timeout, and a write transaction (``engine.begin()``) takes the
write lock when it begins, instead of failing when its first read later tries to write. Reads go
through :func:`reading`, whose transactions begin deferred: in WAL mode they neither wait for a
writer nor block one.

Every wait is bounded. On PostgreSQL each connection starts with ``statement_timeout`` and
``lock_timeout`` (settings ``POLYMARKET_DATABASE_STATEMENT_TIMEOUT_MS``, default 60 s, and
``POLYMARKET_DATABASE_LOCK_TIMEOUT_MS``, default 10 s), so a runaway query or a transaction
queued behind a stuck lock fails with an error instead of holding a run forever. SQLite has no
statement timeout and only one lock, the database's write lock: the busy timeout (30 s) bounds
every wait for it, after which the statement fails with ``database is locked``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from polymarket_pipeline.settings import DatabaseUrlError, load_settings, parse_database_url

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseConfigError(ValueError):
    """The database URL cannot be used (malformed or an unsupported driver); bad input, not an outage."""


def create_db_engine(
    url: str,
    *,
    statement_timeout_ms: int | None = None,
    lock_timeout_ms: int | None = None,
    **kwargs: Any,
) -> Engine:
    """Create an engine for ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

    The PostgreSQL timeouts default to the settings; 0 disables one.
    """
    try:
        parsed = parse_database_url(url)
    except DatabaseUrlError as exc:
        raise DatabaseConfigError(f"the database URL {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    if statement_timeout_ms is None or lock_timeout_ms is None:
        settings = load_settings()
        if statement_timeout_ms is None:
            statement_timeout_ms = settings.database_statement_timeout_ms
        if lock_timeout_ms is None:
            lock_timeout_ms = settings.database_lock_timeout_ms
    connect_args = dict(kwargs.pop("connect_args", {}))
    options = f"-c statement_timeout={int(statement_timeout_ms)} -c lock_timeout={int(lock_timeout_ms)}"
    given = connect_args.get("options") or parsed.query.get("options")
    connect_args["options"] = f"{given} {options}" if isinstance(given, str) and given else options
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)


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


def connection_dropped(exc: BaseException) -> bool:
    """The connection broke under the statement (worth one retry on a fresh connection)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def database_unreachable(exc: BaseException) -> bool:
    """The database, not this wallet's rows, is the problem: stop instead of failing every wallet."""
    return connection_dropped(exc) or isinstance(exc, OperationalError)
