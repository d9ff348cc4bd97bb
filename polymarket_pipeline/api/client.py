"""The Polymarket client: one facade over the Data API (v2 default, v1 legacy), CLOB and Gamma.

Every public method returns normalized records from ``domain.records``, never raw dicts, so the
pipeline does not care which API version answered. The version's adapter (``api.data``) is
chosen once, from ``ClientSettings.data_api_version``; the HTTP side (``api.transport``: rate
limit, cooldown, retries, bounded reads) is shared by all of them. All requests of a client
share one token bucket and one concurrency bound, so a sweep of many wallets (run with
``asyncio.gather``) goes as fast as the rate limit allows rather than one round trip at a time.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any

import httpx

from polymarket_pipeline.api import clob, gamma
from polymarket_pipeline.api.data import Clock, DataApi, data_api
from polymarket_pipeline.api.data.pnl import fetch_user_pnl
from polymarket_pipeline.api.errors import PayloadError, PolymarketError
from polymarket_pipeline.api.ratelimit import Limiter, RateLimiter, WalletCooldown
from polymarket_pipeline.api.results import ActivityHistory, FeedPage, PositionSnapshot, TradeHistory
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.transport import Transport
from polymarket_pipeline.domain.addresses import normalize_address
from polymarket_pipeline.domain.records import (
    Activity,
    MarketMetadata,
    MarketResolution,
    OfficialPnlSeries,
    PortfolioValue,
    Position,
)


class IncompleteSnapshotError(PayloadError):
    """A positions snapshot could not be read whole (a rejected row, a cap, a page limit).

    Raised by the list-returning :meth:`PolymarketClient.fetch_positions` and
    :meth:`~PolymarketClient.fetch_positions_raw`, whose callers cannot tell a partial list from
    a whole one (a missing position would be recorded as a close). Use
    :meth:`~PolymarketClient.fetch_position_snapshot` to get the partial snapshot and decide.
    """

    def __init__(self, snapshot: PositionSnapshot, *, route: str, wallet: str) -> None:
        super().__init__(
            f"positions snapshot incomplete ({snapshot.incomplete_reason}); refusing to return it as whole",
            route=route,
            wallet=wallet,
        )
        self.snapshot = snapshot


class PolymarketClient:
    """Async client for Polymarket's public HTTP APIs; use as ``async with PolymarketClient(s) as c``.

    ``limiter`` and ``cooldown`` may be shared by several clients (and outlive them), so hot and
    cold sweeps, or successive sensor ticks, respect one budget. ``transport`` is for tests.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        stats: ApiStats | None = None,
        limiter: Limiter | None = None,
        cooldown: WalletCooldown | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats if stats is not None else ApiStats()
        self._transport = Transport(
            settings,
            stats=self.stats,
            limiter=limiter if limiter is not None else RateLimiter(settings.rate_limit, settings.burst),
            cooldown=(cooldown if cooldown is not None else WalletCooldown(settings.wallet_cooldown_seconds)),
            transport=transport,
        )
        self.clock: Clock = time.time
        """Epoch seconds for moving ``end`` bounds and timestamp checks; tests pin it."""
        self._data: DataApi = data_api(settings.data_api_version, self._transport, lambda: self.clock())

    # --- what tests and callers may adjust ------------------------------------------------------

    @property
    def limiter(self) -> Limiter:
        return self._transport.limiter

    @property
    def cooldown(self) -> WalletCooldown:
        return self._transport.cooldown

    @cooldown.setter
    def cooldown(self, value: WalletCooldown) -> None:
        self._transport.cooldown = value

    @property
    def _sleep(self) -> Callable[[float], Awaitable[None]]:
        """How retries wait; tests swap it to observe the waits without spending them."""
        return self._transport.sleep

    @_sleep.setter
    def _sleep(self, value: Callable[[float], Awaitable[None]]) -> None:
        self._transport.sleep = value

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> PolymarketClient:
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        await self._transport.aclose()

    # --- trades --------------------------------------------------------------------------------

    async def fetch_wallet_trades(
        self, wallet: str, *, start: int | None = None, end: int | None = None
    ) -> TradeHistory:
        """Every fill of ``wallet`` (taker and maker legs) with ``start <= timestamp <= end``, each once.

        ``start=None`` means the full history. ``complete`` is False when the walk stopped early
        (v1's offset cap, a repeated page or cursor, the page limit): older fills may be missing.
        """
        return await self._data.wallet_trades(wallet, start=start, end=end)

    async def fetch_trades_before(self, wallet: str, *, end: int, max_pages: int) -> TradeHistory:
        """Fills at or before ``end`` (inclusive), newest first, from at most ``max_pages`` pages.

        One step of a history read backwards: ``complete`` means the wallet's first fill was
        reached; otherwise ``oldest_timestamp`` is where the next step goes on (re-read whole).
        v2 walks ``/v2/trades``; v1, whose ``/trades`` stops at its offset cap, walks
        ``/activity`` TRADE rows.
        """
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        return await self._data.trades_before(wallet, end=end, max_pages=max_pages)

    async def fetch_activity_before(self, wallet: str, *, end: int, max_pages: int) -> ActivityHistory | None:
        """Activity at or before ``end``, newest first (v2); None where the version's activity
        walks run oldest first and so never leave older rows behind (v1)."""
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        return await self._data.activity_before(wallet, end=end, max_pages=max_pages)

    @property
    def history_from_activity(self) -> bool:
        """Older fills come from another route than the polls' (v1: ``/activity`` TRADE rows)."""
        return self._data.history_from_activity

    @property
    def activity_walks_forward(self) -> bool:
        return self._data.walks_activity_forward

    async def fetch_first_activity_at(self, wallet: str) -> int | None:
        """The second of the wallet's oldest activity row (one request): where its history starts."""
        return await self._data.first_activity_at(wallet)

    async def fetch_trade_feed(self, *, since: int, max_pages: int = 5) -> FeedPage:
        """The global trade tape (all wallets, both legs), newest first, back to ``since``.

        Unscoped feed rows carry ``outcome_index`` 999 and empty event slugs: they read as None.
        """
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        return await self._data.trade_feed(since=since, max_pages=max_pages)

    # --- positions, activity, value ------------------------------------------------------------

    async def fetch_position_snapshot(self, wallet: str) -> PositionSnapshot:
        """Open positions of ``wallet`` above the dust floor, all pages, with the bodies received.

        ``complete`` is False when the walk stopped early or a row was rejected: such a snapshot
        must not be diffed as whole (missing positions are not closes).
        """
        return await self._data.positions(wallet)

    async def fetch_closed_positions(self, wallet: str) -> PositionSnapshot:
        """Positions of ``wallet`` with no shares left (size 0), with Polymarket's own ``avg_price``,
        ``realized_pnl`` and ``total_bought``: v2 ``status=CLOSED``, v1 ``/closed-positions``."""
        return await self._data.closed_positions(wallet)

    async def fetch_positions(self, wallet: str) -> list[Position]:
        """Open positions of ``wallet``; raises ``IncompleteSnapshotError`` unless the snapshot is whole."""
        positions, _ = await self.fetch_positions_raw(wallet)
        return positions

    async def fetch_positions_raw(self, wallet: str) -> tuple[list[Position], list[Any]]:
        """Like :meth:`fetch_positions`, plus each page's decoded body as received (for audit)."""
        snapshot = await self.fetch_position_snapshot(wallet)
        if not snapshot.complete:
            route = "GET /v2/positions" if self._data.version == "v2" else "GET /positions"
            raise IncompleteSnapshotError(snapshot, route=route, wallet=normalize_address(wallet))
        return snapshot.positions, snapshot.bodies

    async def fetch_activity_history(
        self,
        wallet: str,
        *,
        types: Sequence[str] = (),
        start: int | None = None,
        end: int | None = None,
        max_pages: int | None = None,
    ) -> ActivityHistory:
        """Activity rows of ``wallet`` of the given ``types`` (every type when empty), newest first."""
        return await self._data.activity(wallet, types=types, start=start, end=end, max_pages=max_pages)

    async def fetch_activity(
        self,
        wallet: str,
        *,
        types: Sequence[str] = ("REDEEM",),
        start: int | None = None,
        end: int | None = None,
    ) -> list[Activity]:
        """Activity rows of ``wallet`` of the given ``types`` (all types when empty), newest first."""
        history = await self.fetch_activity_history(wallet, types=types, start=start, end=end)
        return history.items

    async def fetch_value(self, wallet: str) -> PortfolioValue:
        """Total value of ``wallet``'s open positions (None when the API does not say)."""
        value, _ = await self.fetch_value_raw(wallet)
        return value

    async def fetch_value_raw(self, wallet: str) -> tuple[PortfolioValue, Any]:
        """Like :meth:`fetch_value`, plus the decoded body as received."""
        return await self._data.value(wallet)

    # --- markets -------------------------------------------------------------------------------

    async def fetch_market_resolution(self, condition_id: str) -> MarketResolution | None:
        """CLOB's view of one market (``closed`` + winning token); None when unknown or unusable."""
        return await clob.fetch_market(self._transport, condition_id, int(self.clock()))

    async def fetch_event_markets(self, event_ids: Sequence[str]) -> list[MarketMetadata]:
        """Gamma metadata of every market of the given events (a neg-risk event's members)."""
        return await gamma.fetch_event_markets(self._transport, event_ids, int(self.clock()))

    async def fetch_market_metadata(self, condition_ids: Sequence[str]) -> list[MarketMetadata]:
        """Gamma metadata for the given markets, open or closed, in input order (unknown ids skipped)."""
        return await gamma.fetch_metadata(self._transport, condition_ids, int(self.clock()))

    # --- Polymarket's own PnL ------------------------------------------------------------------

    async def fetch_user_pnl(
        self, wallet: str, *, interval: str = "all", fidelity: str = "1d"
    ) -> OfficialPnlSeries:
        """Polymarket's cumulative PnL series of ``wallet`` (``/v2/user-pnl``), oldest point first.

        Always read from v2 on the Data API host, whatever ``data_api_version`` says: the route
        exists only in v2, so there is no version to choose. ``interval`` is one of max, all, 1m,
        1w, 1d, 12h, 6h; ``fidelity`` one of 1d, 18h, 12h, 3h, 1h (past points are daily anyway).
        """
        return await fetch_user_pnl(
            self._transport, wallet, interval=interval, fidelity=fidelity, now=int(self.clock())
        )


__all__ = [
    "ActivityHistory",
    "FeedPage",
    "IncompleteSnapshotError",
    "PolymarketClient",
    "PolymarketError",
    "PositionSnapshot",
    "TradeHistory",
]
