"""A wallet's performance on top of the ledger replay: totals, wins, ROI, drawdown, daily roll-up,
and how our figures compare with Polymarket's own.

Identities (``pnl.md``): ``trade_pnl = realized + unrealized`` (pre-fee), ``position_pnl =
trade_pnl - fees``, ``economic_pnl = position_pnl + income``. Wallet figures are sums of the
quantized :class:`~polymarket_pipeline.domain.pnl.PositionFigures`, so a wallet's row always
equals the sum of its stored position rows.

Unknown is never zero: a wallet's unrealized PnL is the sum over the open positions that have a
mark, flagged ``unrealized_complete=False`` when some have none; it is None (and so are
``trade_pnl``, ``position_pnl`` and ``economic_pnl``) only when no open position has a mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Literal

from polymarket_pipeline.domain.pnl import (
    LEDGER_CONTEXT,
    ZERO,
    Book,
    Holding,
    JournalEntry,
    PositionFigures,
    quantize_usdc,
    utc_day,
)

RATIO_QUANTUM = Decimal("0.0000000001")
"""Win rate and ROI: 10 decimals."""


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    with localcontext(LEDGER_CONTEXT):
        return (numerator / denominator).quantize(RATIO_QUANTUM, rounding=ROUND_HALF_EVEN)


def _plus(value: Decimal | None, other: Decimal) -> Decimal | None:
    return None if value is None else value + other


# --- unrealized ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnrealizedSum:
    """Unrealized PnL over several holdings, saying how much of it is known."""

    value: Decimal | None
    """Sum over the marked holdings; None when holdings exist and none is marked."""
    complete: bool
    """True when every holding with shares has a mark."""
    marked: int
    unmarked: int


def _unrealized_sum(values: Sequence[Decimal | None]) -> UnrealizedSum:
    known = [v for v in values if v is not None]
    unmarked = len(values) - len(known)
    value = quantize_usdc(sum(known, ZERO)) if known or not values else None
    return UnrealizedSum(value, unmarked == 0, len(known), unmarked)


def sum_unrealized(positions: Iterable[PositionFigures]) -> UnrealizedSum:
    """The wallet's unrealized PnL over its positions with shares left (closed ones add 0)."""
    return _unrealized_sum([p.unrealized_pnl for p in positions if p.shares > 0])


def unrealized_of_holdings(holdings: Mapping[str, Holding], marks: Mapping[str, Decimal]) -> UnrealizedSum:
    """Unrealized PnL of day-end holdings at that day's marks (``shares*mark - shares*avg``)."""
    with localcontext(LEDGER_CONTEXT):
        values = [
            None if asset not in marks else h.shares * marks[asset] - h.shares * h.avg_price
            for asset, h in sorted(holdings.items())
            if h.shares > 0
        ]
        return _unrealized_sum(values)


# --- wallet totals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletPerformance:
    """One ``trader_stats`` row (before the official comparison)."""

    realized_pnl: Decimal
    unrealized_pnl: Decimal | None
    unrealized_complete: bool
    trade_pnl: Decimal | None
    fees_usdc: Decimal
    position_pnl: Decimal | None
    income_usdc: Decimal
    economic_pnl: Decimal | None
    volume_usdc: Decimal
    """USDC notional of the fills (sum of size x price), not shares."""
    fills: int
    markets: int
    """Distinct conditions with a position."""
    wins: int
    losses: int
    win_rate: Decimal | None
    roi: Decimal | None
    max_drawdown_usdc: Decimal
    first_fill_at: int | None
    last_fill_at: int | None
    complete: bool
    incomplete_reason: str | None
    conversions: int
    ignored_types: Mapping[str, int]


def decided_pnl(position: PositionFigures) -> Decimal | None:
    """The PnL of a decided position (closed, or its market resolved); None while still open.

    A resolved-but-unredeemed position counts its resolution-marked unrealized PnL too: its
    outcome is known, the redeem only turns it into realized PnL.
    """
    if position.status == "closed":
        return position.realized_pnl
    if position.status == "resolved":
        return position.realized_pnl + (position.unrealized_pnl or ZERO)
    return None


def wallet_performance(
    book: Book,
    positions: Sequence[PositionFigures],
    position_pnl_curve: Sequence[tuple[date, Decimal | None]] = (),
) -> WalletPerformance:
    """Totals, wins and losses, win rate, ROI and drawdown of one wallet's positions.

    A decided position is won when its :func:`decided_pnl` is > 0, lost when < 0. ``roi`` is
    the decided positions' PnL over their buy cost (None when that is 0). ``max_drawdown_usdc``
    comes from ``position_pnl_curve``, the daily cumulative ``position_pnl`` (oldest first).
    """
    with localcontext(LEDGER_CONTEXT):
        realized = sum((p.realized_pnl for p in positions), ZERO)
        fees = sum((p.fees_usdc for p in positions), ZERO)
        unrealized = sum_unrealized(positions)
        income = quantize_usdc(book.income_usdc)
        trade = _plus(unrealized.value, realized)
        position_pnl = _plus(trade, -fees)
        decided = [(p, pnl) for p in positions if (pnl := decided_pnl(p)) is not None]
        wins = sum(1 for _, pnl in decided if pnl > 0)
        losses = sum(1 for _, pnl in decided if pnl < 0)
        decided_total = sum((pnl for _, pnl in decided), ZERO)
        decided_cost = sum((p.buy_cost for p, _ in decided), ZERO)
        first_fills = [p.first_fill_at for p in positions if p.first_fill_at is not None]
        last_fills = [p.last_fill_at for p in positions if p.last_fill_at is not None]
        return WalletPerformance(
            realized_pnl=realized,
            unrealized_pnl=unrealized.value,
            unrealized_complete=unrealized.complete,
            trade_pnl=trade,
            fees_usdc=fees,
            position_pnl=position_pnl,
            income_usdc=income,
            economic_pnl=_plus(position_pnl, income),
            volume_usdc=sum((p.volume_usdc for p in positions), ZERO),
            fills=sum(p.fills for p in positions),
            markets=len({p.condition_id for p in positions}),
            wins=wins,
            losses=losses,
            win_rate=_ratio(Decimal(wins), Decimal(wins + losses)),
            roi=_ratio(decided_total, decided_cost),
            max_drawdown_usdc=max_drawdown(position_pnl_curve),
            first_fill_at=min(first_fills, default=None),
            last_fill_at=max(last_fills, default=None),
            complete=book.complete,
            incomplete_reason=book.incomplete_reason,
            conversions=book.conversions,
            ignored_types=dict(book.ignored_types),
        )


def max_drawdown(curve: Sequence[tuple[date, Decimal | None]]) -> Decimal:
    """The largest fall from a running peak to a later point of the curve, as given (oldest first).

    Unknown (None) points are skipped; the first known point is the first peak (prepend a
    zero point to measure from the start of trading). 0 for a non-decreasing curve.
    """
    peak: Decimal | None = None
    worst = ZERO
    with localcontext(LEDGER_CONTEXT):
        for _, value in curve:
            if value is None:
                continue
            if peak is None or value > peak:
                peak = value
            worst = max(worst, peak - value)
    return worst


# --- daily roll-up ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CumulativeTotals:
    """Running totals to the end of a day (what ``wallet_pnl_daily`` stores cumulatively)."""

    realized_pnl: Decimal = ZERO
    fees_usdc: Decimal = ZERO
    income_usdc: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class DayRollup:
    """One UTC day: that day's deltas and the cumulative totals at its end."""

    day: date
    realized_delta: Decimal
    fees_delta: Decimal
    income_delta: Decimal
    volume_usdc: Decimal
    fills: int
    cumulative: CumulativeTotals


def daily_rollup(
    journal: Iterable[JournalEntry],
    prior: CumulativeTotals | None = None,
    days: Iterable[date] = (),
) -> list[DayRollup]:
    """Per-UTC-day deltas of a journal and cumulative totals continuing from ``prior``.

    Each day's deltas are quantized to 6 decimals before they are accumulated, so yesterday's
    stored totals plus today's journal give exactly what a full replay gives. ``days`` adds days
    without entries (their deltas are 0, the totals carry over).
    """
    buckets: dict[date, list[JournalEntry]] = {day: [] for day in days}
    for entry in journal:
        buckets.setdefault(utc_day(entry.timestamp), []).append(entry)
    totals = prior or CumulativeTotals()
    rollups = []
    with localcontext(LEDGER_CONTEXT):
        for day in sorted(buckets):
            entries = buckets[day]
            realized = quantize_usdc(sum((e.realized_delta for e in entries), ZERO))
            fees = quantize_usdc(sum((e.fee_usdc for e in entries), ZERO))
            income = quantize_usdc(sum((e.income_usdc for e in entries), ZERO))
            totals = CumulativeTotals(
                totals.realized_pnl + realized, totals.fees_usdc + fees, totals.income_usdc + income
            )
            rollups.append(
                DayRollup(
                    day=day,
                    realized_delta=realized,
                    fees_delta=fees,
                    income_delta=income,
                    volume_usdc=quantize_usdc(sum((e.notional_usdc for e in entries if e.is_fill), ZERO)),
                    fills=sum(1 for e in entries if e.is_fill),
                    cumulative=totals,
                )
            )
    return rollups


def holdings_at_day_end(
    journal: Iterable[JournalEntry], day: date, prior: Mapping[str, Holding] | None = None
) -> dict[str, Holding]:
    """Shares and avg per token at the end of a UTC day: ``prior`` (e.g. ``holdings_of(start book)``)
    updated by the journal's entries up to that day."""
    holdings = dict(prior or {})
    for entry in sorted(journal, key=lambda e: e.key):
        if utc_day(entry.timestamp) > day or entry.asset is None or entry.condition_id is None:
            continue
        if entry.shares_after is None or entry.avg_price_after is None:
            continue
        if entry.shares_after > 0:
            holdings[entry.asset] = Holding(entry.condition_id, entry.shares_after, entry.avg_price_after)
        else:
            holdings.pop(entry.asset, None)
    return holdings


@dataclass(frozen=True, slots=True)
class DailyWalletFigures:
    """One ``wallet_pnl_daily`` row: cumulative to the day's end, marked at that day's prices."""

    day: date
    realized_pnl: Decimal
    fees_usdc: Decimal
    income_usdc: Decimal
    unrealized_pnl: Decimal | None
    unrealized_complete: bool
    trade_pnl: Decimal | None
    position_pnl: Decimal | None
    economic_pnl: Decimal | None
    volume_usdc: Decimal
    """That day only."""
    fills: int
    """That day only."""


def daily_wallet_figures(rollup: DayRollup, unrealized: UnrealizedSum) -> DailyWalletFigures:
    """A day's roll-up and its day-end unrealized PnL as the stored identities."""
    totals = rollup.cumulative
    trade = _plus(unrealized.value, totals.realized_pnl)
    position = _plus(trade, -totals.fees_usdc)
    return DailyWalletFigures(
        day=rollup.day,
        realized_pnl=totals.realized_pnl,
        fees_usdc=totals.fees_usdc,
        income_usdc=totals.income_usdc,
        unrealized_pnl=unrealized.value,
        unrealized_complete=unrealized.complete,
        trade_pnl=trade,
        position_pnl=position,
        economic_pnl=_plus(position, totals.income_usdc),
        volume_usdc=rollup.volume_usdc,
        fills=rollup.fills,
    )


# --- comparison with Polymarket --------------------------------------------------------------

TOLERANCE_FLOOR_USDC = Decimal(10)
TOLERANCE_SHARE = Decimal("0.01")
AVG_PRICE_TOLERANCE = Decimal("0.00005")
"""v1 rounds ``avgPrice`` to 4 decimals: half a unit of the 4th decimal."""
POSITION_REALIZED_FLOOR_USDC = Decimal("0.01")
POSITION_REALIZED_SHARE = Decimal("0.0001")
FEE_MATCH_FLOOR_USDC = Decimal(1)
FEE_MATCH_SHARE = Decimal("0.1")

LikelyCause = Literal["ledger_incomplete", "fees", "conversions", "marks", "unknown"]


@dataclass(frozen=True, slots=True)
class OfficialPoint:
    """A ``/v2/user-pnl`` point; None means "not covered" (never 0)."""

    realized_pnl: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    position_pnl: Decimal | None = None
    fees_paid: Decimal | None = None
    wallet_income: Decimal | None = None
    trade_pnl: Decimal | None = None


def official_tolerance(official: Decimal) -> Decimal:
    """max($10, 1 % of |official|)."""
    return max(TOLERANCE_FLOOR_USDC, TOLERANCE_SHARE * abs(official))


@dataclass(frozen=True, slots=True)
class OfficialVerdict:
    """How our wallet figures compare with an official point (deltas are ours minus theirs)."""

    realized_delta: Decimal | None
    realized_agrees: bool | None
    position_delta: Decimal | None
    position_agrees: bool | None
    agrees: bool | None
    """Every compared figure within tolerance; None when the point covers neither figure."""
    complete: bool
    likely_cause: LikelyCause | None
    """Why they disagree (None when they agree or nothing was compared)."""


def _delta(ours: Decimal | None, official: Decimal | None) -> tuple[Decimal | None, bool | None]:
    if ours is None or official is None:
        return None, None
    delta = ours - official
    return delta, abs(delta) <= official_tolerance(official)


def _looks_like(delta: Decimal, amount: Decimal | None) -> bool:
    """|delta| is about ``amount``: within max($1, 10 % of it)."""
    if amount is None or amount == 0:
        return False
    amount = abs(amount)
    return abs(abs(delta) - amount) <= max(FEE_MATCH_FLOOR_USDC, FEE_MATCH_SHARE * amount)


def compare_with_official(
    official: OfficialPoint,
    *,
    realized_pnl: Decimal | None,
    position_pnl: Decimal | None,
    fees_usdc: Decimal,
    complete: bool,
    conversions: int = 0,
) -> OfficialVerdict:
    """Verdict on our realized and position PnL against an official point.

    The likely cause of a disagreement, first rule that applies: our ledger is incomplete
    (``ledger_incomplete``); a failing delta is about our fees or the official ``fees_paid``
    (``fees``); the wallet made conversions (``conversions``); realized agrees but position
    PnL does not (``marks``); else ``unknown``.
    """
    with localcontext(LEDGER_CONTEXT):
        realized_delta, realized_agrees = _delta(realized_pnl, official.realized_pnl)
        position_delta, position_agrees = _delta(position_pnl, official.position_pnl)
        compared = [a for a in (realized_agrees, position_agrees) if a is not None]
        agrees = all(compared) if compared else None
        cause: LikelyCause | None = None
        if agrees is False:
            failing = [
                d
                for d, a in ((position_delta, position_agrees), (realized_delta, realized_agrees))
                if a is False and d is not None
            ]
            if not complete:
                cause = "ledger_incomplete"
            elif any(_looks_like(d, fees_usdc) or _looks_like(d, official.fees_paid) for d in failing):
                cause = "fees"
            elif conversions > 0:
                cause = "conversions"
            elif realized_agrees is True and position_agrees is False:
                cause = "marks"
            else:
                cause = "unknown"
        return OfficialVerdict(
            realized_delta, realized_agrees, position_delta, position_agrees, agrees, complete, cause
        )


def compare_wallet(ours: WalletPerformance, official: OfficialPoint) -> OfficialVerdict:
    """:func:`compare_with_official` with a wallet's performance.

    Polymarket's ``realized_pnl`` is net of fees (its ``position_pnl = realized + unrealized`` is
    the net figure, and ``trade_pnl = position_pnl + fees``), while ours is pre-fee, as the
    positions' are: ours is compared less the fees paid.
    """
    with localcontext(LEDGER_CONTEXT):
        realized_net = ours.realized_pnl - ours.fees_usdc
    return compare_with_official(
        official,
        realized_pnl=realized_net,
        position_pnl=ours.position_pnl,
        fees_usdc=ours.fees_usdc,
        complete=ours.complete,
        conversions=ours.conversions,
    )


@dataclass(frozen=True, slots=True)
class PositionComparison:
    """Our position against the API's own ``avg_price`` and ``realized_pnl`` (ours minus theirs)."""

    avg_price_delta: Decimal | None
    avg_price_agrees: bool | None
    realized_delta: Decimal | None
    realized_agrees: bool | None


def compare_position(
    ours: PositionFigures, api_avg_price: Decimal | None, api_realized_pnl: Decimal | None
) -> PositionComparison:
    """avg within +-5e-5 (v1's 4-decimal rounding); realized within max($0.01, 1e-4 x buy cost)."""
    with localcontext(LEDGER_CONTEXT):
        avg_delta = None if api_avg_price is None else ours.avg_price - api_avg_price
        realized_delta = None if api_realized_pnl is None else ours.realized_pnl - api_realized_pnl
        realized_tolerance = max(POSITION_REALIZED_FLOOR_USDC, POSITION_REALIZED_SHARE * ours.buy_cost)
        return PositionComparison(
            avg_price_delta=avg_delta,
            avg_price_agrees=None if avg_delta is None else abs(avg_delta) <= AVG_PRICE_TOLERANCE,
            realized_delta=realized_delta,
            realized_agrees=None if realized_delta is None else abs(realized_delta) <= realized_tolerance,
        )


@dataclass(frozen=True, slots=True)
class AgreementCounts:
    """Agreement with Polymarket over wallets; only complete ledgers are compared."""

    compared: int
    """Complete ledgers whose official point covered a figure."""
    agreeing: int
    disagreeing: int
    incomplete_excluded: int
    """Incomplete ledgers with a covered figure: never counted as agreeing (nor disagreeing)."""
    not_covered: int
    """Verdicts where the official point covered neither figure."""

    @property
    def share(self) -> Decimal | None:
        """agreeing / compared; None when nothing was compared."""
        return _ratio(Decimal(self.agreeing), Decimal(self.compared))


def agreement_counts(verdicts: Iterable[OfficialVerdict]) -> AgreementCounts:
    compared = agreeing = incomplete = not_covered = 0
    for verdict in verdicts:
        if verdict.agrees is None:
            not_covered += 1
        elif not verdict.complete:
            incomplete += 1
        else:
            compared += 1
            agreeing += verdict.agrees
    return AgreementCounts(compared, agreeing, compared - agreeing, incomplete, not_covered)
