"""A sweep: poll many wallets concurrently, isolating each wallet's failures.

Concurrency is bounded twice: by the client's token bucket (the request rate) and by the number of
wallets in flight (memory), so a 10,000-wallet sweep runs at the rate limit in bounded memory.
A stop request (SIGTERM) lets the wallets in hand finish and starts no new one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.wallet_poll import (
    DEFAULT_OVERLAP_SECONDS,
    TradesResult,
    backfill_trades,
    poll_trades,
    reconcile_positions,
    record_failure,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_WALLETS_IN_FLIGHT = 32
MAX_LISTED_FAILURES = 50


@dataclass(slots=True)
class SweepStats:
    """What a sweep did, reported as run metadata and in the run summary."""

    wallets_total: int = 0
    wallets_polled: int = 0
    wallets_failed: int = 0
    wallets_skipped: int = 0
    fills_fetched: int = 0
    trades_inserted: int = 0
    incomplete_histories: int = 0
    stale_snapshots: int = 0
    events: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    duration_seconds: float = 0.0
    stopped_early: bool = False

    def as_metadata(self) -> dict[str, Any]:
        return {
            "wallets_total": self.wallets_total,
            "wallets_polled": self.wallets_polled,
            "wallets_failed": self.wallets_failed,
            "wallets_skipped": self.wallets_skipped,
            "fills_fetched": self.fills_fetched,
            "trades_inserted": self.trades_inserted,
            "positions_opened": self.events["opened"],
            "positions_increased": self.events["increased"],
            "positions_decreased": self.events["decreased"],
            "positions_closed": self.events["closed"],
            "closed_manual_close": self.closes["manual_close"],
            "closed_market_closed": self.closes["market_closed"],
            "closed_redeemed": self.closes["redeemed"],
            "incomplete_histories": self.incomplete_histories,
            "stale_snapshots": self.stale_snapshots,
            "duration_seconds": round(self.duration_seconds, 3),
            "stopped_early": self.stopped_early,
        }

    def add_trades(self, result: TradesResult) -> None:
        self.fills_fetched += result.fetched
        self.trades_inserted += result.inserted
        self.incomplete_histories += 0 if result.complete else 1

    def merge(self, other: SweepStats) -> None:
        for name in (
            "wallets_total",
            "wallets_polled",
            "wallets_failed",
            "wallets_skipped",
            "fills_fetched",
            "trades_inserted",
            "incomplete_histories",
            "stale_snapshots",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.events.update(other.events)
        self.closes.update(other.closes)
        for wallet, error in other.failures.items():
            if len(self.failures) < MAX_LISTED_FAILURES:
                self.failures[wallet] = error
        self.stopped_early = self.stopped_early or other.stopped_early


@dataclass(frozen=True, slots=True)
class SweepOptions:
    trades: bool = True
    positions: bool = True
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS
    wallets_in_flight: int = DEFAULT_WALLETS_IN_FLIGHT
    backfill_window: tuple[int, int] | None = None
    """``(start, end)`` epoch seconds: fetch that window instead of polling since the watermark."""


async def sweep(
    client: PolymarketClient,
    engine: Engine,
    wallets: Iterable[str],
    *,
    options: SweepOptions = SweepOptions(),
    markets: MarketDirectory | None = None,
    stop: asyncio.Event | None = None,
    now: Callable[[], datetime] = utcnow,
) -> SweepStats:
    """Poll every wallet once (trades, then positions); one wallet's failure never stops the others."""
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

    workers = [
        asyncio.create_task(worker()) for _ in range(max(1, min(options.wallets_in_flight, len(queue))))
    ]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        stats.duration_seconds = time.monotonic() - started
    return stats


async def _poll_one(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    wallet: str,
    options: SweepOptions,
    stats: SweepStats,
    now: Callable[[], datetime],
) -> None:
    try:
        if options.backfill_window is not None:
            start, end = options.backfill_window
            stats.add_trades(await backfill_trades(client, engine, wallet, start=start, end=end, now=now))
        if options.trades:
            stats.add_trades(
                await poll_trades(client, engine, wallet, overlap_seconds=options.overlap_seconds, now=now)
            )
        if options.positions:
            positions = await reconcile_positions(client, engine, markets, wallet, now=now)
            stats.events.update(positions.events)
            stats.closes.update(positions.closes)
            stats.stale_snapshots += int(positions.stale)
        stats.wallets_polled += 1
    except PolymarketError as exc:
        # Network faults and bad payloads are normal operation: note them on the wallet, move on.
        message = str(exc)
        stats.wallets_failed += 1
        if len(stats.failures) < MAX_LISTED_FAILURES:
            stats.failures[wallet] = message
        log.warning("wallet %s failed: %s", wallet, message)
        await asyncio.to_thread(record_failure, engine, wallet, message, now())
