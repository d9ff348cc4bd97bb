"""Read helpers for applications (the seed's web-app example)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.db import integrations
from polymarket_pipeline.db.engine import create_db_engine, reading
from polymarket_pipeline.settings import load_settings


def get_user_markets(user_id: str, *, engine: Engine | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """A user's open (unresolved) positions, newest sync first, ``tags`` as a list."""
    own_engine = engine is None
    engine = engine or create_db_engine(load_settings().app_database_url)
    try:
        with reading(engine) as connection:
            return integrations.open_user_markets(connection, user_id, limit)
    finally:
        if own_engine:
            engine.dispose()
