"""Read helpers for applications (the seed's web-app example)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from polymarket_pipeline import config
from polymarket_pipeline.db.engine import create_db_engine, reading
from polymarket_pipeline.db.schema import ExternalMarket, table_of

_markets = table_of(ExternalMarket)


def get_user_markets(user_id: str, *, engine: Engine | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """A user's open (unresolved) positions, newest sync first, ``tags`` as a list."""
    own_engine = engine is None
    engine = engine or create_db_engine(config.database_url())
    try:
        with reading(engine) as connection:
            rows = connection.execute(
                select(_markets)
                .where(_markets.c.user_id == user_id, _markets.c.resolved.is_(False))
                .order_by(_markets.c.as_of.desc(), _markets.c.current_value.desc())
                .limit(limit)
            )
            return [{**row._asdict(), "tags": list(row.tags or [])} for row in rows]
    finally:
        if own_engine:
            engine.dispose()
