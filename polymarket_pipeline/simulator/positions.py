"""Positions: every token a wallet holds, its life cycle (closes) and, from ``accounting``, its money.

Sizes are integer micro-shares, so "sold to zero" really is zero and every change is exact.
Each change is written to a ledger (the ground truth a test replays), and a position that
reaches zero records one close with its reason: ``manual_close`` (sold), ``redeemed``,
``market_closed`` (its resolved market was archived unredeemed), ``merged`` (both outcomes
merged back into collateral) or ``converted`` (neg-risk NO tokens converted away). The Book
applies changes as they come (it checks what a wallet can sell); the average price, realized
PnL and fees a view shows come from the wallet's account, which orders them as the chain does.
A view's ``initial_value`` is ``size x avg_price`` and its ``cash_pnl`` ``current_value -
initial_value``, so v1's and v2's printed identities hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from polymarket_pipeline.simulator.accounting import Accounts
from polymarket_pipeline.simulator.config import UNIT
from polymarket_pipeline.simulator.markets import SimMarket

CloseReason = Literal["manual_close", "redeemed", "market_closed", "merged", "converted"]
CLOSE_REASONS: tuple[CloseReason, ...] = ("manual_close", "redeemed", "market_closed", "merged", "converted")


@dataclass(slots=True, eq=False)
class Position:
    """A wallet's holding of one token as the Book sees it: its balance and its life cycle.

    The money (average price, realized PnL, fees) lives in ``accounting``, in chain order.
    """

    wallet: str
    market: SimMarket
    outcome_index: int
    size_u: int = 0
    first_entry_at: int = 0
    last_event_at: int = 0
    closed_at: int = 0
    redeemed: bool = False
    hidden: bool = False
    """The market was archived while this position was unredeemed: gone from default views."""

    @property
    def asset(self) -> str:
        return self.market.token_ids[self.outcome_index]


@dataclass(frozen=True, slots=True)
class PositionView:
    """A consistent snapshot of a position's numbers, computed under the model lock."""

    wallet: str
    market: SimMarket
    outcome_index: int
    size: float
    avg_price: float
    total_bought: float
    realized_pnl: float
    """Pre-fee, as the subgraph realizes it."""
    cur_price: float
    current_value: float
    initial_value: float
    """``size x avg_price``, fees excluded (v2 ``entry_cost_usdc``)."""
    entry_fees: float
    fees_paid: float
    """Every fee paid on this token (buys and sells), lifetime."""
    tracked_size: float
    """What the subgraph tracks of ``size`` (less when tokens came by transfer)."""
    cash_pnl: float
    percent_pnl: float
    percent_realized_pnl: float
    redeemable: bool
    mergeable: bool
    status: str
    archived: bool
    hidden: bool
    first_entry_at: int
    last_event_at: int
    closed_at: int

    @property
    def asset(self) -> str:
        return self.market.token_ids[self.outcome_index]

    @property
    def opposite_index(self) -> int:
        return 1 - self.outcome_index

    def truth(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "asset": self.asset,
            "condition_id": self.market.condition_id,
            "size": self.size,
            "avg_price": self.avg_price,
            "total_bought": self.total_bought,
            "realized_pnl": self.realized_pnl,
            "cur_price": self.cur_price,
            "current_value": self.current_value,
            "entry_fees": self.entry_fees,
            "fees_paid": self.fees_paid,
            "tracked_size": self.tracked_size,
            "redeemable": self.redeemable,
            "mergeable": self.mergeable,
            "outcome": self.market.outcomes[self.outcome_index],
            "outcome_index": self.outcome_index,
            "status": self.status,
            "neg_risk": self.market.neg_risk,
        }


class Book:
    """Every wallet's positions, the closes they went through, the ledger of size changes, and the
    accounts (``accounting``) that hold what each position cost and earned."""

    def __init__(self) -> None:
        self.positions: dict[str, dict[str, Position]] = {}
        self.market_positions: dict[str, list[Position]] = {}
        self.closes: list[dict[str, Any]] = []
        self.ledger: list[dict[str, Any]] = []
        self.accounts = Accounts()

    def register(self, wallet: str) -> None:
        self.positions[wallet] = {}
        self.accounts.register(wallet)

    def forget(self, wallet: str) -> None:
        """Drop a wallet registered by a change that failed (it never held anything)."""
        del self.positions[wallet]
        self.accounts.forget(wallet)

    def position(self, wallet: str, market: SimMarket, idx: int) -> Position:
        """The wallet's position in one token, created empty on first use."""
        by_asset = self.positions[wallet]
        asset = market.token_ids[idx]
        pos = by_asset.get(asset)
        if pos is None:
            pos = by_asset[asset] = Position(wallet, market, idx)
            self.market_positions.setdefault(market.condition_id, []).append(pos)
        return pos

    def find(self, wallet: str, asset: str) -> Position | None:
        return self.positions.get(wallet, {}).get(asset)

    def held(self, wallet: str, market: SimMarket, idx: int) -> int:
        pos = self.positions.get(wallet, {}).get(market.token_ids[idx])
        return pos.size_u if pos is not None else 0

    def holders(self, market: SimMarket) -> list[Position]:
        return self.market_positions.get(market.condition_id, [])

    # ------------------------------------------------------------------ changes
    def grow(self, pos: Position, size_u: int, ts: int, kind: str, tx: str, seq: int) -> None:
        """Tokens in (a buy, a split, a conversion's YES side, a transfer)."""
        if size_u <= 0:
            raise AssertionError("a position only grows by a positive amount")
        if pos.size_u == 0:
            pos.redeemed = False
        pos.size_u += size_u
        if not pos.first_entry_at:
            pos.first_entry_at = ts
        pos.last_event_at = max(pos.last_event_at, ts)
        self._log(pos, size_u, ts, kind, tx, seq)

    def shrink(
        self, pos: Position, size_u: int, ts: int, kind: str, tx: str, seq: int, reason: CloseReason
    ) -> None:
        """Tokens out (a sell, a merge, a conversion's NO side); reaching zero records a close."""
        if size_u <= 0 or size_u > pos.size_u:
            raise AssertionError(f"cannot remove {size_u} of {pos.size_u}")
        pos.size_u -= size_u
        pos.last_event_at = max(pos.last_event_at, ts)
        self._log(pos, -size_u, ts, kind, tx, seq)
        if pos.size_u == 0:
            pos.closed_at = ts
            self.close(pos, reason, ts)

    def redeem(self, pos: Position, ts: int, tx: str, seq: int) -> None:
        """The whole holding is redeemed (its accounting is the caller's ``Redeem`` change)."""
        size_u = pos.size_u
        pos.size_u = 0
        pos.redeemed = True
        pos.closed_at = ts
        pos.last_event_at = max(pos.last_event_at, ts)
        self._log(pos, -size_u, ts, "REDEEM", tx, seq)
        if not pos.hidden:
            self.close(pos, "redeemed", ts)
        pos.hidden = False

    def hide_market(self, market: SimMarket, ts: int) -> None:
        """An archived market's unredeemed positions leave the default views: a ``market_closed``."""
        for pos in self.holders(market):
            if pos.size_u > 0 and not pos.hidden:
                pos.hidden = True
                self.close(pos, "market_closed", ts)

    def close(self, pos: Position, reason: CloseReason, at: int) -> None:
        self.closes.append(
            {
                "wallet": pos.wallet,
                "asset": pos.asset,
                "condition_id": pos.market.condition_id,
                "reason": reason,
                "at": at,
            }
        )

    def _log(self, pos: Position, delta: int, ts: int, kind: str, tx: str, seq: int) -> None:
        self.ledger.append(
            {
                "wallet": pos.wallet,
                "asset": pos.asset,
                "condition_id": pos.market.condition_id,
                "delta": delta / UNIT,
                "kind": kind,
                "timestamp": ts,
                "transaction_hash": tx,
                "seq": seq,
            }
        )

    # ------------------------------------------------------------------ views
    def views(
        self, wallet: str | None = None, condition_id: str | None = None, held_only: bool = False
    ) -> list[PositionView]:
        """Positions (open, hidden, closed; ``held_only``: size > 0) of a wallet and/or a market."""
        if wallet is not None:
            positions: Iterable[Position] = self.positions.get(wallet, {}).values()
            if condition_id is not None:
                positions = [p for p in positions if p.market.condition_id == condition_id]
        elif condition_id is not None:
            positions = self.market_positions.get(condition_id, [])
        else:
            positions = [p for by_asset in self.positions.values() for p in by_asset.values()]
        return [self.view(p) for p in positions if not held_only or p.size_u > 0]

    def view(self, pos: Position) -> PositionView:
        market = pos.market
        idx = pos.outcome_index
        held = self.accounts.holding(pos.wallet, pos.asset)
        size = pos.size_u / UNIT
        cur = market.price_of(idx)
        current_value = size * cur
        initial = float(held.entry_cost(pos.size_u)) if pos.size_u else 0.0
        realized = float(held.realized)
        cash_pnl = current_value - initial
        if pos.size_u == 0:
            status = "CLOSED"
        elif market.closed:
            status = "REDEEMABLE" if idx == market.winner_index else "REDEEMABLE_LOST"
        else:
            status = "OPEN"
        mergeable = not market.closed and pos.size_u > 0 and self.held(pos.wallet, market, 1 - idx) > 0
        return PositionView(
            wallet=pos.wallet,
            market=market,
            outcome_index=idx,
            size=size,
            avg_price=float(held.avg),
            total_bought=held.bought_u / UNIT,
            realized_pnl=realized,
            cur_price=cur,
            current_value=current_value,
            initial_value=initial,
            entry_fees=float(held.entry_fees) if pos.size_u else 0.0,
            fees_paid=float(held.fees_paid),
            tracked_size=min(held.tracked_u, pos.size_u) / UNIT,
            cash_pnl=cash_pnl,
            percent_pnl=cash_pnl / initial * 100 if initial else 0.0,
            percent_realized_pnl=realized / float(held.bought_usdc) * 100 if held.bought_usdc else 0.0,
            redeemable=market.closed and pos.size_u > 0,
            mergeable=mergeable,
            status=status,
            archived=market.archived,
            hidden=pos.hidden,
            first_entry_at=pos.first_entry_at,
            last_event_at=pos.last_event_at,
            closed_at=pos.closed_at,
        )
