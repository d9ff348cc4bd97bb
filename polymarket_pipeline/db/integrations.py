"""Writing a user's sync: the raw payloads and the normalized ``external_markets`` rows together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import ExternalMarket, ExternalPositionsRaw, new_id, table_of
from polymarket_pipeline.db.upsert import bulk_upsert
from polymarket_pipeline.domain.portfolio import UserMarket

_raw = table_of(ExternalPositionsRaw)
_markets = table_of(ExternalMarket)


def synced_users(connection: Connection, source: str, sync_date: date) -> set[str]:
    """Users who already have a raw snapshot for ``sync_date``."""
    rows = connection.execute(
        select(_raw.c.user_id).where(_raw.c.source == source, _raw.c.sync_date == sync_date).distinct()
    )
    return {user_id for (user_id,) in rows}


def write_user_sync(
    connection: Connection,
    *,
    user_id: str,
    source: str,
    sync_date: date,
    fetched_at: datetime,
    payload: dict[str, Any],
    markets: Sequence[UserMarket],
    run_id: str | None,
) -> None:
    """Store the raw payload and replace the user's normalized positions (caller's transaction)."""
    revision = connection.scalar(
        select(func.coalesce(func.max(_raw.c.revision) + 1, 0)).where(
            _raw.c.user_id == user_id, _raw.c.source == source, _raw.c.sync_date == sync_date
        )
    )
    connection.execute(
        _raw.insert().values(
            id=new_id(),
            user_id=user_id,
            source=source,
            sync_date=sync_date,
            revision=revision,
            fetched_at=fetched_at,
            payload=payload,
            run_id=run_id,
        )
    )
    held = [m.asset for m in markets]
    connection.execute(
        delete(_markets).where(_markets.c.user_id == user_id, _markets.c.asset.not_in(held))
        if held
        else delete(_markets).where(_markets.c.user_id == user_id)
    )
    rows = [{**asdict(m), "as_of": fetched_at, "updated_at": fetched_at} for m in markets]
    bulk_upsert(connection, _markets, rows, key=["user_id", "asset"])


def open_user_markets(connection: Connection, user_id: str, limit: int) -> list[dict[str, Any]]:
    """A user's unresolved ``external_markets`` rows, newest sync first, ``tags`` as a list."""
    markets = table_of(ExternalMarket)
    rows = connection.execute(
        select(markets)
        .where(markets.c.user_id == user_id, markets.c.resolved.is_(False))
        .order_by(markets.c.as_of.desc(), markets.c.current_value.desc())
        .limit(limit)
    )
    return [{**row._asdict(), "tags": list(row.tags or [])} for row in rows]
