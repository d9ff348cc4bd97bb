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

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.api.text import escape
from polymarket_pipeline.db import activity as activity_store
from polymarket_pipeline.db import history as history_store
from polymarket_pipeline.db.engine import reading
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


class _Pages:
    """The phase's page budget, shared by its workers: taken before a step, unspent pages returned."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, most: int) -> int:
        pages = min(most, self.left)
        self.left -= pages
        return pages

    def give_back(self, pages: int) -> None:
        self.left += max(0, pages)


async def continue_histories(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    budget_pages: int,
    *,
    options: HistoryOptions = HistoryOptions(),
    stop: asyncio.Event | None = None,
    now: Callable[[], datetime] = utcnow,
) -> HistoryStats:
    """Walk incomplete histories backwards until ``budget_pages`` are spent or none is left."""
    stats = HistoryStats(budget_pages=budget_pages)
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
    try:
        current: WalletHistory | None = known
        while current is not None and _walkable(current) and not stop.is_set():
            if current.first_at is None and _cut_before(current):
                await _find_first_activity(client, engine, current.wallet, pages, stats)
            reserved = pages.take(per_step)
            if reserved <= 0:
                return
            used, moved = await _step(client, engine, markets, current, reserved, stats, now)
            pages.give_back(reserved - used)
            stats.pages += used
            stats.steps += 1
            if not moved:
                stats.stalled += 1
                return
            current = await asyncio.to_thread(_read_history, engine, known.wallet)
        if current is not None and current.complete:
            stats.completed += 1
    except Exception as exc:  # containment: a failed step is this wallet's alone, retried next sweep
        detail = exc if isinstance(exc, PolymarketError) else f"{type(exc).__name__}: {exc}"
        message = escape(detail, MESSAGE_LIMIT)
        stats.failures[known.wallet] = message
        log.warning("wallet %s: history step failed (retried next sweep): %s", known.wallet, message)


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
        end = known.trades.frontier if known.trades.frontier is not None else known.trades_watermark
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
        return result.pages, result.activity_fetched > 0
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
    """One request, from the budget, for where the wallet's history starts."""
    if pages.take(1) < 1:
        return
    first = await client.fetch_first_activity_at(wallet)
    stats.pages += 1
    await asyncio.to_thread(_write_first_at, engine, wallet, first)


def _read_history(engine: Engine, wallet: str) -> WalletHistory | None:
    with reading(engine) as connection:
        return history_store.wallet_history(connection, wallet)


def _write_first_at(engine: Engine, wallet: str, first: int | None) -> None:
    with engine.begin() as connection:
        history_store.record_first_at(connection, wallet, first)
