"""The Data API, one adapter per version, chosen once from ``ClientSettings.data_api_version``.

An adapter owns everything its version does differently: route names and parameters, the
paging walk (v1 offsets, v2 cursors), and the wire spellings of its rows. Both return the same
records and results, so nothing past ``api/`` knows which version answered. Retiring v1 means
deleting ``data/v1.py`` and its line in ``data_api`` (and ``"v1"`` from the settings' type).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from polymarket_pipeline.api.results import ActivityHistory, FeedPage, PositionSnapshot, TradeHistory
    from polymarket_pipeline.api.transport import Transport
    from polymarket_pipeline.domain.records import PortfolioValue

Clock = Callable[[], float]
"""Epoch seconds (``time.time``): moving ``end`` bounds and timestamp checks read it."""


class DataApi(Protocol):
    """What the client needs from a Data API version."""

    version: str
    walks_activity_forward: bool
    """True when activity walks run oldest first, so a walk that stops early leaves no gap."""
    history_from_activity: bool
    """True when ``trades_before`` reads ``/activity`` TRADE rows (another route than the polls':
    its prices are derived separately, so it is not asked to re-read what the polls stored)."""

    async def wallet_trades(
        self, wallet: str, *, start: int | None, end: int | None, max_pages: int | None = None
    ) -> TradeHistory: ...

    async def trades_before(self, wallet: str, *, end: int, max_pages: int) -> TradeHistory: ...

    async def trade_feed(self, *, since: int, max_pages: int) -> FeedPage: ...

    async def positions(self, wallet: str) -> PositionSnapshot: ...

    async def closed_positions(self, wallet: str) -> PositionSnapshot: ...

    async def activity(
        self,
        wallet: str,
        *,
        types: Sequence[str],
        start: int | None,
        end: int | None,
        max_pages: int | None = None,
    ) -> ActivityHistory: ...

    async def activity_before(self, wallet: str, *, end: int, max_pages: int) -> ActivityHistory | None: ...

    async def first_activity_at(self, wallet: str) -> int | None: ...

    async def value(self, wallet: str) -> tuple[PortfolioValue, Any]: ...


def data_api(version: str, transport: Transport, clock: Clock) -> DataApi:
    """The adapter of ``version`` (``ClientSettings`` has already checked it is one we speak)."""
    from polymarket_pipeline.api.data import v1, v2  # the adapters import this module's protocol

    adapters: dict[str, Callable[[Transport, Clock], DataApi]] = {
        "v1": v1.Adapter,  # legacy offsets: delete this line and data/v1.py to retire
        "v2": v2.Adapter,
    }
    try:
        make = adapters[version]
    except KeyError:
        raise ValueError(f"unknown Data API version {version!r}; known: {', '.join(adapters)}") from None
    return make(transport, clock)
