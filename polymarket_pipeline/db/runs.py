"""``sync_runs``: one summary row per sweep, hot tick or integrations run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import SyncRun, new_id, table_of

_runs = table_of(SyncRun)


def start_run(connection: Connection, kind: str, started_at: datetime, dagster_run_id: str | None) -> str:
    run_id = new_id()
    connection.execute(
        insert(_runs).values(
            id=run_id, kind=kind, dagster_run_id=dagster_run_id, started_at=started_at, status="running"
        )
    )
    return run_id


def finish_run(
    connection: Connection, run_id: str, finished_at: datetime, status: str, stats: dict[str, Any]
) -> None:
    connection.execute(
        update(_runs).where(_runs.c.id == run_id).values(finished_at=finished_at, status=status, stats=stats)
    )


def last_finished(connection: Connection, kind: str, status: str = "succeeded") -> datetime | None:
    """When the last run of ``kind`` with ``status`` finished."""
    return connection.scalar(
        select(func.max(_runs.c.finished_at)).where(_runs.c.kind == kind, _runs.c.status == status)
    )
