"""The hot path: fills of followed wallets land within seconds, at O(1) requests per idle cycle.

One cycle reads the global trade feed since the last cursor (one request when nothing happened),
stores the hot wallets' fills straight from it, and then polls only the wallets that appeared
(trades since their watermark, positions). Correctness never rests on the feed alone: every hot
wallet is also re-verified per wallet on a slower cadence, and a feed gap (more new fills than
the page budget) is reported so the caller can poll every hot wallet (``hot_wallets_job``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import state, wallets
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.domain.fills import KeyedFill
from polymarket_pipeline.domain.records import Fill
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import fill_days, label_and_key, utcnow

FEED_OVERLAP_SECONDS = 30
"""The feed is re-read this far back: fills indexed late still show up, and upserts dedupe them."""


@dataclass(frozen=True, slots=True)
class HotSettings:
    cycle_seconds: float = 1.0
    window_seconds: float = 3.5
    reverify_interval: timedelta = timedelta(minutes=2)
    max_reverify_per_cycle: int = 4
    feed_max_pages: int = 5
    feed_overlap_seconds: int = FEED_OVERLAP_SECONDS


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """Newest feed timestamp seen (epoch s); None before the first cycle."""

    newest: int | None = None

    def dumps(self) -> str:
        return json.dumps({"newest": self.newest})

    @classmethod
    def loads(cls, raw: str | None) -> FeedCursor:
        if not raw:
            return cls()
        try:
            value = json.loads(raw).get("newest")
        except (ValueError, AttributeError):
            return cls()
        return cls(int(value) if isinstance(value, int | float) else None)


@dataclass(slots=True)
class HotCycleStats:
    cycles: int = 0
    feed_fills: int = 0
    feed_trades_inserted: int = 0
    feed_gaps: int = 0
    triggered_wallets: int = 0
    reverified_wallets: int = 0
    duration_seconds: float = 0.0
    sweep: SweepStats = field(default_factory=SweepStats)
    wallets_touched: set[str] = field(default_factory=set)
    """Wallets whose rows this tick wrote (the scope of the checks the sensor attaches)."""

    @property
    def trades_inserted(self) -> int:
        return self.feed_trades_inserted + self.sweep.trades_inserted

    def as_metadata(self) -> dict[str, Any]:
        return {
            **self.sweep.as_metadata(),
            "duration_seconds": round(self.duration_seconds, 3),
            "cycles": self.cycles,
            "feed_fills": self.feed_fills,
            "feed_trades_inserted": self.feed_trades_inserted,
            "trades_inserted": self.trades_inserted,
            "feed_gaps": self.feed_gaps,
            "triggered_wallets": self.triggered_wallets,
            "reverified_wallets": self.reverified_wallets,
        }


class HotPoller:
    """Runs hot cycles against one client and database; keeps the feed cursor between cycles."""

    def __init__(
        self,
        client: PolymarketClient,
        engine: Engine,
        *,
        settings: HotSettings = HotSettings(),
        cursor: FeedCursor = FeedCursor(),
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._client = client
        self._engine = engine
        self._settings = settings
        self.cursor = cursor
        self._now = now
        self._markets = MarketDirectory(client, engine, now=now)
        self.gap_detected = False
        """Set when the feed had more new fills than the page budget: every hot wallet is suspect."""

    async def run_window(self, stats: HotCycleStats | None = None) -> HotCycleStats:
        """Cycle every ``cycle_seconds`` until ``window_seconds`` have passed (one sensor tick)."""
        stats = stats or HotCycleStats()
        began = time.monotonic()
        deadline = began + self._settings.window_seconds
        try:
            while True:
                started = time.monotonic()
                if not await self.cycle(stats):
                    return stats  # no hot wallets: nothing to wait for
                next_start = started + self._settings.cycle_seconds
                if next_start >= deadline:
                    return stats
                await asyncio.sleep(max(0.0, next_start - time.monotonic()))
        finally:
            stats.duration_seconds += time.monotonic() - began

    async def cycle(self, stats: HotCycleStats) -> bool:
        """One feed read plus the polls it calls for; False when there is no hot wallet."""
        hot = set(await asyncio.to_thread(self._hot_wallets))
        if not hot:
            return False
        stats.cycles += 1
        triggered, gap = await self._read_feed(hot, stats)
        self.gap_detected = self.gap_detected or gap
        due = await asyncio.to_thread(self._due_for_reverify, sorted(hot))
        due = [w for w in due if w not in triggered]
        stats.triggered_wallets += len(triggered)
        stats.reverified_wallets += len(due)
        to_poll = [*sorted(triggered), *due]
        stats.wallets_touched.update(to_poll)
        if to_poll:
            stats.sweep.merge(
                await sweep(
                    self._client,
                    self._engine,
                    to_poll,
                    options=SweepOptions(),
                    markets=self._markets,
                    now=self._now,
                )
            )
        return True

    async def _read_feed(self, hot: set[str], stats: HotCycleStats) -> tuple[set[str], bool]:
        """Store hot wallets' new fills from the feed; returns the wallets that had some, and a gap flag."""
        newest = self.cursor.newest
        if newest is None:
            since = int(self._now().timestamp()) - self._settings.feed_overlap_seconds
        else:
            since = newest - self._settings.feed_overlap_seconds
        page = await self._client.fetch_trade_feed(since=since, max_pages=self._settings.feed_max_pages)
        stats.feed_fills += len(page.fills)
        if page.fills:
            # never past now: a row dated ahead of the clock must not hide the fills that follow it
            latest = min(max(f.timestamp for f in page.fills), int(self._now().timestamp()))
            self.cursor = FeedCursor(max(newest or 0, latest))
        elif newest is None:
            self.cursor = FeedCursor(since + self._settings.feed_overlap_seconds)
        if not page.reached_since:
            stats.feed_gaps += 1
        by_wallet: dict[str, list[Fill]] = defaultdict(list)
        for fill in _complete_seconds(page.fills, since=since, reached_since=page.reached_since):
            if fill.wallet_address in hot:
                by_wallet[fill.wallet_address].append(fill)
        if not by_wallet:
            return set(), not page.reached_since
        keyed = {w: await label_and_key(self._markets, fills) for w, fills in by_wallet.items()}
        inserted = await asyncio.to_thread(self._store_feed_fills, keyed)
        stats.feed_trades_inserted += sum(inserted.values())
        for wallet, wallet_fills in keyed.items():
            if inserted.get(wallet):
                stats.sweep.days.update(fill_days(wallet_fills))
        stats.wallets_touched.update(w for w, n in inserted.items() if n)
        return {w for w, n in inserted.items() if n}, not page.reached_since

    def _store_feed_fills(self, keyed: dict[str, list[KeyedFill]]) -> dict[str, int]:
        at = self._now()
        with self._engine.begin() as connection:
            return {w: upsert_trades(connection, fills, at) for w, fills in keyed.items()}

    def _hot_wallets(self) -> list[str]:
        with reading(self._engine) as connection:
            return wallets.hot_wallets(connection)

    def _due_for_reverify(self, hot: Sequence[str]) -> list[str]:
        """The stalest hot wallets past the re-verify interval, a few per cycle."""
        with reading(self._engine) as connection:
            due = state.polled_before(connection, hot, self._now() - self._settings.reverify_interval)
        return [wallet for wallet, _ in due[: self._settings.max_reverify_per_cycle]]


def _complete_seconds(fills: Sequence[Fill], *, since: int, reached_since: bool) -> list[Fill]:
    """Fills whose whole second was read (a page can end half-way through its oldest second).

    Only complete seconds are keyed from the feed, so identical fills get the same occurrence
    numbers as in the per-wallet poll that later re-reads them.
    """
    if reached_since:
        return [f for f in fills if f.timestamp >= since]
    if not fills:
        return []
    oldest = min(f.timestamp for f in fills)
    return [f for f in fills if f.timestamp > oldest]
