"""Polling one wallet: its fills since the watermark, and its reconciled position snapshot.

Each step fetches first and then writes everything for the wallet in one short transaction, so a
crash or a stop between wallets leaves every committed cursor consistent with its rows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import positions as position_store
from polymarket_pipeline.db import state
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.trades import advance_watermark, upsert_trades
from polymarket_pipeline.domain.fills import key_fills, newest_fill_time, poll_start
from polymarket_pipeline.domain.reconcile import (
    EventType,
    close_changes,
    diff_snapshot,
    redeemed_condition_ids,
)
from polymarket_pipeline.sync.markets import MarketDirectory

DEFAULT_OVERLAP_SECONDS = 120
"""Re-read this much before the watermark: late-indexed fills land inside the overlap."""
REDEEM_LOOKBACK_SECONDS = 3600
"""REDEEM rows are searched from this long before the previous snapshot (block vs wall clock)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TradesResult:
    wallet: str
    fetched: int
    inserted: int
    complete: bool


@dataclass(slots=True)
class PositionsResult:
    wallet: str
    events: Counter[str] = field(default_factory=Counter)
    """opened / increased / decreased counts."""
    closes: Counter[str] = field(default_factory=Counter)
    """closes by reason."""
    stale: bool = False
    """True when another poller stored a newer snapshot first (nothing was written)."""


async def poll_trades(
    client: PolymarketClient,
    engine: Engine,
    wallet: str,
    *,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    now: Callable[[], datetime] = utcnow,
) -> TradesResult:
    """Fetch the wallet's fills since its watermark (whole history the first time) and store them."""
    mark = await asyncio.to_thread(_read_watermark, engine, wallet)
    history = await client.fetch_wallet_trades(wallet, start=poll_start(mark, overlap_seconds))
    keyed = key_fills(history.fills)
    newest = newest_fill_time(history.fills)

    def write() -> int:
        at = now()
        with engine.begin() as connection:
            inserted = upsert_trades(connection, keyed, at)
            advance_watermark(connection, wallet, newest, at, history_complete=history.complete)
        return inserted

    inserted = await asyncio.to_thread(write)
    return TradesResult(wallet, len(keyed), inserted, history.complete)


async def backfill_trades(
    client: PolymarketClient,
    engine: Engine,
    wallet: str,
    *,
    start: int,
    end: int,
    now: Callable[[], datetime] = utcnow,
) -> TradesResult:
    """Store the wallet's fills in ``[start, end]``; the live watermark is left alone."""
    history = await client.fetch_wallet_trades(wallet, start=start, end=end)
    keyed = key_fills(history.fills)

    def write() -> int:
        with engine.begin() as connection:
            return upsert_trades(connection, keyed, now())

    inserted = await asyncio.to_thread(write)
    return TradesResult(wallet, len(keyed), inserted, history.complete)


def _read_watermark(engine: Engine, wallet: str) -> datetime | None:
    with reading(engine) as connection:
        return state.watermark(connection, wallet)


async def reconcile_positions(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    wallet: str,
    *,
    now: Callable[[], datetime] = utcnow,
) -> PositionsResult:
    """Diff a fresh snapshot against the stored one and store events, closes and the snapshot."""
    previous = await asyncio.to_thread(_load_snapshot, engine, wallet)
    fetched_at = now()
    snapshot = await client.fetch_positions(wallet)
    diff = diff_snapshot(previous.positions, snapshot)

    redeemed: set[str] = set()
    resolved: set[str] = set()
    if diff.disappeared:
        since = previous.taken_at or fetched_at
        activity = await client.fetch_activity(
            wallet, types=("REDEEM",), start=max(1, int(since.timestamp()) - REDEEM_LOOKBACK_SECONDS)
        )
        redeemed = redeemed_condition_ids(activity) & diff.disappeared_condition_ids
        resolved = await markets.resolved(diff.disappeared_condition_ids - redeemed)
    closes = close_changes(diff.disappeared, redeemed=redeemed, resolved=resolved)

    def write() -> bool:
        with engine.begin() as connection:
            if not position_store.claim_snapshot(connection, wallet, previous.taken_at, fetched_at):
                connection.rollback()
                return False
            position_store.write_snapshot(
                connection, wallet, list(diff.current.values()), diff.changes, closes, now()
            )
        return True

    result = PositionsResult(wallet)
    if not await asyncio.to_thread(write):
        result.stale = True
        return result
    result.events.update(change.event_type.value for change in diff.changes)
    result.closes.update(change.reason.value for _, change in closes if change.reason)
    result.events[EventType.CLOSED.value] += len(closes)
    return result


def _load_snapshot(engine: Engine, wallet: str) -> position_store.StoredSnapshot:
    with reading(engine) as connection:
        return position_store.load_snapshot(connection, wallet)


def record_failure(engine: Engine, wallet: str, error: str, at: datetime) -> None:
    with engine.begin() as connection:
        state.record_failure(connection, wallet, error, at)
