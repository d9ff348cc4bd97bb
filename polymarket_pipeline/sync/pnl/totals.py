"""Running sums over a wallet's position rows (``trader_stats`` without reading them all), today's
counts per token, the running drawdown of the daily curve, and the shared constants."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from typing import Any

from polymarket_pipeline.db.pnl import ApiPosition
from polymarket_pipeline.domain.performance import WalletPerformance, _ratio, decided_pnl
from polymarket_pipeline.domain.pnl import (
    HISTORY_INCOMPLETE,
    LEDGER_CONTEXT,
    SHARE_MOVING_KINDS,
    ZERO,
    Book,
    PositionFigures,
    join_reasons,
    quantize_usdc,
)

LIVE = "live"
DAY_END = "day_end"
LAST_TRADE = "last_trade"
BATCH_WALLETS = 200
"""Wallets per read-compute-write round (one write transaction each)."""
BATCH_EVENTS = 200_000
"""...or fewer, when their ledgers reach this many events (whole-wallet replays)."""
MAX_LISTED = 100
"""Disagreements listed in a run's report (all are counted)."""
REPLAYED_KINDS = SHARE_MOVING_KINDS | {"FEE"}
"""What a condition replay reads again from the database (income stays in the book)."""


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- running sums over a wallet's position rows ----------------------------------------------------


def _d(value: Any) -> Decimal:
    return Decimal(value) if value is not None else ZERO


@dataclass(slots=True)
class TokenDay:
    """A token's fills and USDC notional on one UTC day (today's, for the live daily row)."""

    day: str | None = None
    volume: Decimal = ZERO
    fills: int = 0

    def to_list(self) -> list[Any] | None:
        return None if self.day is None else [self.day, str(self.volume), self.fills]

    @classmethod
    def from_list(cls, value: Sequence[Any] | None) -> TokenDay:
        return cls() if not value else cls(str(value[0]), Decimal(value[1]), int(value[2]))

    def on(self, day: str) -> TokenDay:
        return self if self.day == day else TokenDay(day)


@dataclass(slots=True)
class Totals:
    """Exact sums over a wallet's position rows: ``trader_stats`` without reading them all."""

    realized: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO
    unrealized_known: Decimal = ZERO
    decided_pnl: Decimal = ZERO
    decided_cost: Decimal = ZERO
    fills: int = 0
    positions: int = 0
    open: int = 0
    marked: int = 0
    unmarked: int = 0
    wins: int = 0
    losses: int = 0
    markets: int = 0
    first_fill: int | None = None
    last_fill: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    """Token-level incomplete reasons, counted over the positions carrying them."""
    day: str | None = None
    day_volume: Decimal = ZERO
    day_fills: int = 0

    def apply(self, p: PositionFigures, flags: Iterable[str], token_day: TokenDay, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) one position row's contribution."""
        with localcontext(LEDGER_CONTEXT):
            self.realized += sign * p.realized_pnl
            self.fees += sign * p.fees_usdc
            self.volume += sign * p.volume_usdc
            self.fills += sign * p.fills
            self.positions += sign
            if p.shares > 0:
                self.open += sign
                if p.unrealized_pnl is None:
                    self.unmarked += sign
                else:
                    self.marked += sign
                    self.unrealized_known += sign * p.unrealized_pnl
            decided = decided_pnl(p)
            if decided is not None:
                self.decided_pnl += sign * decided
                self.decided_cost += sign * p.buy_cost
                if decided > 0:
                    self.wins += sign
                elif decided < 0:
                    self.losses += sign
            for flag in flags:
                count = self.reasons.get(flag, 0) + sign
                if count:
                    self.reasons[flag] = count
                else:
                    self.reasons.pop(flag, None)
            if sign > 0:
                if p.first_fill_at is not None:
                    self.first_fill = min(self.first_fill or p.first_fill_at, p.first_fill_at)
                if p.last_fill_at is not None:
                    self.last_fill = max(self.last_fill or p.last_fill_at, p.last_fill_at)
            if token_day.day is not None and token_day.day == self.day:
                self.day_volume += sign * token_day.volume
                self.day_fills += sign * token_day.fills

    def start_day(self, day: str) -> None:
        if self.day != day:
            self.day, self.day_volume, self.day_fills = day, ZERO, 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "realized": str(self.realized),
            "fees": str(self.fees),
            "volume": str(self.volume),
            "unrealized_known": str(self.unrealized_known),
            "decided_pnl": str(self.decided_pnl),
            "decided_cost": str(self.decided_cost),
            "fills": self.fills,
            "positions": self.positions,
            "open": self.open,
            "marked": self.marked,
            "unmarked": self.unmarked,
            "wins": self.wins,
            "losses": self.losses,
            "markets": self.markets,
            "first_fill": self.first_fill,
            "last_fill": self.last_fill,
            "reasons": dict(sorted(self.reasons.items())),
            "day": self.day,
            "day_volume": str(self.day_volume),
            "day_fills": self.day_fills,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Totals:
        return cls(
            realized=_d(data.get("realized")),
            fees=_d(data.get("fees")),
            volume=_d(data.get("volume")),
            unrealized_known=_d(data.get("unrealized_known")),
            decided_pnl=_d(data.get("decided_pnl")),
            decided_cost=_d(data.get("decided_cost")),
            fills=int(data.get("fills", 0)),
            positions=int(data.get("positions", 0)),
            open=int(data.get("open", 0)),
            marked=int(data.get("marked", 0)),
            unmarked=int(data.get("unmarked", 0)),
            wins=int(data.get("wins", 0)),
            losses=int(data.get("losses", 0)),
            markets=int(data.get("markets", 0)),
            first_fill=data.get("first_fill"),
            last_fill=data.get("last_fill"),
            reasons={k: int(v) for k, v in (data.get("reasons") or {}).items()},
            day=data.get("day"),
            day_volume=_d(data.get("day_volume")),
            day_fills=int(data.get("day_fills", 0)),
        )


def performance_of(
    totals: Totals, book: Book, *, history_complete: bool, max_drawdown: Decimal
) -> WalletPerformance:
    """``domain.performance.wallet_performance`` from the running sums (the same figures, exactly)."""
    with localcontext(LEDGER_CONTEXT):
        unrealized = totals.unrealized_known if totals.marked > 0 or totals.open == 0 else None
        trade = None if unrealized is None else totals.realized + unrealized
        position = None if trade is None else trade - totals.fees
        income = quantize_usdc(book.income_usdc)
        reasons = set(book.flags) | {r for r, n in totals.reasons.items() if n > 0}
        if not (history_complete and book.history_complete):
            reasons.add(HISTORY_INCOMPLETE)
        return WalletPerformance(
            realized_pnl=totals.realized,
            unrealized_pnl=unrealized,
            unrealized_complete=totals.unmarked == 0,
            trade_pnl=trade,
            fees_usdc=totals.fees,
            position_pnl=position,
            income_usdc=income,
            economic_pnl=None if position is None else position + income,
            volume_usdc=totals.volume,
            fills=totals.fills,
            markets=totals.markets,
            wins=totals.wins,
            losses=totals.losses,
            win_rate=_ratio(Decimal(totals.wins), Decimal(totals.wins + totals.losses)),
            roi=_ratio(totals.decided_pnl, totals.decided_cost),
            max_drawdown_usdc=max_drawdown,
            first_fill_at=totals.first_fill,
            last_fill_at=totals.last_fill,
            complete=not reasons,
            incomplete_reason=join_reasons(reasons),
            conversions=book.conversions,
            ignored_types=dict(book.ignored_types),
        )


@dataclass(frozen=True, slots=True)
class PositionDisagreement:
    """A position whose figures differ from the API's own (ours minus theirs)."""

    wallet: str
    asset: str
    condition_id: str
    avg_price_delta: Decimal | None
    realized_delta: Decimal | None
    complete: bool


def api_prices(api: Mapping[str, ApiPosition]) -> dict[str, Decimal]:
    return {a: p.cur_price for a, p in api.items() if p.cur_price is not None}


@dataclass(slots=True)
class Drawdown:
    through: date | None
    peak: Decimal
    worst: Decimal

    def extend(self, curve: Iterable[tuple[date, Decimal | None]], through: date) -> None:
        with localcontext(LEDGER_CONTEXT):
            for _, value in curve:
                if value is None:
                    continue
                self.peak = max(self.peak, value)
                self.worst = max(self.worst, self.peak - value)
        self.through = through

    def now(self, today_value: Decimal | None) -> Decimal:
        """The curve's drawdown with today's point (from zero before the first day)."""
        if today_value is None:
            return self.worst
        with localcontext(LEDGER_CONTEXT):
            return max(self.worst, self.peak - today_value)


def at(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)
