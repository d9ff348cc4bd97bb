"""Bulk ``INSERT … ON CONFLICT … DO UPDATE`` on SQLite and PostgreSQL.

Rows go out as multi-row VALUES statements (one round trip per chunk), never one statement per
row: that is what makes a 100,000-fill backfill take seconds rather than minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

# Bound parameters per statement: SQLite allows 32,766, PostgreSQL 65,535.
_MAX_PARAMS = {"sqlite": 32_000, "postgresql": 60_000}


def _insert_for(connection: Connection, table: Table) -> Any:
    dialect = connection.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"bulk upsert is not implemented for {dialect!r}")


def bulk_upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows``; on a ``key`` conflict overwrite the ``update`` columns (latest wins).

    ``update=None`` updates every non-key column present in the rows; ``update=()`` keeps the
    stored row (``DO NOTHING``). Returns the ``returning`` columns of the affected rows.
    """
    if not rows:
        return []
    columns = list(rows[0].keys())
    update_columns = [c for c in columns if c not in key] if update is None else list(update)
    chunk = max(1, _MAX_PARAMS[connection.dialect.name] // max(1, len(columns)))
    result: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), chunk):
        stmt = _insert_for(connection, table).values(list(rows[start : start + chunk]))
        if update_columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(key),
                set_={column: stmt.excluded[column] for column in update_columns},
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        if returning:
            stmt = stmt.returning(*(table.c[name] for name in returning))
            result.extend(tuple(row) for row in connection.execute(stmt))
        else:
            connection.execute(stmt)
    return result


def bulk_insert(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Plain multi-row INSERT for append-only tables (events, closes)."""
    if not rows:
        return
    chunk = max(1, _MAX_PARAMS[connection.dialect.name] // max(1, len(rows[0])))
    for start in range(0, len(rows), chunk):
        connection.execute(table.insert().values(list(rows[start : start + chunk])))
