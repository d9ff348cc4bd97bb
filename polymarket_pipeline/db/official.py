"""Polymarket's own figures as last read: which wallets' official series are due, and the API's
figures of closed positions (what ``sync.official`` fetches and the PnL check compares with)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import ApiClosedPosition, WalletPollState, table_of
from polymarket_pipeline.db.upsert import bulk_upsert
from polymarket_pipeline.db.wallets import hot_condition
from polymarket_pipeline.domain.pnl import optional_decimal
from polymarket_pipeline.domain.records import Position

_state = table_of(WalletPollState)
_closed = table_of(ApiClosedPosition)


def due_wallets(connection: Connection, *, fetched_before: datetime, limit: int) -> list[str]:
    """Active hot wallets whose official series was never read or last read before the cutoff,
    never-read first, then the stalest (so a capped run spreads the reads over days)."""
    stmt = (
        select(_state.c.wallet_address)
        .where(
            _state.c.is_active.is_(True),
            hot_condition(),
            or_(_state.c.official_fetched_at.is_(None), _state.c.official_fetched_at < fetched_before),
        )
        .order_by(
            _state.c.official_fetched_at.is_not(None), _state.c.official_fetched_at, _state.c.wallet_address
        )
        .limit(limit)
    )
    return list(connection.scalars(stmt))


def mark_fetched(connection: Connection, wallet: str, at: datetime) -> None:
    connection.execute(update(_state).where(_state.c.wallet_address == wallet).values(official_fetched_at=at))


def replace_closed_positions(
    connection: Connection, wallet: str, positions: Sequence[Position], at: datetime
) -> int:
    """The wallet's closed positions as the API gave them now (the previous read is replaced)."""
    connection.execute(delete(_closed).where(_closed.c.wallet_address == wallet))
    rows = [
        {
            "wallet_address": wallet,
            "asset": p.asset,
            "condition_id": p.condition_id,
            "avg_price": optional_decimal(p.avg_price),
            "realized_pnl": optional_decimal(p.realized_pnl),
            "total_bought": optional_decimal(p.total_bought),
            "cur_price": optional_decimal(p.cur_price),
            "fetched_at": at,
        }
        for p in {p.asset: p for p in positions}.values()
    ]
    if rows:
        bulk_upsert(connection, _closed, rows, key=["wallet_address", "asset"])
    return len(rows)
