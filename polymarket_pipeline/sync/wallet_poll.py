"""Polling one wallet: its fills and activity since the watermarks, and its reconciled positions.

Each step fetches first and then writes everything for the wallet in one short transaction, so a
crash or a stop between wallets leaves every committed cursor consistent with its rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.api.results import ActivityHistory, TradeHistory
from polymarket_pipeline.db import activity as activity_store
from polymarket_pipeline.db import history as history_store
from polymarket_pipeline.db import positions as position_store
from polymarket_pipeline.db import state
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.history import Route, WalletHistory
from polymarket_pipeline.db.trades import advance_watermark, upsert_trades
from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.fills import (
    newest_fill_time,
    poll_start,
)
from polymarket_pipeline.domain.history import HistoryState, WalkOutcome, after_forward_walk
from polymarket_pipeline.domain.reconcile import (
    ACTIVITY_REASONS,
    EventType,
    close_changes,
    diff_snapshot,
    explaining_activity,
    unexplained,
)
from polymarket_pipeline.domain.records import Activity, Position
from polymarket_pipeline.sync.fills import fill_days, label_and_key, utcnow
from polymarket_pipeline.sync.markets import MarketDirectory

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_OVERLAP_SECONDS = 600
"""Re-read this much before a watermark: rows indexed up to 10 minutes late land inside the
overlap. It costs no extra request for all but the busiest wallets (the window fits one page)."""
CLOSE_LOOKBACK_SECONDS = 3600
"""Activity explaining a close is searched from this long before the previous snapshot
(block timestamps against wall clock, and the positions API lagging trades by minutes)."""


@dataclass(frozen=True, slots=True)
class PollPlan:
    """Which parts of a wallet one poll refreshes.

    With ``verify_every`` set the poll is *adaptive*: the positions snapshot is read first (one
    request) and the wallet's trades and activity are re-read only when the snapshot changed,
    the wallet was never verified, or its last verification is older than ``verify_every``.
    Fills arrive through the global feed meanwhile; a fill the feed missed changes a position,
    which triggers the re-read at the next poll.
    """

    trades: bool = True
    activity: bool = True
    positions: bool = True
    verify_every: timedelta | None = None


@dataclass(slots=True)
class WalletResult:
    """What one poll of one wallet did (summed into a sweep's statistics)."""

    wallet: str
    fills_fetched: int = 0
    trades_inserted: int = 0
    trades_complete: bool = True
    activity_fetched: int = 0
    activity_inserted: int = 0
    events: Counter[str] = field(default_factory=Counter)
    """opened / increased / decreased / closed counts."""
    closes: Counter[str] = field(default_factory=Counter)
    """closes by reason."""
    stale: bool = False
    """True when another poller stored a newer snapshot first (nothing was written)."""
    snapshot_complete: bool = True
    verified: bool = False
    """Trades and activity were both re-read by this poll."""
    rows_rejected: int = 0
    pages: int = 0
    """Data API requests the poll's walks made."""
    days: Counter[str] = field(default_factory=Counter)
    """Fills per UTC day (``YYYY-MM-DD``) of a backfill, or of a live poll that stored new fills:
    the per-day trade partitions these mark."""


async def poll_trades(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    wallet: str,
    result: WalletResult,
    *,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    window: tuple[int, int] | None = None,
    now: Callable[[], datetime] = utcnow,
) -> None:
    """Store the wallet's fills since its watermark (whole history the first time).

    With ``window`` = (start, end) it backfills that window instead and leaves the watermark alone.
    """
    known: WalletHistory | None = None
    if window is None:
        known = await asyncio.to_thread(_read, engine, history_store.wallet_history, wallet)
        mark = _at(known.trades_watermark) if known is not None else None
        history = await client.fetch_wallet_trades(wallet, start=poll_start(mark, overlap_seconds))
    else:
        history = await client.fetch_wallet_trades(wallet, start=window[0], end=window[1])
    keyed = await label_and_key(markets, history.fills)
    at = now()

    def write() -> int:
        with engine.begin() as connection:
            inserted = upsert_trades(connection, keyed, at)
            if window is None:
                advance_watermark(connection, wallet, newest_fill_time(history.fills), at)
                _record_forward(connection, known, wallet, "trades", history, at)
        return inserted

    inserted = await asyncio.to_thread(write)
    result.trades_inserted += inserted
    result.fills_fetched += len(keyed)
    if inserted or window is not None:  # a re-read of stored fills marks no day
        result.days.update(fill_days(keyed))
    result.trades_complete = result.trades_complete and history.complete
    result.rows_rejected += history.rejected
    result.pages += history.pages
    if not history.complete:
        log.warning(
            "wallet %s: trade walk stopped early (%s); older fills are read by later sweeps",
            wallet,
            history.incomplete_reason,
        )


async def poll_activity(
    client: PolymarketClient,
    engine: Engine,
    wallet: str,
    result: WalletResult,
    *,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    max_pages: int | None = None,
    now: Callable[[], datetime] = utcnow,
    markets: MarketDirectory | None = None,
) -> None:
    """Store every activity row of the wallet since its activity watermark (all types).

    With ``markets``, a CONVERSION's neg-risk event is looked up (its member markets cached), so
    the PnL replay can name the conversion's legs.
    """
    known = await asyncio.to_thread(_read, engine, history_store.wallet_history, wallet)
    mark = _at(known.activity_watermark) if known is not None else None
    history = await client.fetch_activity_history(
        wallet, start=poll_start(mark, overlap_seconds), max_pages=max_pages
    )
    rows = history.items
    result.rows_rejected += history.rejected
    result.pages += history.pages
    keyed = key_activity(rows)
    at = now()
    forward = client.activity_walks_forward

    def write() -> int:
        with engine.begin() as connection:
            inserted = activity_store.upsert_activity(connection, keyed, at)
            activity_store.advance_activity_watermark(connection, wallet, _at(history.newest_timestamp), at)
            _record_forward(connection, known, wallet, "activity", history, at, walks_forward=forward)
        return inserted

    result.activity_inserted += await asyncio.to_thread(write)
    result.activity_fetched += len(keyed)
    await _learn_conversion_events(markets, rows)
    if not history.complete:
        log.warning(
            "wallet %s: activity walk stopped early (%s); the rest is read by later sweeps",
            wallet,
            history.incomplete_reason,
        )


async def _learn_conversion_events(markets: MarketDirectory | None, rows: Sequence[Activity]) -> None:
    """Best effort: a failed lookup leaves the conversion's legs unknown (the PnL says so)."""
    converted = {r.condition_id for r in rows if r.type == "CONVERSION" and r.condition_id}
    if markets is None or not converted:
        return
    try:
        await markets.with_event_members(converted)
    except PolymarketError as exc:
        log.warning("conversion markets not looked up (legs stay unknown until the next read): %s", exc)


def _at(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _record_forward(
    connection: Connection,
    known: WalletHistory | None,
    wallet: str,
    route: Route,
    walk: TradeHistory | ActivityHistory,
    at: datetime,
    *,
    walks_forward: bool = False,
) -> None:
    """The route's history after a poll since its watermark (``domain.history.after_forward_walk``).

    An oldest-first walk (v1 activity) that stopped early leaves no gap: the next poll starts
    where it stopped, so its history is complete exactly when its last walk was.
    """
    before = known.state(route) if known is not None else HistoryState(complete=False)
    if walks_forward:
        after = HistoryState(complete=walk.complete)
    else:
        first_poll = known is None or known.watermark(route) is None
        after = after_forward_walk(
            before, WalkOutcome(walk.complete, walk.oldest_timestamp), from_start=first_poll
        )
    if after != before or not walk.complete:
        cause = walk.incomplete_reason or "the walk stopped early"
        history_store.record(connection, wallet, route, after, reason=describe_cut(after, cause), now=at)


def describe_cut(state: HistoryState, cause: str) -> str:
    """``stored back to 2026-03-01T12:00:00Z (page limit (200) reached …)``: how far it reaches, why."""
    if state.frontier is None:
        return f"not read back to its start ({cause})"
    reach = datetime.fromtimestamp(state.frontier, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"stored back to {reach} ({cause})"


async def poll_wallet(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    wallet: str,
    plan: PollPlan,
    *,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    window: tuple[int, int] | None = None,
    now: Callable[[], datetime] = utcnow,
) -> WalletResult:
    """One poll of one wallet: snapshot, then (when needed) trades and activity, then closes.

    Closes are explained by the wallet's stored activity since the previous snapshot (re-read
    now whenever something disappeared), else by the market's resolution checked now, else
    they are manual. An incomplete snapshot changes nothing but the wallet's flag.
    """
    result = WalletResult(wallet)
    if window is not None:
        await poll_trades(client, engine, markets, wallet, result, window=window, now=now)
        return result

    async def history(trades: bool, activity: bool) -> None:
        if trades:
            await poll_trades(
                client, engine, markets, wallet, result, overlap_seconds=overlap_seconds, now=now
            )
        if activity:
            await poll_activity(
                client, engine, wallet, result, overlap_seconds=overlap_seconds, now=now, markets=markets
            )

    if not plan.positions:
        await history(plan.trades, plan.activity)
        await _mark_verified(engine, result, plan, now)
        return result

    previous = await asyncio.to_thread(_read, engine, position_store.load_snapshot, wallet)
    fetched_at = now()
    positions, incomplete = await _fetch_snapshot(client, wallet, result)
    complete = incomplete is None
    diff = diff_snapshot(previous.positions, positions, complete=complete)
    changed = bool(diff.changes or diff.disappeared) or not complete
    due = (
        plan.verify_every is None
        or changed
        or await asyncio.to_thread(_verification_due, engine, wallet, fetched_at, plan.verify_every)
    )
    if due:
        await history(plan.trades, plan.activity)
        await _mark_verified(engine, result, plan, now)
    if not complete:
        result.snapshot_complete = False
        reason = f"GET positions for wallet {wallet}: snapshot incomplete ({incomplete}); no closes derived"
        await asyncio.to_thread(_write, engine, state.mark_snapshot_incomplete, wallet, reason, now())
        log.warning("wallet %s: %s", wallet, reason)
        return result

    activity: dict[str, set[str]] = {}
    resolved: set[str] = set()
    if diff.disappeared:
        if not (due and plan.activity):
            await poll_activity(
                client, engine, wallet, result, overlap_seconds=overlap_seconds, now=now, markets=markets
            )
        since = (previous.taken_at or fetched_at) - timedelta(seconds=CLOSE_LOOKBACK_SECONDS)
        rows = await asyncio.to_thread(
            _read, engine, activity_store.activity_since, wallet, since, list(ACTIVITY_REASONS)
        )
        activity = explaining_activity(rows)
        resolved = await markets.resolved(unexplained(diff.disappeared, activity))
    closes = close_changes(diff.disappeared, activity=activity, resolved=resolved)

    def write() -> bool:
        with engine.begin() as connection:
            if not position_store.claim_snapshot(connection, wallet, previous.taken_at, fetched_at):
                connection.rollback()
                return False
            position_store.write_snapshot(
                connection, wallet, list(diff.current.values()), diff.changes, closes, now()
            )
        return True

    if not await asyncio.to_thread(write):
        result.stale = True
        return result
    result.events.update(change.event_type.value for change in diff.changes)
    result.closes.update(change.reason.value for _, change in closes if change.reason)
    result.events[EventType.CLOSED.value] += len(closes)
    return result


def verification_period(wallet: str, every: timedelta) -> timedelta:
    """This wallet's own verification period: between three quarters of ``every`` and ``every``.

    Wallets first polled together would otherwise all fall due in the same sweep (three requests
    each); a fixed per-wallet fraction, from the address, spreads them apart, and the differing
    periods keep them apart. The mean rate stays under 1/(0.87 every): at 12 h, about 1 in 10.4
    wallets is verified per hourly sweep, so a quiet sweep averages 1.19 Data API requests per
    wallet.
    """
    fraction = int(wallet[-4:], 16) / 0xFFFF
    return every * (0.75 + 0.25 * fraction)


def _verification_due(engine: Engine, wallet: str, at: datetime, every: timedelta) -> bool:
    with reading(engine) as connection:
        last = state.last_verified(connection, wallet)
    return last is None or at - last >= verification_period(wallet, every)


async def _mark_verified(
    engine: Engine, result: WalletResult, plan: PollPlan, now: Callable[[], datetime]
) -> None:
    if plan.trades and plan.activity:
        result.verified = True
        await asyncio.to_thread(_write, engine, state.mark_verified, result.wallet, now())


async def _fetch_snapshot(
    client: PolymarketClient, wallet: str, result: WalletResult
) -> tuple[list[Position], str | None]:
    """The snapshot, and why it is incomplete (None when complete)."""
    snapshot = await client.fetch_position_snapshot(wallet)
    result.rows_rejected += snapshot.rejected
    if snapshot.complete:
        return snapshot.positions, None
    return snapshot.positions, snapshot.incomplete_reason or f"{snapshot.rejected} rows rejected"


def _read(engine: Engine, query: Callable[..., T], *args: Any) -> T:
    with reading(engine) as connection:
        return query(connection, *args)


def _write(engine: Engine, command: Callable[..., T], *args: Any) -> T:
    with engine.begin() as connection:
        return command(connection, *args)


def record_failure(engine: Engine, wallet: str, error: str, at: datetime) -> None:
    with engine.begin() as connection:
        state.record_failure(connection, wallet, error, at)
