"""Reading a wallet's stored snapshot and writing a reconciled one, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import (
    PositionClosed,
    PositionCurrent,
    PositionEvent,
    WalletPollState,
    table_of,
)
from polymarket_pipeline.db.upsert import bulk_insert, bulk_upsert
from polymarket_pipeline.domain.reconcile import PositionChange, StoredPosition
from polymarket_pipeline.domain.records import Position

_current = table_of(PositionCurrent)
_closed = table_of(PositionClosed)
_events = table_of(PositionEvent)
_state = table_of(WalletPollState)


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    positions: dict[str, StoredPosition]
    taken_at: datetime | None
    """``positions_snapshot_at``: when the stored snapshot was fetched (None: never)."""


def load_snapshot(connection: Connection, wallet: str) -> StoredSnapshot:
    taken_at = connection.scalar(
        select(_state.c.positions_snapshot_at).where(_state.c.wallet_address == wallet)
    )
    rows = connection.execute(
        select(
            _current.c.asset,
            _current.c.condition_id,
            _current.c.size,
            _current.c.avg_price,
            _current.c.cur_price,
            _current.c.realized_pnl,
            _current.c.title,
            _current.c.outcome,
            _current.c.first_seen_at,
        ).where(_current.c.wallet_address == wallet)
    )
    return StoredSnapshot({row.asset: StoredPosition(*row) for row in rows}, taken_at)


def claim_snapshot(connection: Connection, wallet: str, expected: datetime | None, new: datetime) -> bool:
    """Move the wallet's snapshot time from ``expected`` to ``new``; False if someone else moved it.

    This is the optimistic lock that keeps two pollers of one wallet (the hot sensor and a manual
    job) from recording the same close twice: the loser's diff was made against a stale snapshot.
    """
    result = connection.execute(
        update(_state)
        .where(
            _state.c.wallet_address == wallet,
            _state.c.positions_snapshot_at.is_not_distinct_from(expected),
        )
        .values(positions_snapshot_at=new)
    )
    return result.rowcount == 1


def _position_row(wallet: str, p: Position, now: datetime) -> dict[str, Any]:
    return {
        "wallet_address": wallet,
        "asset": p.asset,
        "condition_id": p.condition_id,
        "size": p.size,
        "avg_price": p.avg_price,
        "cur_price": p.cur_price,
        "current_value": p.current_value,
        "initial_value": p.initial_value,
        "cash_pnl": p.cash_pnl,
        "realized_pnl": p.realized_pnl,
        "redeemable": p.redeemable,
        "mergeable": p.mergeable,
        "title": p.title,
        "slug": p.slug,
        "outcome": p.outcome,
        "outcome_index": p.outcome_index,
        "end_date": p.end_date,
        "first_seen_at": now,
        "last_seen_at": now,
        "updated_at": now,
    }


def write_snapshot(
    connection: Connection,
    wallet: str,
    current: Sequence[Position],
    changes: Sequence[PositionChange],
    closes: Sequence[tuple[StoredPosition, PositionChange]],
    now: datetime,
) -> None:
    """Store the new snapshot, its events and its closes (the caller owns the transaction)."""
    rows = [_position_row(wallet, p, now) for p in current]
    refreshed = [c for c in rows[0] if c not in ("wallet_address", "asset", "first_seen_at")] if rows else []
    bulk_upsert(connection, _current, rows, key=["wallet_address", "asset"], update=refreshed)
    gone = [position.asset for position, _ in closes]
    if gone:
        connection.execute(
            delete(_current).where(_current.c.wallet_address == wallet, _current.c.asset.in_(gone))
        )
    events = [
        {
            "wallet_address": wallet,
            "asset": change.asset,
            "condition_id": change.condition_id,
            "event_type": change.event_type.value,
            "size_before": change.size_before,
            "size_after": change.size_after,
            "reason": change.reason.value if change.reason else None,
            "detected_at": now,
        }
        for change in [*changes, *(change for _, change in closes)]
    ]
    bulk_insert(connection, _events, events)
    if closes:
        bulk_insert(
            connection,
            _closed,
            [
                {
                    "wallet_address": wallet,
                    "asset": position.asset,
                    "condition_id": position.condition_id,
                    "reason": change.reason.value if change.reason else None,
                    "closed_at": now,
                    "last_size": position.size,
                    "avg_price": position.avg_price,
                    "cur_price": position.cur_price,
                    "realized_pnl": position.realized_pnl,
                    "title": position.title,
                    "outcome": position.outcome,
                    "first_seen_at": position.first_seen_at,
                }
                for position, change in closes
            ],
        )
    connection.execute(
        update(_state)
        .where(_state.c.wallet_address == wallet)
        .values(
            last_positions_polled_at=now,
            last_polled_at=now,
            updated_at=now,
            last_error=None,
            last_error_at=None,
            consecutive_failures=0,
            retry_after=None,
            positions_complete=True,
        )
    )
