"""The official PnL series of ``/v2/user-pnl``, and the per-wallet ground truth behind it.

Both are computed from the wallet's own account (``accounting``) by the rules of
/work/shared/reference/pnl.md, in the shape of the live capture (dilettante-trading/polyoxide
``polyoxide-data/tests/fixtures/v2/user_pnl.json``): points oldest first, cumulative, every
amount a JSON number with at most 6 decimals, ``null`` where the simulator covers nothing.

- ``realized_market_pnl`` = the subgraph's (pre-fee) realized PnL of every token, minus every
  fee paid, so ``position_pnl = realized_pnl + unrealized_pnl`` is net of fees and
  ``trade_pnl = position_pnl - realized_lp_pnl + fees_charged - fees_refunded`` is pre-fee, as in
  the capture. There is no LP or combo trading here: those atoms are 0.
- ``unrealized_pnl`` = sum over held tokens of ``balance x (price - avg)``: what ``/v2/positions``
  serves (``current_value - entry_cost_usdc``), archived unredeemed positions included.
- ``wallet_income`` = maker + taker rebates + rewards (+ yield and referral, never paid here);
  ``sponsored_income`` is the reward part (equal to ``reward_income`` in the capture too).
- ``fees`` and ``fees_paid`` are negative (nothing is refunded); ``volume`` is shares of the
  wallet's fills, ``volume_usdc`` their size x price, ``trade_count`` their number.
- ``deposits``, ``withdrawals`` and ``cashflow_net`` are ``null``: the simulator moves no cash.

Historical points are UTC day ends (00:00), daily whatever the fidelity (``source_fidelity`` is
``1d``), each holding valued at its market's price at that moment: the last settlement before it
(every settlement marks its market's price history, ``SimMarket.price_before``), or the payout
once resolved. A day-end point counts the events strictly before it. The last point is "now",
valued at the prices ``/v2/positions`` serves. ``max`` and ``all`` both start at the wallet's first
event (the docs do not say how they differ); a wallet with no event has no point. Every atom is
rounded to 6 decimals before the sums are taken, so the identities hold exactly as printed.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from polymarket_pipeline.simulator.accounting import (
    MONEY,
    ZERO,
    Account,
    PnlState,
    dec,
    shares,
)
from polymarket_pipeline.simulator.config import DAY
from polymarket_pipeline.simulator.markets import MarketCatalogue, SimMarket
from polymarket_pipeline.simulator.positions import Book

INTERVAL_SECONDS: dict[str, int | None] = {
    "max": None,
    "all": None,
    "1m": 30 * DAY,
    "1w": 7 * DAY,
    "1d": DAY,
    "12h": 12 * 3600,
    "6h": 6 * 3600,
}
"""``interval`` values (docs) and how far back each reaches (None: the whole history)."""
FIDELITIES = ("1d", "18h", "12h", "3h", "1h")
SOURCE_FIDELITY = "1d"
"""What the historical points really are, whatever grid was asked for."""

BLOCK_ANCHOR = (1_788_825_600, 93_413_703)
"""(timestamp, Polygon block) of the capture's first point; its points are ~55,259 blocks apart a day."""
BLOCKS_PER_SECOND = (16, 25)
"""0.64 blocks a second (55,296 a day), as a fraction: ``source_block`` is derived from the time."""

_MICRO = Decimal("0.000001")
_TRUTH_PLACES = Decimal("1e-12")

PriceAt = Callable[[SimMarket, int], float]


def source_block(ts: int) -> int:
    """A plausible Polygon block for a timestamp (monotonic, never below 1)."""
    num, den = BLOCKS_PER_SECOND
    return max(1, BLOCK_ANCHOR[1] + (ts - BLOCK_ANCHOR[0]) * num // den)


def day_ends(first_ts: int, interval: str, now: int) -> list[int]:
    """UTC midnights after the first event, inside the interval's reach, before now."""
    reach = INTERVAL_SECONDS[interval]
    first = first_ts // DAY + 1
    if reach is not None:
        first = max(first, -(-(now - reach) // DAY))
    return [d * DAY for d in range(first, -(-now // DAY))]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A wallet's cumulative figures at one moment (exact; rounded only when served)."""

    timestamp: int
    realized: Decimal
    """Pre-fee, sum over tokens."""
    unrealized: Decimal
    fees_paid: Decimal
    """Positive: what was charged."""
    income: dict[str, Decimal]
    volume_u: int
    volume_usdc: Decimal
    trade_count: int


def _snapshot(state: PnlState, ts: int, catalogue: MarketCatalogue, price_at: PriceAt) -> Snapshot:
    unrealized = ZERO
    with decimal.localcontext(MONEY):
        for asset, h in state.holdings.items():
            if h.balance_u <= 0:
                continue
            found = catalogue.for_token(asset)
            if found is None:  # pragma: no cover - every token belongs to a market
                continue
            market, idx = found
            unrealized += shares(h.balance_u) * (dec(price_at(market, idx)) - h.avg)
    return Snapshot(
        timestamp=ts,
        realized=state.realized,
        unrealized=unrealized,
        fees_paid=state.fees_paid,
        income=dict(state.income),
        volume_u=state.volume_u,
        volume_usdc=state.volume_usdc,
        trade_count=state.trade_count,
    )


def snapshots(account: Account, catalogue: MarketCatalogue, times: Sequence[int], now: int) -> list[Snapshot]:
    """Replay the account, stopping at each of ``times`` (ascending day ends), then now."""
    state = PnlState()
    out: list[Snapshot] = []
    pending = list(times)
    k = 0

    def historical(day_end: int) -> PriceAt:
        return lambda market, idx: market.price_before(idx, day_end)

    for ts, change in account.events():
        while k < len(pending) and ts >= pending[k]:
            out.append(_snapshot(state, pending[k], catalogue, historical(pending[k])))
            k += 1
        state.apply(change)
    for day_end in pending[k:]:
        out.append(_snapshot(state, day_end, catalogue, historical(day_end)))
    out.append(_snapshot(state, now, catalogue, lambda market, idx: market.price_of(idx)))
    return out


def _r6(value: Decimal) -> Decimal:
    """Rounded to the 6 decimals served (half-even); -0 becomes 0."""
    return value.quantize(_MICRO, context=MONEY) + 0


def _number(value: Decimal) -> float:
    return float(value) + 0.0


def served_point(snap: Snapshot, skew: Decimal = ZERO) -> dict[str, Any]:
    """One point as ``/v2/user-pnl`` serves it (key order of the capture)."""
    with decimal.localcontext(MONEY):
        return _served_point(snap, skew)


def _served_point(snap: Snapshot, skew: Decimal) -> dict[str, Any]:
    fees_charged = _r6(snap.fees_paid)
    realized_market = _r6(snap.realized - snap.fees_paid + skew)
    realized_lp = realized_combo = fees_refunded = _r6(ZERO)
    unrealized = _r6(snap.unrealized)
    maker, taker, reward = (_r6(snap.income.get(k, ZERO)) for k in ("MAKER_REBATE", "TAKER_REBATE", "REWARD"))
    yield_income = referral = _r6(ZERO)
    realized = realized_market + realized_lp + realized_combo
    wallet_income = maker + taker + reward + yield_income + referral
    position = realized + unrealized
    fees_paid = -fees_charged
    return {
        "timestamp": snap.timestamp,
        "source_block": source_block(snap.timestamp),
        "realized_market_pnl": _number(realized_market),
        "realized_lp_pnl": _number(realized_lp),
        "realized_combo_pnl": _number(realized_combo),
        "unrealized_pnl": _number(unrealized),
        "fees_refunded": _number(fees_refunded),
        "maker_rebate": _number(maker),
        "taker_rebate": _number(taker),
        "reward_income": _number(reward),
        "yield_income": _number(yield_income),
        "referral_income": _number(referral),
        "deposits": None,
        "withdrawals": None,
        "realized_pnl": _number(realized),
        "wallet_income": _number(wallet_income),
        "position_pnl": _number(position),
        "settled_pnl": _number(realized + wallet_income),
        "economic_pnl": _number(position + wallet_income),
        "trade_pnl": _number(position - realized_lp + fees_charged - fees_refunded),
        "sponsored_income": _number(reward),
        "fees": _number(fees_paid + fees_refunded),
        "fees_paid": _number(fees_paid),
        "cashflow_net": None,
        "volume": _number(shares(snap.volume_u)),
        "volume_usdc": _number(_r6(snap.volume_usdc)),
        "trade_count": snap.trade_count,
    }


def user_pnl(
    account: Account | None, catalogue: MarketCatalogue, wallet: str, interval: str, fidelity: str, now: int
) -> dict[str, Any]:
    """The ``data`` object of ``/v2/user-pnl`` (skewed when the admin asked for it)."""
    points: list[dict[str, Any]] = []
    if account is not None and account.first_timestamp is not None:
        times = day_ends(account.first_timestamp, interval, now)
        points = [served_point(s, account.skew) for s in snapshots(account, catalogue, times, now)]
    return {
        "proxy_wallet": wallet,
        "interval": interval,
        "fidelity": fidelity,
        "source_fidelity": SOURCE_FIDELITY,
        "points": points,
    }


# ---------------------------------------------------------------------- ground truth
def text(value: Decimal) -> str:
    """Exact decimal text (12 places) for the ground truth: a test compares it as a Decimal."""
    return f"{value.quantize(_TRUTH_PLACES, context=MONEY) + 0:f}"


def wallet_truth(book: Book, catalogue: MarketCatalogue, wallet: str, now: int) -> dict[str, Any]:
    """Every figure of one wallet as Polymarket computes it, unskewed: positions, totals, daily series.

    Decimal amounts are exact text (``text``); ``series`` is the ``all`` series as it is served.
    """
    account = book.accounts.get(wallet)
    if account is None:
        raise ValueError(f"unknown wallet {wallet!r}")
    with decimal.localcontext(MONEY):
        return _wallet_truth(book, catalogue, wallet, account, now)


def _wallet_truth(
    book: Book, catalogue: MarketCatalogue, wallet: str, account: Account, now: int
) -> dict[str, Any]:
    positions: list[dict[str, Any]] = []
    for pos in book.positions.get(wallet, {}).values():
        held = account.state.holdings.get(pos.asset)
        if held is None:
            continue
        price = pos.market.price_of(pos.outcome_index)
        size = shares(pos.size_u)
        value = size * dec(price)
        entry = held.entry_cost(pos.size_u)
        view = book.view(pos)
        positions.append(
            {
                "asset": pos.asset,
                "condition_id": pos.market.condition_id,
                "outcome_index": pos.outcome_index,
                "status": view.status,
                "hidden": pos.hidden,
                "shares": text(size),
                "tracked_shares": text(shares(held.tracked_u)),
                "avg_price": text(held.avg),
                "total_bought": text(shares(held.bought_u)),
                "realized_pnl": text(held.realized),
                "cur_price": text(dec(price)),
                "current_value": text(value),
                "entry_cost": text(entry),
                "unrealized_pnl": text(value - entry),
                "entry_fees": text(held.entry_fees if pos.size_u else ZERO),
                "fees_paid": text(held.fees_paid),
                "untracked_sold": text(shares(held.untracked_sold_u)),
            }
        )
    first = account.first_timestamp
    snaps = snapshots(account, catalogue, day_ends(first, "all", now) if first is not None else [], now)
    series = [served_point(s) for s in snaps] if first is not None else []
    last = snaps[-1]
    income = sum(last.income.values(), ZERO)
    trade = last.realized + last.unrealized
    position = trade - last.fees_paid
    totals = {
        "realized_pnl": text(last.realized),
        "unrealized_pnl": text(last.unrealized),
        "trade_pnl": text(trade),
        "fees_paid": text(last.fees_paid),
        "position_pnl": text(position),
        "income": {kind: text(amount) for kind, amount in sorted(last.income.items())},
        "income_usdc": text(income),
        "economic_pnl": text(position + income),
        "volume": text(shares(last.volume_u)),
        "volume_usdc": text(last.volume_usdc),
        "trade_count": last.trade_count,
        "skew_usdc": text(account.skew),
    }
    return {"wallet": wallet, "positions": positions, "totals": totals, "series": series}
