"""The hot path, feed first: every registered wallet's fills land within seconds, at a cost that
does not grow with the number of hot wallets.

One cycle reads the global trade feed since the last cursor (one request when nothing happened;
every request carries a moving bound, so no edge cache can serve an old page) and stores the
fills of every registered wallet straight from it, hot or cold. Hot wallets that traded get
their positions refreshed at once. Correctness never rests on the feed alone: a trickle at a
fixed request rate re-reads the stalest hot wallet's positions (and, when they changed or its
verification is due, its trades and activity); cold wallets get the same from the hourly
sweep; and a feed gap (more new fills than the page budget) is reported so the caller can poll
every hot wallet (``hot_wallets_job``).
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
from polymarket_pipeline.domain.counts import merge_counts
from polymarket_pipeline.domain.fills import KeyedFill
from polymarket_pipeline.domain.records import Fill
from polymarket_pipeline.sync.fills import fill_days, label_and_key, utcnow
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.sweep import MAX_LISTED_FAILURES, SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan

FEED_OVERLAP_SECONDS = 5
"""The feed is re-read this far back, so fills indexed a few seconds late still show up (upserts
dedupe them). Kept short: the live tape carries ~100 rows/s, so 5 s + a 1.25 s cycle stay within one
1,000-row page; a fill indexed later than that changes a position, and the wallet's next
per-wallet read (with its own, longer overlap) stores it."""


@dataclass(frozen=True, slots=True)
class HotSettings:
    cycle_seconds: float = 1.25
    """Four cycles evenly over the daemon's 5 s loop (at 0, 1.25, 2.5, 3.75 s), so no fill waits
    more than ~1.25 s for a feed read; 1 s cycles in a 3.5 s window left a 2 s gap between ticks."""
    window_seconds: float = 3.8
    verify_rate: float = 0.5
    """Hot wallets re-read per second by the trickle, whatever their number (the idle cost)."""
    verify_every: timedelta = timedelta(hours=12)
    """A wallet's trades and activity are re-read at least this often even if nothing changed."""
    feed_max_pages: int = 5
    """5 pages of 1,000 rows per cycle: 50x the ~100 rows/s the live tape carries."""
    feed_overlap_seconds: int = FEED_OVERLAP_SECONDS
    registry_refresh_seconds: float = 30.0
    """How stale the in-memory set of registered wallets may get (new wallets join within this)."""
    max_new_per_cycle: int = 4
    """Newly followed wallets get their first full poll (whole history) at this pace, outside the
    trickle: a one-off cost per wallet, not part of the idle cost."""
    wallet_cooldown_seconds: float = 1.0
    """Two hot fetches of one wallet and route start at least this far apart (the cold tier's is
    ``ClientSettings.wallet_cooldown_seconds``)."""
    report_seconds: float = 30.0
    """The sensor records what its ticks wrote at most this often (rows are written at once)."""


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
    feed_wallets: int = 0
    """Registered wallets (hot or cold) whose new fills the feed stored."""
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

    def merge(self, other: HotCycleStats) -> None:
        """Add another tick's counts (the sensor reports several ticks at once), field by field."""
        merge_counts(self, other, caps={"failures": MAX_LISTED_FAILURES})

    def as_metadata(self) -> dict[str, Any]:
        return {
            **self.sweep.as_metadata(),
            "duration_seconds": round(self.duration_seconds, 3),
            "cycles": self.cycles,
            "feed_fills": self.feed_fills,
            "feed_wallets": self.feed_wallets,
            "feed_trades_inserted": self.feed_trades_inserted,
            "trades_inserted": self.trades_inserted,
            "feed_gaps": self.feed_gaps,
            "triggered_wallets": self.triggered_wallets,
            "reverified_wallets": self.reverified_wallets,
        }


@dataclass(frozen=True, slots=True)
class Registry:
    """The registered wallets, as the feed filter needs them (refreshed every few seconds)."""

    active: frozenset[str]
    hot: frozenset[str]
    loaded_at: float


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
        self._registry: Registry | None = None
        self._credit = 0.0
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
                    return stats  # no registered wallets: nothing to wait for
                next_start = started + self._settings.cycle_seconds
                if next_start >= deadline:
                    return stats
                await asyncio.sleep(max(0.0, next_start - time.monotonic()))
        finally:
            stats.duration_seconds += time.monotonic() - began

    async def cycle(self, stats: HotCycleStats) -> bool:
        """One feed read plus the polls it calls for; False when no wallet is registered."""
        registry = await self._current_registry()
        if not registry.active:
            return False
        stats.cycles += 1
        triggered, gap = await self._read_feed(registry, stats)
        self.gap_detected = self.gap_detected or gap
        due = await self._trickle(registry, exclude=triggered)
        stats.triggered_wallets += len(triggered)
        stats.reverified_wallets += len(due)
        stats.wallets_touched.update([*triggered, *due])
        # Wallets that just traded: their fills are stored; their positions follow at once.
        if triggered:
            await self._poll(sorted(triggered), PollPlan(trades=False, activity=False), stats)
        if due:
            await self._poll(due, PollPlan(verify_every=self._settings.verify_every), stats)
        return True

    async def _poll(self, wallets_: list[str], plan: PollPlan, stats: HotCycleStats) -> None:
        options = SweepOptions(plan=plan)
        stats.sweep.merge(
            await sweep(
                self._client, self._engine, wallets_, options=options, markets=self._markets, now=self._now
            )
        )

    async def _trickle(self, registry: Registry, exclude: set[str]) -> list[str]:
        """Never-polled hot wallets first (a few per cycle), then the stalest ones this cycle's share
        of ``verify_rate`` pays for."""
        if not registry.hot:
            return []
        settings = self._settings
        self._credit = min(
            self._credit + settings.verify_rate * settings.cycle_seconds,
            max(1.0, settings.verify_rate * settings.window_seconds),
        )
        count = int(self._credit)
        wanted = count + settings.max_new_per_cycle + len(exclude)
        stalest = [(w, t) for w, t in await asyncio.to_thread(self._stalest_hot, wanted) if w not in exclude]
        new = [w for w, polled in stalest if polled is None][: settings.max_new_per_cycle]
        known = [w for w, polled in stalest if polled is not None][:count]
        self._credit -= len(known)
        return [*new, *known]

    async def _current_registry(self) -> Registry:
        current = self._registry
        if current is None or time.monotonic() - current.loaded_at >= self._settings.registry_refresh_seconds:
            current = await asyncio.to_thread(self._load_registry)
            self._registry = current
        return current

    def _load_registry(self) -> Registry:
        with reading(self._engine) as connection:
            return Registry(
                frozenset(wallets.active_wallets(connection)),
                frozenset(wallets.hot_wallets(connection)),
                time.monotonic(),
            )

    async def _read_feed(self, registry: Registry, stats: HotCycleStats) -> tuple[set[str], bool]:
        """Store every registered wallet's new fills from the feed.

        Returns the hot wallets that had new fills, and whether the feed had a gap.
        """
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
            if fill.wallet_address in registry.active:
                by_wallet[fill.wallet_address].append(fill)
        if not by_wallet:
            return set(), not page.reached_since
        keyed = {w: await label_and_key(self._markets, fills) for w, fills in by_wallet.items()}
        inserted = await asyncio.to_thread(self._store_feed_fills, keyed)
        stats.feed_trades_inserted += sum(inserted.values())
        fresh = {w for w, n in inserted.items() if n}
        stats.feed_wallets += len(fresh)
        for wallet in fresh:
            stats.sweep.days.update(fill_days(keyed[wallet]))
        stats.wallets_touched.update(fresh)
        return fresh & registry.hot, not page.reached_since

    def _store_feed_fills(self, keyed: dict[str, list[KeyedFill]]) -> dict[str, int]:
        at = self._now()
        with self._engine.begin() as connection:
            return {w: upsert_trades(connection, fills, at) for w, fills in keyed.items()}

    def _stalest_hot(self, limit: int) -> list[tuple[str, datetime | None]]:
        with reading(self._engine) as connection:
            return state.stalest_hot(connection, limit)


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
