"""Queries behind the asset checks and the assets' totals (SQL stays in ``db/``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, and_, func, select
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import (
    ActivityPublic,
    PositionClosed,
    PositionCurrent,
    PositionEvent,
    TradePublic,
    table_of,
)

SAMPLE = 10
NEAR = 1e-6
"""Sizes and prices closer than this are the same number written two ways."""

TABLES: dict[str, Table] = {
    "trades_public": table_of(TradePublic),
    "activity_public": table_of(ActivityPublic),
    "positions_current": table_of(PositionCurrent),
    "positions_closed": table_of(PositionClosed),
}


def row_count(connection: Connection, table: str) -> int:
    return int(connection.scalar(select(func.count()).select_from(TABLES[table])) or 0)


def near_duplicate_fills(connection: Connection, since: datetime) -> list[tuple[str, str, str]]:
    """Fills stored twice with the same number written two ways (e.g. ``0.49`` and ``0.4899999951``).

    Identical legs of one transaction are legitimate rows; two rows of one wallet, transaction,
    token, side and second whose size and price differ only by float noise are one fill stored
    twice, because two sources formatted it differently. Only fills since ``since`` are looked at.
    """
    t = table_of(TradePublic)
    other = t.alias("other")
    stmt = (
        select(t.c.wallet_address, t.c.transaction_hash, t.c.trade_id)
        .join(
            other,
            and_(
                other.c.wallet_address == t.c.wallet_address,
                other.c.transaction_hash == t.c.transaction_hash,
                other.c.asset == t.c.asset,
                other.c.side == t.c.side,
                other.c.traded_at == t.c.traded_at,
                other.c.trade_id > t.c.trade_id,
                func.abs(other.c.size - t.c.size) < NEAR,
                func.abs(other.c.price - t.c.price) < NEAR,
                (other.c.size != t.c.size) | (other.c.price != t.c.price),
            ),
        )
        .where(t.c.traded_at >= since)
        .limit(SAMPLE)
    )
    return [(r[0], r[1], r[2]) for r in connection.execute(stmt)]


def inconsistent_positions(
    connection: Connection, wallets: Sequence[str] | None = None
) -> list[tuple[str, str, float, float | None]]:
    """Open positions whose size is not positive or differs from their latest event's size."""
    p, e = table_of(PositionCurrent), table_of(PositionEvent)
    latest = select(e.c.wallet_address, e.c.asset, func.max(e.c.id).label("id")).group_by(
        e.c.wallet_address, e.c.asset
    )
    if wallets is not None:
        latest = latest.where(e.c.wallet_address.in_(list(wallets)))
    latest_q = latest.subquery()
    stmt = (
        select(p.c.wallet_address, p.c.asset, p.c.size, e.c.size_after)
        .select_from(
            p.outerjoin(
                latest_q, and_(latest_q.c.wallet_address == p.c.wallet_address, latest_q.c.asset == p.c.asset)
            ).outerjoin(e, e.c.id == latest_q.c.id)
        )
        .where((p.c.size <= 0) | (e.c.size_after.is_(None)) | (func.abs(e.c.size_after - p.c.size) > NEAR))
        .limit(SAMPLE)
    )
    if wallets is not None:
        stmt = stmt.where(p.c.wallet_address.in_(list(wallets)))
    return [
        (r[0], r[1], float(r[2]), None if r[3] is None else float(r[3])) for r in connection.execute(stmt)
    ]
