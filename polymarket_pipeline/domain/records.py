"""Normalized, typed records: the one shape every API version is parsed into.

The v1 (camelCase) and v2 (snake_case) Data API payloads, CLOB and Gamma all end up here, so
everything downstream (reconciliation, writes, tests) is independent of the wire format.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
    """None when unknown: the unscoped feed sends 999 ("could not be labeled"), parsed as None."""

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

        ``occurrence`` numbers exact repeats of the same key inside one page (the API has no
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

    @property
    def natural_key(self) -> str:
        """A position's identity: one per wallet and token (a row served on two pages is one)."""
        return f"{self.wallet_address}|{self.asset}"


@dataclass(frozen=True, slots=True)
class Activity:
    """One on-chain activity row (TRADE, REDEEM, SPLIT, MERGE, CONVERSION, REWARD, rebates, ...).

    Empty strings on the wire are None here: reward and rebate rows have no ``condition_id`` and
    no ``asset``; neg-risk REDEEMs have no ``asset``; ``outcome_index`` 999 is None.
    """

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
    slug: str | None = None
    event_slug: str | None = None

    @property
    def natural_key(self) -> str:
        """The row's identity; several REDEEMs of one transaction differ in market, asset or size."""
        return "|".join(
            (
                self.wallet_address,
                self.type,
                self.transaction_hash.lower(),
                self.condition_id or "",
                self.asset or "",
                self.side or "",
                _number_key(self.size),
                _number_key(self.usdc_size),
                _number_key(self.price),
                str(self.timestamp),
            )
        )

    def activity_id(self, occurrence: int = 0) -> str:
        """Stable id from the natural key; ``occurrence`` numbers exact repeats within one page."""
        key = self.natural_key if occurrence == 0 else f"{self.natural_key}#{occurrence}"
        return hashlib.sha256(key.encode()).hexdigest()[:40]


def _number_key(value: float | None) -> str:
    return "" if value is None else repr(float(value))


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


RESOLVED_PRICE = 0.99
"""A closed market's token priced at or above this (and every other at or below 1 - it) won."""


def settled_winner(token_ids: Sequence[str], prices: Sequence[float | None]) -> str | None:
    """The token priced ~1 while every other is priced ~0 (a settled market); else None."""
    if len(token_ids) < 2 or len(token_ids) != len(prices):
        return None
    winners = [t for t, p in zip(token_ids, prices, strict=True) if p is not None and p >= RESOLVED_PRICE]
    losers = [p for p in prices if p is not None and p <= 1 - RESOLVED_PRICE]
    if len(winners) == 1 and len(losers) == len(prices) - 1:
        return winners[0]
    return None


@dataclass(frozen=True, slots=True)
class MarketResolution:
    """CLOB ``/markets/{condition_id}``: resolution state and the token list.

    A resolved market keeps ``active`` true. Many closed markets (2022-23) carry no ``winner``
    flag although their token prices are 1/0, so the winner is the flagged token, else the token
    priced 1 when every other is priced 0. Tokens with an empty id are dropped by the parser.
    """

    condition_id: str
    closed: bool
    active: bool | None = None
    question: str | None = None
    tags: tuple[str, ...] = ()
    tokens: tuple[MarketToken, ...] = ()

    @property
    def winner_asset(self) -> str | None:
        flagged = next((t.token_id for t in self.tokens if t.winner), None)
        if flagged is not None or not self.closed:
            return flagged
        return settled_winner([t.token_id for t in self.tokens], [t.price for t in self.tokens])

    @property
    def resolved(self) -> bool:
        return self.closed and self.winner_asset is not None


@dataclass(frozen=True, slots=True)
class MarketMetadata:
    """Gamma ``/markets`` row: titles, classification and outcomes, plus Gamma's resolution view.

    ``category`` is the market's own (empty on most current markets); ``event_category`` and
    ``event_tags`` come from its events; ``tags`` are the market's tag labels.
    """

    condition_id: str
    question: str | None = None
    slug: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    event_category: str | None = None
    event_tags: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()
    outcome_prices: tuple[float, ...] = ()
    clob_token_ids: tuple[str, ...] = ()
    active: bool | None = None
    closed: bool | None = None
    uma_resolution_status: str | None = None
    end_date: datetime | None = None
    neg_risk: bool | None = None
    """Gamma's ``negRisk`` (the market's, else its event's); None when not given."""
    event_id: str | None = None
    """The id of the market's (first) Gamma event: a neg-risk event's markets share it."""
    closed_time: datetime | None = None
    """Gamma's ``closedTime``: when the market closed (resolved), when given."""

    @property
    def winner_asset(self) -> str | None:
        """Gamma's view: closed, not disputed or pending, and one token priced 1 against 0s."""
        if not self.closed:
            return None
        status = (self.uma_resolution_status or "").strip().lower()
        if status and status != "resolved":
            return None
        return settled_winner(self.clob_token_ids, self.outcome_prices)

    def outcome_of(self, asset: str) -> tuple[int, str | None] | None:
        """(outcome index, outcome label) of one of this market's tokens, from its token list."""
        if asset not in self.clob_token_ids:
            return None
        index = self.clob_token_ids.index(asset)
        return index, self.outcomes[index] if index < len(self.outcomes) else None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paged route, with what is needed to ask for the next one."""

    items: list[T] = field(default_factory=list)
    next_cursor: str | None = None
    has_more: bool = False


@dataclass(frozen=True, slots=True)
class OfficialPnlPoint:
    """One point of Polymarket's own PnL series (``/v2/user-pnl``): cumulative figures at ``timestamp``.

    Amounts are USDC (``volume`` is shares). None means the API does not cover the figure, never
    zero. ``position_pnl = realized_pnl + unrealized_pnl`` is net of fees; ``trade_pnl`` is pre-fee
    (``position_pnl - realized_lp_pnl + fees charged - fees refunded``); ``fees`` and ``fees_paid``
    are negative. Kept as sent: a check compares them with a replay, it does not repair them.
    """

    timestamp: int
    source_block: int | None = None
    realized_market_pnl: float | None = None
    realized_lp_pnl: float | None = None
    realized_combo_pnl: float | None = None
    realized_pnl: float | None = None
    unrealized_pnl: float | None = None
    position_pnl: float | None = None
    wallet_income: float | None = None
    economic_pnl: float | None = None
    settled_pnl: float | None = None
    trade_pnl: float | None = None
    fees: float | None = None
    fees_paid: float | None = None
    fees_refunded: float | None = None
    maker_rebate: float | None = None
    taker_rebate: float | None = None
    reward_income: float | None = None
    yield_income: float | None = None
    referral_income: float | None = None
    sponsored_income: float | None = None
    deposits: float | None = None
    withdrawals: float | None = None
    cashflow_net: float | None = None
    volume: float | None = None
    volume_usdc: float | None = None
    trade_count: int | None = None


@dataclass(frozen=True, slots=True)
class OfficialPnlSeries:
    """Polymarket's PnL series of one wallet, oldest point first (the last one is "now")."""

    wallet_address: str
    interval: str
    fidelity: str
    source_fidelity: str | None = None
    """What the points really are (``1d``: daily, whatever grid was asked for)."""
    points: tuple[OfficialPnlPoint, ...] = ()
    rejected: int = 0
    """Points dropped at validation (a broken field, out of order): a series with any is partial."""

    @property
    def complete(self) -> bool:
        return self.rejected == 0

    @property
    def latest(self) -> OfficialPnlPoint | None:
        """The newest point (None when the API covers nothing for this wallet)."""
        return self.points[-1] if self.points else None
