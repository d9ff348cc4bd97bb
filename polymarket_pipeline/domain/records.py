"""Normalized, typed records: the one shape every API version is parsed into.

The v1 (camelCase) and v2 (snake_case) Data API payloads, CLOB and Gamma all end up here, so
everything downstream (reconciliation, writes, tests) is independent of the wire format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

Side = Literal["BUY", "SELL"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fill:
    """One row of the trade tape for one wallet (a taker or maker leg of a settlement)."""

    wallet_address: str
    side: Side
    asset: str
    condition_id: str
    size: float
    price: float
    timestamp: int
    """Block timestamp, epoch seconds (UTC)."""
    transaction_hash: str
    title: str | None = None
    slug: str | None = None
    event_slug: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None

    @property
    def natural_key(self) -> str:
        """The fill's identity: two fills differing in any of these fields are two rows."""
        return "|".join(
            (
                self.wallet_address,
                self.transaction_hash.lower(),
                self.asset,
                self.side,
                repr(float(self.size)),
                repr(float(self.price)),
                str(self.timestamp),
            )
        )

    def trade_id(self, occurrence: int = 0) -> str:
        """Stable id derived from the natural key.

        ``occurrence`` numbers exact repeats of the same key inside one response (the API has no
        per-fill id, and two genuine fills can be identical), so they are kept, not collapsed.
        """
        key = self.natural_key if occurrence == 0 else f"{self.natural_key}#{occurrence}"
        return hashlib.sha256(key.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Position:
    """A wallet's current holding of one outcome token."""

    wallet_address: str
    asset: str
    condition_id: str
    size: float
    avg_price: float | None = None
    cur_price: float | None = None
    current_value: float | None = None
    initial_value: float | None = None
    cash_pnl: float | None = None
    """Unrealized PnL (v1 ``cashPnl``, v2 ``unrealized_pnl``)."""
    realized_pnl: float | None = None
    total_bought: float | None = None
    redeemable: bool = False
    mergeable: bool = False
    title: str | None = None
    slug: str | None = None
    event_slug: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None
    end_date: date | None = None
    negative_risk: bool | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """One on-chain activity row (TRADE, REDEEM, SPLIT, MERGE, ...)."""

    wallet_address: str
    type: str
    timestamp: int
    condition_id: str | None
    transaction_hash: str
    size: float | None = None
    usdc_size: float | None = None
    price: float | None = None
    asset: str | None = None
    side: str | None = None
    outcome: str | None = None
    outcome_index: int | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class PortfolioValue:
    """Total value of a wallet's open positions (``/value``)."""

    wallet_address: str
    value: float | None


@dataclass(frozen=True, slots=True)
class MarketToken:
    token_id: str
    outcome: str | None
    price: float | None = None
    winner: bool = False


@dataclass(frozen=True, slots=True)
class MarketResolution:
    """CLOB ``/markets/{condition_id}``: the source of truth for resolution.

    A resolved market keeps ``active`` true; resolution is ``closed`` plus a winning token.
    """

    condition_id: str
    closed: bool
    active: bool | None = None
    question: str | None = None
    tags: tuple[str, ...] = ()
    tokens: tuple[MarketToken, ...] = ()

    @property
    def winner_asset(self) -> str | None:
        return next((t.token_id for t in self.tokens if t.winner), None)

    @property
    def resolved(self) -> bool:
        return self.closed and self.winner_asset is not None


@dataclass(frozen=True, slots=True)
class MarketMetadata:
    """Gamma ``/markets`` row: titles, category, tags and outcomes for display."""

    condition_id: str
    question: str | None = None
    slug: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    outcome_prices: tuple[float, ...] = ()
    clob_token_ids: tuple[str, ...] = ()
    active: bool | None = None
    closed: bool | None = None
    uma_resolution_status: str | None = None
    end_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paged route, with what is needed to ask for the next one."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None
    has_more: bool = False
