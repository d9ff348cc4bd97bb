"""Reads of the PnL tables for reports: the leaderboard, one day's rows, a wallet's or a user's
figures and top positions (what the UI's metadata and ``polymarket-pipeline pnl show`` print)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, nulls_last, select
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.pnl import CURSOR_NAME
from polymarket_pipeline.db.schema import (
    ActivityPublic,
    PnlState,
    PositionPnl,
    TradePublic,
    TraderStats,
    UserPnl,
    WalletLink,
    WalletPnlDaily,
    WalletPollState,
    table_of,
)

_stats = table_of(TraderStats)
_positions = table_of(PositionPnl)
_daily = table_of(WalletPnlDaily)
_users = table_of(UserPnl)
_links = table_of(WalletLink)
_cursor = table_of(PnlState)
_trades = table_of(TradePublic)
_activity = table_of(ActivityPublic)
_wallets = table_of(WalletPollState)


def new_since_last_run(connection: Connection) -> str | None:
    """Why a PnL run is due (tape rows or a positions snapshot stored since the last run), or None.

    Plain reads, no lock: a row that lands right after is seen by the next look.
    """
    cursor = connection.execute(select(_cursor).where(_cursor.c.name == CURSOR_NAME)).mappings().first()
    trades = connection.scalar(select(func.max(_trades.c.ingest_seq))) or 0
    activity = connection.scalar(select(func.max(_activity.c.ingest_seq))) or 0
    if cursor is None:
        registered = connection.scalar(select(func.count()).select_from(_wallets)) or 0
        return "first run" if registered else None
    if trades > cursor["trades_seq"] or activity > cursor["activity_seq"]:
        return "new tape rows"
    snapshot = connection.scalar(select(func.max(_wallets.c.positions_snapshot_at)))
    if snapshot is not None and snapshot > cursor["run_at"]:
        return "new positions snapshot"
    return None


def leaderboard(connection: Connection, limit: int) -> list[dict[str, Any]]:
    """``trader_stats`` rows by position PnL, best first (unknown position PnL last)."""
    stmt = (
        select(_stats)
        .order_by(nulls_last(_stats.c.position_pnl.desc()), _stats.c.wallet_address)
        .limit(limit)
    )
    return [dict(r) for r in connection.execute(stmt).mappings()]


def totals(connection: Connection) -> dict[str, Any]:
    """Sums over every wallet's ``trader_stats`` row, and how many rows are exact."""
    s = _stats.c
    row = connection.execute(
        select(
            func.count(),
            func.coalesce(func.sum(s.position_pnl), 0),
            func.coalesce(func.sum(s.realized_pnl), 0),
            func.coalesce(func.sum(s.volume_usdc), 0),
            func.count().filter(s.complete.is_(True)),
        )
    ).one()
    return {
        "wallets": int(row[0]),
        "position_pnl": row[1],
        "realized_pnl": row[2],
        "volume_usdc": row[3],
        "complete": int(row[4]),
    }


def day_rows(connection: Connection, day: date) -> list[dict[str, Any]]:
    return [dict(r) for r in connection.execute(select(_daily).where(_daily.c.day == day)).mappings()]


def wallet_stats(connection: Connection, wallet: str) -> dict[str, Any] | None:
    row = connection.execute(select(_stats).where(_stats.c.wallet_address == wallet)).mappings().first()
    return None if row is None else dict(row)


def top_positions(connection: Connection, wallets: Sequence[str], limit: int) -> list[dict[str, Any]]:
    """The wallets' positions with the largest realized + unrealized PnL in absolute value."""
    p = _positions.c
    magnitude = func.abs(p.realized_pnl + func.coalesce(p.unrealized_pnl, 0))
    stmt = (
        select(_positions).where(p.wallet_address.in_(list(wallets))).order_by(magnitude.desc()).limit(limit)
    )
    return [dict(r) for r in connection.execute(stmt).mappings()]


def user_figures(connection: Connection, user_id: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The user's ``user_pnl`` row and linked wallets (both empty: no such user)."""
    row = connection.execute(select(_users).where(_users.c.user_id == user_id)).mappings().first()
    wallets = list(
        connection.scalars(
            select(_links.c.address).where(_links.c.user_id == user_id).order_by(_links.c.address)
        )
    )
    return (None if row is None else dict(row)), wallets


def last_events(connection: Connection, wallets: Sequence[str]) -> dict[str, Any]:
    """Each wallet's newest ledger event as replayed (the latest ``last_event_at`` of its positions)."""
    p = _positions.c
    rows = connection.execute(
        select(p.wallet_address, func.max(p.last_event_at))
        .where(p.wallet_address.in_(list(wallets)))
        .group_by(p.wallet_address)
    )
    return {wallet: at for wallet, at in rows if at is not None}
