"""A sweep: poll many wallets concurrently, isolating each wallet's failures.

Concurrency is bounded twice: by the client's token bucket (the request rate) and by the number of
wallets in flight (memory), so a 10,000-wallet sweep runs at the rate limit in bounded memory.
Anything that goes wrong with one wallet — a network fault, a hostile payload, a database error
on its rows — fails that wallet only; a dropped database connection retries it. A stop request
(SIGTERM) lets the wallets in hand finish and starts no new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.api.text import escape
from polymarket_pipeline.db import history as history_store
from polymarket_pipeline.db.engine import connection_dropped, database_unreachable, reading
from polymarket_pipeline.db.history import HistorySummary
from polymarket_pipeline.domain.counts import merge_counts
from polymarket_pipeline.domain.history import backfill_budget
from polymarket_pipeline.sync.fills import utcnow
from polymarket_pipeline.sync.history import HistoryOptions, HistoryStats, continue_histories
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.wallet_poll import (
    DEFAULT_OVERLAP_SECONDS,
    PollPlan,
    WalletResult,
    poll_wallet,
    record_failure,
)

log = logging.getLogger(__name__)

DEFAULT_WALLETS_IN_FLIGHT = 32
MAX_LISTED_FAILURES = 50
DEFAULT_MAX_FAILURE_SHARE = 0.05
"""A sweep where more than this share of its wallets failed is reported as partial (a WARN check)."""
CONNECTION_ATTEMPTS = 3
"""A wallet whose database connection dropped mid-write is tried this many times in all."""
DATABASE_DOWN_AFTER = 3
"""This many wallets in a row failing to reach the database means the database, not the wallets,
is the problem: the sweep stops instead of spending the API budget on rows it cannot write."""

MESSAGE_LIMIT = 500
"""A wallet's failure message (metadata, logs, ``last_error``) is one escaped line of this length."""

Outcome = Literal["succeeded", "partial", "failed", "empty"]


@dataclass(slots=True)
class SweepStats:
    """What a sweep did, reported as run metadata and in the run summary."""

    wallets_total: int = 0
    wallets_polled: int = 0
    wallets_failed: int = 0
    wallets_skipped: int = 0
    wallets_verified: int = 0
    """Wallets whose trades and activity were re-read (the rest had an unchanged snapshot)."""
    fills_fetched: int = 0
    trades_inserted: int = 0
    activity_fetched: int = 0
    activity_inserted: int = 0
    incomplete_histories: int = 0
    incomplete_snapshots: int = 0
    stale_snapshots: int = 0
    rows_rejected: int = 0
    events: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    days: Counter[str] = field(default_factory=Counter)
    """Fills stored per UTC day."""
    failures: dict[str, str] = field(default_factory=dict)
    duration_seconds: float = 0.0
    stopped_early: bool = False
    database_error: str | None = None
    """Set when the sweep stopped because the application database was unreachable."""
    regular_requests: int = 0
    """Data API requests of the regular polls (the base of the history phase's share)."""
    history: HistoryStats = field(default_factory=HistoryStats)
    """What the history phase (older fills and activity of incomplete wallets) did."""
    histories: HistorySummary | None = None
    """Incomplete histories among the sweep's wallets once it ended."""
    _database_failures_in_a_row: int = 0

    @property
    def failure_share(self) -> float:
        attempted = self.wallets_polled + self.wallets_failed
        return self.wallets_failed / attempted if attempted else 0.0

    def outcome(self, max_failure_share: float = DEFAULT_MAX_FAILURE_SHARE) -> Outcome:
        """``failed`` when no wallet could be polled; ``partial`` past the failure budget (of the
        polls, or of the history steps)."""
        if self.wallets_polled == 0:
            return "failed" if self.wallets_failed else "empty"
        if self.failure_share > max_failure_share or self.stopped_early:
            return "partial"
        if self.history.failure_share > max_failure_share:
            return "partial"  # the polls succeeded but older history is not being read
        return "succeeded"

    def as_metadata(self) -> dict[str, Any]:
        return {
            "wallets_total": self.wallets_total,
            "wallets_polled": self.wallets_polled,
            "wallets_failed": self.wallets_failed,
            "wallets_skipped": self.wallets_skipped,
            "wallets_verified": self.wallets_verified,
            "failure_share": round(self.failure_share, 4),
            "fills_fetched": self.fills_fetched,
            "trades_inserted": self.trades_inserted,
            "activity_fetched": self.activity_fetched,
            "activity_inserted": self.activity_inserted,
            "positions_opened": self.events["opened"],
            "positions_increased": self.events["increased"],
            "positions_decreased": self.events["decreased"],
            "positions_closed": self.events["closed"],
            "closed_manual_close": self.closes["manual_close"],
            "closed_market_closed": self.closes["market_closed"],
            "closed_redeemed": self.closes["redeemed"],
            "closed_merged": self.closes["merged"],
            "closed_converted": self.closes["converted"],
            "incomplete_histories": self.incomplete_histories,
            "incomplete_snapshots": self.incomplete_snapshots,
            "stale_snapshots": self.stale_snapshots,
            "rows_rejected": self.rows_rejected,
            "duration_seconds": round(self.duration_seconds, 3),
            "stopped_early": self.stopped_early,
            **self.history_metadata(),
        }

    def history_metadata(self) -> dict[str, Any]:
        """The history phase and what is still to read (``history_*``)."""
        h = self.history
        out: dict[str, Any] = {
            "history_budget_pages": h.budget_pages,
            "history_pages": h.pages,
            "history_fills_fetched": h.fills_fetched,
            "history_fills_inserted": h.trades_inserted,
            "history_activity_inserted": h.activity_inserted,
            "history_wallets_completed": h.completed,
            "history_steps_stalled": h.stalled,
            "history_steps_failed": len(h.failures),
        }
        if self.histories is not None:
            estimate = self.histories.fills_to_read_estimate
            out["wallets_history_incomplete"] = self.histories.wallets
            out["history_fills_to_read_estimate"] = -1 if estimate is None else estimate
        return out

    def add(self, result: WalletResult) -> None:
        self.wallets_polled += 1
        self.wallets_verified += int(result.verified)
        self.fills_fetched += result.fills_fetched
        self.trades_inserted += result.trades_inserted
        self.activity_fetched += result.activity_fetched
        self.activity_inserted += result.activity_inserted
        self.incomplete_histories += 0 if result.trades_complete else 1
        self.incomplete_snapshots += 0 if result.snapshot_complete else 1
        self.stale_snapshots += int(result.stale)
        self.rows_rejected += result.rows_rejected
        self.events.update(result.events)
        self.closes.update(result.closes)
        self.days.update(result.days)

    def fail(self, wallet: str, message: str) -> None:
        self.wallets_failed += 1
        if len(self.failures) < MAX_LISTED_FAILURES:
            self.failures[wallet] = message

    def merge(self, other: SweepStats) -> None:
        """Add another sweep's counts (a shard's, a hot cycle's), field by field (``domain.counts``)."""
        merge_counts(self, other, caps={"failures": MAX_LISTED_FAILURES})


@dataclass(frozen=True, slots=True)
class SweepOptions:
    plan: PollPlan = field(default_factory=PollPlan)
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS
    wallets_in_flight: int = DEFAULT_WALLETS_IN_FLIGHT
    backfill_window: tuple[int, int] | None = None
    """``(start, end)`` epoch seconds: fetch that window's fills instead of polling since the watermark."""
    history: HistoryOptions | None = None
    """After the polls, walk incomplete histories backwards within this share of the budget."""


def describe_failure(exc: Exception) -> str:
    """One safe line naming what broke: the API route and field, or the database, or the bug."""
    if isinstance(exc, PolymarketError):
        return escape(exc, MESSAGE_LIMIT)
    if isinstance(exc, SQLAlchemyError):
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return escape(f"database: {type(exc).__name__}: {detail[0] if detail else ''}", MESSAGE_LIMIT)
    return escape(f"{type(exc).__name__}: {exc}", MESSAGE_LIMIT)


async def sweep(
    client: PolymarketClient,
    engine: Any,
    wallets: Iterable[str],
    *,
    options: SweepOptions = SweepOptions(),
    markets: MarketDirectory | None = None,
    stop: asyncio.Event | None = None,
    now: Callable[[], datetime] = utcnow,
) -> SweepStats:
    """Poll every wallet once; one wallet's failure never stops the others."""
    started = time.monotonic()
    stats = SweepStats()
    markets = markets or MarketDirectory(client, engine, now=now)
    stop = stop or asyncio.Event()
    queue = list(wallets)
    stats.wallets_total = len(queue)
    pending = iter(queue)

    async def worker() -> None:
        for wallet in pending:
            if stop.is_set():
                stats.wallets_skipped += 1
                stats.stopped_early = True
                continue
            await _poll_one(client, engine, markets, wallet, options, stats, now)
            if stats.database_error is not None:
                stop.set()

    workers = [
        asyncio.create_task(worker()) for _ in range(max(1, min(options.wallets_in_flight, len(queue))))
    ]
    requests_before = client.stats.requests
    try:
        await asyncio.gather(*workers)
        stats.regular_requests = client.stats.requests - requests_before
        if options.history is not None and not stop.is_set():
            await _history_phase(client, engine, markets, options.history, stats, stop, now)
    finally:
        for task in workers:
            task.cancel()
        stats.duration_seconds = time.monotonic() - started
    return stats


async def _history_phase(
    client: PolymarketClient,
    engine: Any,
    markets: MarketDirectory,
    options: HistoryOptions,
    stats: SweepStats,
    stop: asyncio.Event,
    now: Callable[[], datetime],
) -> None:
    """Older history of incomplete wallets, inside ``options.share`` of the sweep's requests.

    The polls already done stay stored whatever happens here. The database going away stops the
    phase and fails the sweep like it would mid-poll (``database_error``); the history figures
    say what was done up to then.
    """
    budget = backfill_budget(stats.regular_requests, share=options.share, min_pages=options.min_pages)
    try:
        await continue_histories(
            client, engine, markets, budget, options=options, stop=stop, now=now, stats=stats.history
        )
        with reading(engine) as connection:
            stats.histories = history_store.summary(connection, shard=options.shard)
    except SQLAlchemyError as exc:
        message = describe_failure(exc)
        log.warning("history phase stopped: %s", message)
        if database_unreachable(exc):
            stats.database_error = message
    finally:
        stats.days.update(stats.history.days)


async def _poll_one(
    client: PolymarketClient,
    engine: Any,
    markets: MarketDirectory,
    wallet: str,
    options: SweepOptions,
    stats: SweepStats,
    now: Callable[[], datetime],
) -> None:
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(connection_dropped),
            stop=stop_after_attempt(CONNECTION_ATTEMPTS),
            wait=wait_exponential(multiplier=0.5, max=5),
            reraise=True,
        ):
            with attempt:
                result = await poll_wallet(
                    client,
                    engine,
                    markets,
                    wallet,
                    options.plan,
                    overlap_seconds=options.overlap_seconds,
                    window=options.backfill_window,
                    now=now,
                )
        stats.add(result)
        stats._database_failures_in_a_row = 0
    except Exception as exc:  # containment: any failure is this wallet's alone
        message = describe_failure(exc)
        stats.fail(wallet, message)
        if database_unreachable(exc):
            stats._database_failures_in_a_row += 1
            if stats._database_failures_in_a_row >= DATABASE_DOWN_AFTER:
                stats.database_error = message
                log.error("stopping the sweep: the application database is unreachable (%s)", message)
                return
        log.warning("wallet %s failed: %s", wallet, message)
        if not isinstance(exc, PolymarketError):
            log.debug("wallet %s failure details", wallet, exc_info=exc)
        try:
            await asyncio.to_thread(record_failure, engine, wallet, message, now())
        except SQLAlchemyError as db_exc:
            log.warning("wallet %s: could not record the failure: %s", wallet, describe_failure(db_exc))
