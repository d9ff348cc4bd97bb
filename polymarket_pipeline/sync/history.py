"""Reading wallets' older history back to its first row, one bounded step at a time.

A walk stops at ``max_pages_per_walk`` pages, so the largest wallets (market makers, the most
active traders: the ones most often followed) cannot be read in one. Their polls store the newest
rows and leave a frontier (``domain.history``); after a sweep's regular polls, this phase walks
each incomplete history backwards from its frontier, inside a share of the sweep's requests, until
a walk reaches the first row. Each step commits its rows and its new frontier together, so a stop
or crash loses at most the step in hand, and new fills keep arriving through the regular polls
and the hot path meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.api.text import escape
from polymarket_pipeline.db import activity as activity_store
from polymarket_pipeline.db import history as history_store
from polymarket_pipeline.db.engine import database_unreachable, reading
from polymarket_pipeline.db.history import Route, WalletHistory
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.history import BackwardStep, WalkOutcome, after_backward_walk
from polymarket_pipeline.sync.fills import fill_days, label_and_key, utcnow
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.wallet_poll import WalletResult, describe_cut, poll_activity

log = logging.getLogger(__name__)

DEFAULT_SHARE = 0.25
DEFAULT_MIN_PAGES = 50
DEFAULT_WALLETS_IN_FLIGHT = 4
MESSAGE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class HistoryOptions:
    """How much of a sweep goes to older history (see ``domain.history.backfill_budget``)."""

    share: float = DEFAULT_SHARE
    min_pages: int = DEFAULT_MIN_PAGES
    max_pages_per_step: int | None = None
    """Pages one step reads before committing (default: the client's ``max_pages_per_walk``)."""
    wallets_in_flight: int = DEFAULT_WALLETS_IN_FLIGHT
    shard: tuple[int, int] | None = None
    """Only wallets of this shard (``domain.addresses.shard_of``), as the sweep's own wallets."""


@dataclass(slots=True)
class HistoryStats:
    """What the history phase of one sweep did."""

    budget_pages: int = 0
    pages: int = 0
    steps: int = 0
    wallets_stepped: int = 0
    fills_fetched: int = 0
    trades_inserted: int = 0
    activity_fetched: int = 0
    activity_inserted: int = 0
    completed: int = 0
    """Wallets whose history (both routes) became complete in this sweep."""
    stalled: int = 0
    """Steps that could not move a frontier (one second holding more rows than a step reads)."""
    failures: dict[str, str] = field(default_factory=dict)
    days: Counter[str] = field(default_factory=Counter)
    overspent: int = 0
    """Pages a step read beyond its reservation (one-second boundary re-reads), charged to the
    budget as they happen."""

    @property
    def failure_share(self) -> float:
        return len(self.failures) / self.wallets_stepped if self.wallets_stepped else 0.0


class _Pages:
    """The phase's page budget, shared by its workers: taken before a step, unspent pages returned."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, most: int) -> int:
        pages = min(most, self.left)
        self.left -= pages
        return pages

    def settle(self, reserved: int, used: int) -> int:
        """Return what a step left of its reservation, or charge what it read beyond it; the
        overshoot (pages past the reservation) is returned."""
        self.left += reserved - used
        return max(0, used - reserved)


async def continue_histories(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    budget_pages: int,
    *,
    options: HistoryOptions = HistoryOptions(),
    stop: asyncio.Event | None = None,
    now: Callable[[], datetime] = utcnow,
    stats: HistoryStats | None = None,
) -> HistoryStats:
    """Walk incomplete histories backwards until ``budget_pages`` are spent or none is left.

    ``stats`` (given by the caller) is updated as steps happen, so if the database goes away
    mid-phase (raised, not contained: it is no wallet's fault) the figures still say what was done.
    """
    stats = stats if stats is not None else HistoryStats()
    stats.budget_pages = budget_pages
    if budget_pages <= 0:
        return stats
    with reading(engine) as connection:
        queue = [h for h in history_store.incomplete(connection, options.shard) if _walkable(h)]
    pages = _Pages(budget_pages)
    per_step = options.max_pages_per_step or client.settings.max_pages_per_walk
    stop = stop or asyncio.Event()
    pending = iter(queue)

    async def worker() -> None:
        for known in pending:
            if stop.is_set() or pages.left <= 0:
                return
            await _wallet(client, engine, markets, known, pages, per_step, stats, stop, now)

    workers = [
        asyncio.create_task(worker()) for _ in range(max(1, min(options.wallets_in_flight, len(queue))))
    ]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
    return stats


def _walkable(known: WalletHistory) -> bool:
    """A route can be walked back once it was polled at least once (its watermark is the start)."""
    trades = not known.trades.complete and known.trades_watermark is not None
    activity = not known.activity.complete and known.activity_watermark is not None
    return trades or activity


async def _wallet(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    known: WalletHistory,
    pages: _Pages,
    per_step: int,
    stats: HistoryStats,
    stop: asyncio.Event,
    now: Callable[[], datetime],
) -> None:
    """Step one wallet until its history is whole, a step stalls, or the budget is spent."""
    stats.wallets_stepped += 1
    asked_first = False
    try:
        current: WalletHistory | None = known
        while current is not None and _walkable(current) and not stop.is_set():
            if current.first_at is None and _cut_before(current) and not asked_first:
                asked_first = True
                await _find_first_activity(client, engine, current.wallet, pages, stats)
            reserved = pages.take(per_step)
            if reserved <= 0:
                return
            used = min(1, reserved)  # a step that raised is charged one page: most fail on their
            # first, and the rate limiter bounds what any sent; the rest goes back to the others
            try:
                used, moved = await _step(client, engine, markets, current, reserved, stats, now)
            finally:
                stats.overspent += pages.settle(reserved, used)
            stats.pages += used
            stats.steps += 1
            if not moved:
                stats.stalled += 1
                return
            current = await asyncio.to_thread(_read_history, engine, known.wallet)
        if current is not None and current.complete:
            stats.completed += 1
    except SQLAlchemyError as exc:
        if database_unreachable(exc):
            raise  # the database, not this wallet: the sweep stops the phase and says so
        _fail(stats, known.wallet, exc)
    except Exception as exc:  # containment: a failed step is this wallet's alone, retried next sweep
        _fail(stats, known.wallet, exc)


def _fail(stats: HistoryStats, wallet: str, exc: Exception) -> None:
    detail = exc if isinstance(exc, PolymarketError) else f"{type(exc).__name__}: {exc}"
    message = escape(detail, MESSAGE_LIMIT)
    stats.failures[wallet] = message
    log.warning("wallet %s: history step failed (retried next sweep): %s", wallet, message)


async def _step(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    known: WalletHistory,
    max_pages: int,
    stats: HistoryStats,
    now: Callable[[], datetime],
) -> tuple[int, bool]:
    """One step of the route still incomplete (trades first): pages used, and whether it moved."""
    wallet = known.wallet
    if not known.trades.complete and known.trades_watermark is not None:
        end = known.trades.frontier
        if end is None:
            end = await asyncio.to_thread(_backward_start, engine, client, known)
        walk = await client.fetch_trades_before(wallet, end=end, max_pages=max_pages)
        keyed = await label_and_key(markets, walk.fills)
        step = after_backward_walk(known.trades, WalkOutcome(walk.complete, walk.oldest_timestamp), end=end)
        cause = walk.incomplete_reason or "page budget of the step spent"
        at = now()

        def write_trades() -> int:
            with engine.begin() as connection:
                inserted = upsert_trades(connection, keyed, at)
                _record(connection, known, "trades", step, cause, at)
            return inserted

        inserted = await asyncio.to_thread(write_trades)
        stats.fills_fetched += len(keyed)
        stats.trades_inserted += inserted
        if inserted:
            stats.days.update(fill_days(keyed))
        return walk.pages, step.progressed
    if client.activity_walks_forward:
        # v1: activity is read oldest first, so the rest is simply the next poll from its watermark
        result = WalletResult(wallet)
        await poll_activity(client, engine, wallet, result, max_pages=max_pages, now=now, markets=markets)
        stats.activity_fetched += result.activity_fetched
        stats.activity_inserted += result.activity_inserted
        after = await asyncio.to_thread(_read_history, engine, wallet)
        # the overlap re-read always fetches rows: progress is the watermark moving or the end
        moved = after is not None and (
            after.activity.complete or after.activity_watermark != known.activity_watermark
        )
        return result.pages, moved
    since = known.activity.frontier if known.activity.frontier is not None else known.activity_watermark
    assert since is not None
    history = await client.fetch_activity_before(wallet, end=since, max_pages=max_pages)
    assert history is not None
    keyed_rows = key_activity(history.items)
    outcome = WalkOutcome(history.complete, history.oldest_timestamp)
    activity_step = after_backward_walk(known.activity, outcome, end=since)
    activity_cause = history.incomplete_reason or "page budget of the step spent"
    at = now()

    def write_activity() -> int:
        with engine.begin() as connection:
            inserted = activity_store.upsert_activity(connection, keyed_rows, at)
            _record(connection, known, "activity", activity_step, activity_cause, at)
        return inserted

    stats.activity_inserted += await asyncio.to_thread(write_activity)
    stats.activity_fetched += len(keyed_rows)
    return history.pages, activity_step.progressed


def _record(
    connection: Connection, known: WalletHistory, route: Route, step: BackwardStep, cause: str, at: datetime
) -> None:
    reason = describe_cut(step.state, cause if step.progressed else f"no progress: {cause}")
    written = history_store.record(
        connection,
        known.wallet,
        route,
        step.state,
        reason=reason,
        now=at,
        expected=known.state(route),
    )
    if not written:
        log.info("wallet %s: %s frontier moved meanwhile; this step's rows are kept", known.wallet, route)


def _cut_before(known: WalletHistory) -> bool:
    """A walk of this wallet already stopped early (a frontier is set): its history is large, and
    where it starts is worth one request (the estimate of what is still to read needs it)."""
    return known.trades.frontier is not None or known.activity.frontier is not None


async def _find_first_activity(
    client: PolymarketClient, engine: Engine, wallet: str, pages: _Pages, stats: HistoryStats
) -> None:
    """One request, from the budget, for where the wallet's history starts (best effort: it only
    feeds the estimate of what is left, so a failure never holds up the walk)."""
    if pages.take(1) < 1:
        return
    stats.pages += 1
    try:
        first = await client.fetch_first_activity_at(wallet)
    except PolymarketError as exc:
        log.info("wallet %s: first activity not found (asked again next sweep): %s", wallet, exc)
        return
    await asyncio.to_thread(_write_first_at, engine, wallet, first)


def _backward_start(engine: Engine, client: PolymarketClient, known: WalletHistory) -> int:
    """Where a trades walk with no frontier starts: the watermark, re-reading every stored fill
    (the same route keys them the same), or on v1, whose older fills come from ``/activity``,
    the oldest fill the polls stored: the span above it is ``/trades``' own, and re-reading it
    from a route whose prices are derived apart could store fills twice."""
    assert known.trades_watermark is not None
    if not client.history_from_activity:
        return known.trades_watermark
    with reading(engine) as connection:
        oldest = history_store.oldest_stored_fill_at(connection, known.wallet)
    return known.trades_watermark if oldest is None else min(oldest, known.trades_watermark)


def _read_history(engine: Engine, wallet: str) -> WalletHistory | None:
    with reading(engine) as connection:
        return history_store.wallet_history(connection, wallet)


def _write_first_at(engine: Engine, wallet: str, first: int | None) -> None:
    with engine.begin() as connection:
        history_store.record_first_at(connection, wallet, first)
