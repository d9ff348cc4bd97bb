"""Polymarket's own accounting of every wallet: the pnl-subgraph's weighted-average cost, in chain order.

Per (wallet, token) it keeps what ``pnl-subgraph`` (Polymarket/polymarket-subgraph) keeps: the
tracked amount, the average price, lifetime ``total_bought`` and realized PnL, by its rules:

- buy q at p: ``avg <- (avg x amount + p x q) / (amount + q)``; ``amount += q``; ``total_bought += q``.
- sell q at p: ``q' = min(q, amount)`` (tokens received by transfer earn nothing);
  ``realized += q' x (p - avg)``; ``amount -= q'``; a sell never changes ``avg``.
- SPLIT x = buy x of each outcome at 0.50; MERGE x = sell x of each at 0.50.
- REDEEM sells the whole tracked amount at the payout (1 winner, 0 loser).
- neg-risk CONVERSION of k NO legs in an event of N questions: each NO leg is sold at its own avg
  (realizing 0), each other market's YES is bought at ``(no_price x k - (k - 1)) / (N - k)``, with
  ``no_price`` the NO legs' mean avg. With k >= 2 cheap NO legs that price is negative (the
  collateral returned exceeds their cost); it is kept, as the subgraph keeps it.

Fees are not cost (Polymarket's figures are pre-fee): a position carries the entry fees of its
current holding (shed pro rata as it is sold) and every fee paid on it, a wallet its total fees.
Beside the tracked amount each holding keeps the real balance, which a transfer grows alone.

Events are replayed in (timestamp, seq) order, the chain's order, not the order the simulator
applied them: a back-dated trade (``inject_trade(timestamp=...)``, back-filled wallets) counts where
its timestamp puts it, so a pipeline replaying the served rows by time gets the same numbers. An
event appended in order updates the state at once; one inserted in the past drops the state, and
the next read replays the wallet. Money is ``Decimal`` at 40 significant digits: prices are read
from the shortest repr they are served with, sizes from integer micro-shares, so an exact replay
of the served rows agrees far below 1e-6. The simulator is the ground truth a pipeline is checked
against, so none of this shares code with ``polymarket_pipeline.domain``.
"""

from __future__ import annotations

import bisect
import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from polymarket_pipeline.simulator.config import UNIT

MONEY = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
"""Every PnL computation runs in this context: deterministic, and far finer than the 1e-6 served."""
ZERO = Decimal(0)
HALF = Decimal("0.5")
"""The price of each outcome in a split or a merge, whatever the market trades at."""
ONE = Decimal(1)
_UNIT = Decimal(UNIT)

INCOME_KINDS = ("REWARD", "MAKER_REBATE", "TAKER_REBATE")
"""Platform credits the simulator pays (the series also has yield and referral atoms, always 0)."""


def dec(value: float) -> Decimal:
    """A served float as the decimal it prints as (``0.4899999951``), the way a client parses it."""
    return Decimal(repr(float(value)))


def shares(size_u: int) -> Decimal:
    """Integer micro-shares as an exact Decimal number of shares."""
    return MONEY.divide(Decimal(size_u), _UNIT)


# ---------------------------------------------------------------------- changes
@dataclass(frozen=True, slots=True)
class Trade:
    """One fill: the wallet bought or sold ``size_u`` at ``price``, paying ``fee`` (taker in a fee market)."""

    asset: str
    side: Literal["BUY", "SELL"]
    size_u: int
    price: Decimal
    fee: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Split:
    """``size_u`` USDC into ``size_u`` of each outcome: a buy of both at 0.50."""

    assets: tuple[str, str]
    size_u: int


@dataclass(frozen=True, slots=True)
class Merge:
    """``size_u`` of both outcomes back into USDC: a sell of both at 0.50."""

    assets: tuple[str, str]
    size_u: int


@dataclass(frozen=True, slots=True)
class Redeem:
    """The whole holding of each token sold at its payout per share (1 winner, 0 loser)."""

    payouts: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class Conversion:
    """``size_u`` NO of each of ``no_assets`` into ``size_u`` YES of each of ``yes_assets``."""

    no_assets: tuple[str, ...]
    yes_assets: tuple[str, ...]
    size_u: int
    question_count: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """Tokens received without a buy: the balance grows, the tracked amount does not."""

    asset: str
    size_u: int


@dataclass(frozen=True, slots=True)
class Income:
    """A platform credit (REWARD, MAKER_REBATE, TAKER_REBATE): wallet income, not position PnL."""

    kind: str
    amount: Decimal


Change = Trade | Split | Merge | Redeem | Conversion | Transfer | Income


# ---------------------------------------------------------------------- state
@dataclass(slots=True)
class Holding:
    """A wallet's accounting of one token (the subgraph's UserPosition plus balance and fees)."""

    balance_u: int = 0
    """Micro-shares held, transferred ones included."""
    tracked_u: int = 0
    """The subgraph's ``amount``: bought (or split, or converted into) and not yet sold."""
    bought_u: int = 0
    """Lifetime micro-shares bought: the WAC denominator (``total_size``, ``totalBought``)."""
    avg: Decimal = ZERO
    """Weighted-average price, fee-exclusive; kept when the holding empties."""
    realized: Decimal = ZERO
    """Lifetime realized PnL, pre-fee."""
    entry_fees: Decimal = ZERO
    """Fees paid buying the current holding (v2 ``entry_fees_usdc``)."""
    fees_paid: Decimal = ZERO
    """Every fee paid on this token, buys and sells, lifetime."""
    bought_usdc: Decimal = ZERO
    """Lifetime cost of what was bought (the base of ``percent_realized_pnl``)."""
    untracked_sold_u: int = 0
    """Micro-shares sold (or redeemed) beyond the tracked amount: they realized nothing."""

    def entry_cost(self, size_u: int) -> Decimal:
        """``size x avg``: what ``size_u`` of this token cost, fees excluded."""
        return MONEY.multiply(shares(size_u), self.avg)


@dataclass(slots=True)
class PnlState:
    """What a wallet's events add up to: its holdings and its running totals."""

    holdings: dict[str, Holding] = field(default_factory=dict)
    realized: Decimal = ZERO
    """Sum of every holding's realized PnL (pre-fee)."""
    fees_paid: Decimal = ZERO
    income: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(INCOME_KINDS, ZERO))
    volume_u: int = 0
    """Shares traded (fills only), the series' ``volume``."""
    volume_usdc: Decimal = ZERO
    """Sum of size x price of the fills."""
    trade_count: int = 0

    def holding(self, asset: str) -> Holding:
        found = self.holdings.get(asset)
        if found is None:
            found = self.holdings[asset] = Holding()
        return found

    def apply(self, change: Change) -> None:
        with decimal.localcontext(MONEY):
            if isinstance(change, Trade):
                h = self.holding(change.asset)
                if change.side == "BUY":
                    self._buy(h, change.size_u, change.price, change.fee)
                else:
                    self._sell(h, change.size_u, change.price, change.fee)
                self.volume_u += change.size_u
                self.volume_usdc += shares(change.size_u) * change.price
                self.trade_count += 1
            elif isinstance(change, Split):
                for asset in change.assets:
                    self._buy(self.holding(asset), change.size_u, HALF, ZERO)
            elif isinstance(change, Merge):
                for asset in change.assets:
                    self._sell(self.holding(asset), change.size_u, HALF, ZERO)
            elif isinstance(change, Redeem):
                for asset, payout in change.payouts:
                    h = self.holding(asset)
                    self._sell(h, max(h.balance_u, 0), payout, ZERO)
            elif isinstance(change, Conversion):
                self._convert(change)
            elif isinstance(change, Transfer):
                self.holding(change.asset).balance_u += change.size_u
            else:
                self.income[change.kind] = self.income.get(change.kind, ZERO) + change.amount

    def _buy(self, h: Holding, size_u: int, price: Decimal, fee: Decimal) -> None:
        size, tracked = shares(size_u), shares(h.tracked_u)
        h.avg = (h.avg * tracked + price * size) / (tracked + size)
        h.tracked_u += size_u
        h.balance_u += size_u
        h.bought_u += size_u
        h.bought_usdc += price * size
        h.entry_fees += fee
        h.fees_paid += fee
        self.fees_paid += fee

    def _sell(self, h: Holding, size_u: int, price: Decimal | None, fee: Decimal) -> None:
        """``price`` None sells at the holding's own average (a conversion's NO leg)."""
        counted = min(size_u, h.tracked_u)
        pnl = shares(counted) * ((h.avg if price is None else price) - h.avg)
        h.realized += pnl
        self.realized += pnl
        if h.tracked_u:
            h.entry_fees = h.entry_fees * (h.tracked_u - counted) / h.tracked_u
        h.tracked_u -= counted
        h.untracked_sold_u += size_u - counted
        h.balance_u -= size_u
        h.fees_paid += fee
        self.fees_paid += fee

    def _convert(self, change: Conversion) -> None:
        no_count = len(change.no_assets)
        legs = [self.holding(asset) for asset in change.no_assets]
        no_price = sum((h.avg for h in legs), ZERO) / no_count
        for h in legs:
            self._sell(h, change.size_u, None, ZERO)
        yes_price = (no_price * no_count - (no_count - 1)) / (change.question_count - no_count)
        for asset in change.yes_assets:
            self._buy(self.holding(asset), change.size_u, yes_price, ZERO)


def replay(changes: Iterator[Change] | list[Change]) -> PnlState:
    state = PnlState()
    for change in changes:
        state.apply(change)
    return state


class Account:
    """One wallet's accounting events in (timestamp, seq) order, and the state they add up to."""

    __slots__ = ("_state", "changes", "keys", "skew")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.changes: list[Change] = []
        self._state: PnlState | None = PnlState()
        self.skew = ZERO
        """USDC added to the official series' realized PnL (``skew_official_pnl``); 0 = truthful."""

    def record(self, timestamp: int, seq: int, change: Change) -> None:
        key = (timestamp, seq)
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.changes.append(change)
            if self._state is not None:
                self._state.apply(change)
            return
        i = bisect.bisect_right(self.keys, key)  # in the past: the running state no longer holds
        self.keys.insert(i, key)
        self.changes.insert(i, change)
        self._state = None

    @property
    def state(self) -> PnlState:
        if self._state is None:
            self._state = replay(self.changes)
        return self._state

    @property
    def first_timestamp(self) -> int | None:
        return self.keys[0][0] if self.keys else None

    def events(self) -> Iterator[tuple[int, Change]]:
        """(timestamp, change), oldest first."""
        for (ts, _), change in zip(self.keys, self.changes, strict=True):
            yield ts, change


class Accounts:
    """Every wallet's account."""

    def __init__(self) -> None:
        self.by_wallet: dict[str, Account] = {}

    def register(self, wallet: str) -> None:
        self.by_wallet[wallet] = Account()

    def forget(self, wallet: str) -> None:
        self.by_wallet.pop(wallet, None)

    def get(self, wallet: str) -> Account | None:
        return self.by_wallet.get(wallet)

    def record(self, wallet: str, timestamp: int, seq: int, change: Change) -> None:
        self.by_wallet[wallet].record(timestamp, seq, change)

    def holding(self, wallet: str, asset: str) -> Holding:
        """The wallet's accounting of ``asset`` (an empty one if it never touched it)."""
        account = self.by_wallet.get(wallet)
        found = account.state.holdings.get(asset) if account is not None else None
        return found if found is not None else Holding()
