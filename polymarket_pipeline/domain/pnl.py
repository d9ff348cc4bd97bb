"""Profit and loss: a replay of one wallet's fills and activity into a weighted-average-cost ledger.

The rules are those of ``pnl.md`` (Polymarket's pnl-subgraph, applied to the stored tape):

- **Cost basis** is a running weighted average per token. BUY q at p: ``avg <- (avg*amount +
  p*q) / (amount + q)``, ``amount += q``, ``total_bought += q``. SELL q at p: ``q' = min(q,
  amount)``, ``realized += q' * (p - avg)``, ``amount -= q'``; a sell never changes ``avg``. The
  untracked part of a sell (tokens obtained by transfer, or before a cut history) earns nothing
  and flags the position ``oversold``.
- **SPLIT** x = BUY x of every outcome at 0.50; **MERGE** x = SELL x of every outcome at 0.50.
- **REDEEM** sells the whole tracked amount at the payout. A row with an ``asset`` (one per
  outcome, since 2026-08-10) closes that token; a row without one (neg-risk, one per condition)
  closes every token held in the condition, at the market's payouts when known, else at payouts
  inferred from the USDC paid when only one resolution explains it.
- **CONVERSION** (neg-risk): the NO legs are sold at their own average (realizing 0) and the YES
  legs of the event's other markets are bought at ``(noPrice*noCount - (noCount - 1)) /
  (questionCount - noCount)``.
- **Fees** are never cost: a TRADE activity row only carries ``|usdc_size - size*price|`` as the
  fee of its token (the share movement comes from the fill in ``trades_public``).
- **Income** (rewards, rebates, yield, referral) is wallet income, outside every position.

Event order is :func:`event_key`: timestamp, then a phase that puts tokens in before tokens out
within one second (BUY and SPLIT, then CONVERSION, then SELL and MERGE, then REDEEM, then the rows
that move no shares), then a content tie-break, so the input order never matters.

Money is exact ``Decimal`` arithmetic under :data:`LEDGER_CONTEXT` (50 significant digits, so the
only rounding is in the division of the average price, identical on every replay). Internal state
is kept unrounded; :class:`PositionFigures` are quantized for storage (:data:`USDC_QUANTUM`,
:data:`SHARES_QUANTUM`, :data:`PRICE_QUANTUM`).

Incremental use: store ``Book.wallet_dict()`` and one ``TokenState.to_dict()`` per token; next
time, ``replay(new_events, markets, start=Book.from_dict(...))``. Appending is exact when every
new event sorts after what was applied (cut between seconds, never inside a transaction). For an
event where :func:`is_late` is true, replay its :func:`affected_conditions` from scratch onto
``book.without_conditions(...)`` (or replay the wallet). The journal feeds the daily roll-up.

Everything here is pure: no I/O, and neither ``replay`` nor the figures mutate their inputs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any, Literal

from polymarket_pipeline.domain.records import Activity, Fill

# --- numbers ---------------------------------------------------------------------------------

LEDGER_CONTEXT = Context(
    prec=50, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""Every ledger computation runs in this context, whatever the caller's global one is."""

USDC_QUANTUM = Decimal("0.000001")
"""Stored money: USDC has 6 decimals."""
SHARES_QUANTUM = Decimal("0.000001")
"""Stored share counts: conditional tokens have 6 decimals."""
PRICE_QUANTUM = Decimal("0.000000000001")
"""Stored prices (avg, mark): 12 decimals, finer than any API price and than v1's 4-decimal avg."""

ZERO = Decimal(0)
ONE = Decimal(1)
HALF = Decimal("0.5")

PAID_TOLERANCE = Decimal("0.00001")
"""How far a redeem's paid USDC may be from a resolution's expected payout and still match it
(the paid amount is rounded to 6 decimals; the tracked amounts are exact)."""


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """A database float as the decimal it was written as (``Decimal(str(x))``), never its binary value."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        result = Decimal(str(value))
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def optional_decimal(value: float | int | str | Decimal | None) -> Decimal | None:
    """:func:`to_decimal`, keeping None (unknown) as None rather than 0."""
    return None if value is None else to_decimal(value)


def quantize_usdc(value: Decimal) -> Decimal:
    return value.quantize(USDC_QUANTUM, rounding=ROUND_HALF_EVEN, context=LEDGER_CONTEXT)


def quantize_shares(value: Decimal) -> Decimal:
    return value.quantize(SHARES_QUANTUM, rounding=ROUND_HALF_EVEN, context=LEDGER_CONTEXT)


def quantize_price(value: Decimal) -> Decimal:
    return value.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN, context=LEDGER_CONTEXT)


def _optional_usdc(value: Decimal | None) -> Decimal | None:
    return None if value is None else quantize_usdc(value)


def _optional_price(value: Decimal | None) -> Decimal | None:
    return None if value is None else quantize_price(value)


# --- reasons a ledger is not exact -----------------------------------------------------------

HISTORY_INCOMPLETE = "history_incomplete"
"""The caller says the stored history misses its start (page caps, a cut)."""
OVERSOLD = "oversold"
"""A sell, merge, conversion or redeem took more shares than were tracked."""
CONVERSION_LEGS_UNKNOWN = "conversion_legs_unknown"
"""A neg-risk conversion whose event members (so its YES legs) are not known."""
REDEEM_PAYOUT_UNKNOWN = "redeem_payout_unknown"
"""A redeem whose payouts neither the market nor the paid amount determine."""
MARKET_TOKENS_UNKNOWN = "market_tokens_unknown"
"""A split or merge whose condition's outcome tokens are not (all) known."""


def join_reasons(reasons: Iterable[str]) -> str | None:
    """Several reasons as one stable string (sorted, comma-separated); None when there are none."""
    unique = sorted(set(reasons))
    return ",".join(unique) if unique else None


# --- markets ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """What the replay needs to know about one condition (the caller builds it from its market cache)."""

    condition_id: str
    token_ids: tuple[str, ...] = ()
    """Outcome tokens by outcome index; in neg-risk markets index 0 is YES and 1 is NO."""
    payouts: tuple[Decimal, ...] | None = None
    """Payout per outcome index once the market resolved (1 and 0, or 0.5 each); None while not."""
    neg_risk_members: tuple[str, ...] | None = None
    """Condition ids of every market of its neg-risk event, itself included (``questionCount`` is
    their number); None when not neg-risk or not known."""

    @property
    def resolved(self) -> bool:
        return self.payouts is not None

    def outcome_index_of(self, asset: str) -> int | None:
        return self.token_ids.index(asset) if asset in self.token_ids else None

    def payout_of(self, asset: str) -> Decimal | None:
        """The resolution price of one of this market's tokens; None while unresolved or unknown."""
        index = self.outcome_index_of(asset)
        if self.payouts is None or index is None or index >= len(self.payouts):
            return None
        return self.payouts[index]


def payouts_for_winner(token_ids: Sequence[str], winner_asset: str) -> tuple[Decimal, ...]:
    """Payouts of a market won by one token: 1 for it, 0 for every other."""
    if winner_asset not in token_ids:
        raise ValueError(f"{winner_asset} is not one of the market's tokens")
    return tuple(ONE if token == winner_asset else ZERO for token in token_ids)


Markets = Mapping[str, MarketInfo]
"""Market info by condition id; conditions missing from it are unknown (never an error)."""


# --- events ----------------------------------------------------------------------------------

EventKind = Literal["FILL", "FEE", "SPLIT", "MERGE", "REDEEM", "CONVERSION", "INCOME", "IGNORED"]
Side = Literal["BUY", "SELL"]

INCOME_TYPES = frozenset({"REWARD", "MAKER_REBATE", "TAKER_REBATE", "YIELD", "REFERRAL"})
_ACTIVITY_KINDS: dict[str, EventKind] = {
    "TRADE": "FEE",
    "SPLIT": "SPLIT",
    "MERGE": "MERGE",
    "REDEEM": "REDEEM",
    "CONVERSION": "CONVERSION",
    **{income: "INCOME" for income in INCOME_TYPES},
}
SHARE_MOVING_KINDS = frozenset({"FILL", "SPLIT", "MERGE", "REDEEM", "CONVERSION"})
"""Kinds whose order matters; FEE and INCOME only add numbers, so their order never does."""


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One fill or activity row of one wallet, with exact numbers: what the replay consumes.

    ``kind`` FILL comes from ``trades_public``; every other kind from ``activity_public``
    (a TRADE activity row is a FEE: it carries the fee of a fill and moves no shares).
    """

    kind: EventKind
    timestamp: int
    """Epoch seconds, UTC."""
    transaction_hash: str = ""
    condition_id: str | None = None
    asset: str | None = None
    side: Side | None = None
    size: Decimal | None = None
    price: Decimal | None = None
    usdc_size: Decimal | None = None
    outcome_index: int | None = None
    activity_type: str = ""
    """The row's own type (``TRADE``, ``REWARD``, an unknown one, ...); ``FILL`` for fills."""
    source_id: str = ""
    """``trade_id`` / ``activity_id``: the last tie-break, so two stored rows never compare equal."""


def _side(value: str | None) -> Side | None:
    upper = (value or "").strip().upper()
    if upper == "BUY":
        return "BUY"
    if upper == "SELL":
        return "SELL"
    return None


def _epoch(value: int | datetime) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else int(value)


def event_from_fill(fill: Fill, source_id: str = "") -> LedgerEvent:
    """A ``trades_public`` fill as a share-moving event."""
    return LedgerEvent(
        kind="FILL",
        timestamp=_epoch(fill.timestamp),
        transaction_hash=fill.transaction_hash,
        condition_id=fill.condition_id,
        asset=fill.asset,
        side=fill.side,
        size=to_decimal(fill.size),
        price=to_decimal(fill.price),
        outcome_index=fill.outcome_index,
        activity_type="FILL",
        source_id=source_id,
    )


def event_from_activity(row: Activity, source_id: str = "") -> LedgerEvent:
    """An ``activity_public`` row as an event; unknown types become IGNORED (counted, never fatal)."""
    activity_type = (row.type or "").strip().upper()
    return LedgerEvent(
        kind=_ACTIVITY_KINDS.get(activity_type, "IGNORED"),
        timestamp=_epoch(row.timestamp),
        transaction_hash=row.transaction_hash,
        condition_id=row.condition_id or None,
        asset=row.asset or None,
        side=_side(row.side),
        size=optional_decimal(row.size),
        price=optional_decimal(row.price),
        usdc_size=optional_decimal(row.usdc_size),
        outcome_index=row.outcome_index,
        activity_type=activity_type,
        source_id=source_id,
    )


EventKey = tuple[int, int, str]
"""(timestamp, phase, tie-break): events are applied in increasing key order."""

_PHASE_IN, _PHASE_CONVERT, _PHASE_OUT, _PHASE_REDEEM, _PHASE_NO_SHARES = range(5)


def _phase(event: LedgerEvent) -> int:
    if event.kind == "FILL":
        return _PHASE_IN if event.side == "BUY" else _PHASE_OUT
    return {
        "SPLIT": _PHASE_IN,
        "CONVERSION": _PHASE_CONVERT,
        "MERGE": _PHASE_OUT,
        "REDEEM": _PHASE_REDEEM,
    }.get(event.kind, _PHASE_NO_SHARES)


def _number_text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def event_key(event: LedgerEvent) -> EventKey:
    """The event's position in the replay: timestamp, then phase, then its content.

    Phase, within one second: 0 BUY fills and SPLITs (tokens in), 1 CONVERSIONs (NO legs out,
    YES legs in), 2 SELL fills and MERGEs (tokens out), 3 REDEEMs (last), 4 fee, income and
    ignored rows (they move no shares). The tie-break starts with the transaction hash, so the
    rows of one conversion are adjacent, and ends with the row's source id.
    """
    tie_break = "|".join(
        (
            event.transaction_hash.lower(),
            event.condition_id or "",
            event.asset or "",
            event.side or "",
            event.activity_type,
            _number_text(event.size),
            _number_text(event.price),
            _number_text(event.usdc_size),
            event.source_id,
        )
    )
    return (event.timestamp, _phase(event), tie_break)


def affected_conditions(event: LedgerEvent, markets: Markets) -> frozenset[str]:
    """The conditions whose tokens the event may move (where a late event forces a re-replay).

    FILL, SPLIT, MERGE and REDEEM move tokens of their own condition only (SPLIT, MERGE and a
    neg-risk REDEEM every token of it); a CONVERSION moves the NO leg of its condition and the
    YES legs of every other market of its neg-risk event (when the event is known). FEE, INCOME
    and IGNORED rows move no shares: none.
    """
    if event.kind not in SHARE_MOVING_KINDS or event.condition_id is None:
        return frozenset()
    if event.kind == "CONVERSION":
        info = markets.get(event.condition_id)
        members = info.neg_risk_members if info is not None and info.neg_risk_members else ()
        return frozenset((event.condition_id, *members))
    return frozenset({event.condition_id})


def affected_assets(event: LedgerEvent, markets: Markets, book: Book | None = None) -> frozenset[str]:
    """The tokens the event may move: its asset, or every known token of the conditions it touches."""
    if event.kind in ("FILL", "FEE") or (event.kind == "REDEEM" and event.asset):
        return frozenset({event.asset}) if event.asset else frozenset()
    conditions = affected_conditions(event, markets)
    assets = {token for c in conditions if c in markets for token in markets[c].token_ids}
    if book is not None:
        assets.update(a for a, state in book.tokens.items() if state.condition_id in conditions)
    return frozenset(assets)


# --- state -----------------------------------------------------------------------------------


def _key_to_list(key: EventKey | None) -> list[Any] | None:
    return None if key is None else [key[0], key[1], key[2]]


def _key_from_list(value: Sequence[Any] | None) -> EventKey | None:
    return None if value is None else (int(value[0]), int(value[1]), str(value[2]))


@dataclass(slots=True)
class TokenState:
    """The running ledger of one (wallet, token): the subgraph's user position plus what we report."""

    asset: str
    condition_id: str
    outcome_index: int | None = None
    amount: Decimal = ZERO
    """Tracked shares held."""
    avg_price: Decimal = ZERO
    total_bought: Decimal = ZERO
    buy_cost: Decimal = ZERO
    """Sum of shares x price over every buy (split legs at 0.5, conversion YES legs at their price)."""
    realized_pnl: Decimal = ZERO
    fees_usdc: Decimal = ZERO
    untracked_shares: Decimal = ZERO
    """Shares sold, merged, converted or redeemed beyond the tracked amount."""
    fills: int = 0
    volume_usdc: Decimal = ZERO
    """Sum of size x price over the fills of this token (USDC notional)."""
    flags: set[str] = field(default_factory=set)
    first_event_at: int | None = None
    last_event_at: int | None = None
    first_fill_at: int | None = None
    last_fill_at: int | None = None
    last_key: EventKey | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values (Decimals as strings), e.g. for one table row per position."""
        return {
            "asset": self.asset,
            "condition_id": self.condition_id,
            "outcome_index": self.outcome_index,
            "amount": str(self.amount),
            "avg_price": str(self.avg_price),
            "total_bought": str(self.total_bought),
            "buy_cost": str(self.buy_cost),
            "realized_pnl": str(self.realized_pnl),
            "fees_usdc": str(self.fees_usdc),
            "untracked_shares": str(self.untracked_shares),
            "fills": self.fills,
            "volume_usdc": str(self.volume_usdc),
            "flags": sorted(self.flags),
            "first_event_at": self.first_event_at,
            "last_event_at": self.last_event_at,
            "first_fill_at": self.first_fill_at,
            "last_fill_at": self.last_fill_at,
            "last_key": _key_to_list(self.last_key),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenState:
        return cls(
            asset=str(data["asset"]),
            condition_id=str(data["condition_id"]),
            outcome_index=data.get("outcome_index"),
            amount=Decimal(data["amount"]),
            avg_price=Decimal(data["avg_price"]),
            total_bought=Decimal(data["total_bought"]),
            buy_cost=Decimal(data["buy_cost"]),
            realized_pnl=Decimal(data["realized_pnl"]),
            fees_usdc=Decimal(data["fees_usdc"]),
            untracked_shares=Decimal(data["untracked_shares"]),
            fills=int(data["fills"]),
            volume_usdc=Decimal(data["volume_usdc"]),
            flags=set(data.get("flags") or ()),
            first_event_at=data.get("first_event_at"),
            last_event_at=data.get("last_event_at"),
            first_fill_at=data.get("first_fill_at"),
            last_fill_at=data.get("last_fill_at"),
            last_key=_key_from_list(data.get("last_key")),
        )

    def copy(self) -> TokenState:
        return TokenState.from_dict(self.to_dict())


@dataclass(slots=True)
class Book:
    """A wallet's ledger: every token state plus wallet-level totals; resumable (``replay(start=)``)."""

    tokens: dict[str, TokenState] = field(default_factory=dict)
    history_complete: bool = True
    """False once any replay was told the history is incomplete (it stays false)."""
    flags: set[str] = field(default_factory=set)
    """Ledger-level reasons not tied to a known token (e.g. a conversion leg whose token is unknown)."""
    income_usdc: Decimal = ZERO
    income_by_type: dict[str, Decimal] = field(default_factory=dict)
    ignored_types: dict[str, int] = field(default_factory=dict)
    """Activity rows of unknown types, counted by type (ignored by the replay)."""
    conversions: int = 0
    last_key: EventKey | None = None
    """Key of the last applied event (any kind)."""
    condition_last_keys: dict[str, EventKey] = field(default_factory=dict)
    """Key of the last share-moving event applied to each condition (for late-event detection)."""

    @property
    def incomplete_reasons(self) -> set[str]:
        reasons = set(self.flags)
        for state in self.tokens.values():
            reasons.update(state.flags)
        if not self.history_complete:
            reasons.add(HISTORY_INCOMPLETE)
        return reasons

    @property
    def complete(self) -> bool:
        return not self.incomplete_reasons

    @property
    def incomplete_reason(self) -> str | None:
        """The union of every position's reasons and the ledger's own, joined (None when complete)."""
        return join_reasons(self.incomplete_reasons)

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (Decimals as strings, keys as lists): JSON-safe and exact."""
        return {
            "version": 1,
            "tokens": {asset: state.to_dict() for asset, state in sorted(self.tokens.items())},
            **self.wallet_dict(),
        }

    def wallet_dict(self) -> dict[str, Any]:
        """The wallet-level part of :meth:`to_dict` (to store beside one row per token)."""
        return {
            "history_complete": self.history_complete,
            "flags": sorted(self.flags),
            "income_usdc": str(self.income_usdc),
            "income_by_type": {k: str(v) for k, v in sorted(self.income_by_type.items())},
            "ignored_types": dict(sorted(self.ignored_types.items())),
            "conversions": self.conversions,
            "last_key": _key_to_list(self.last_key),
            "condition_last_keys": {c: _key_to_list(k) for c, k in sorted(self.condition_last_keys.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], tokens: Iterable[Mapping[str, Any]] | None = None) -> Book:
        """Inverse of :meth:`to_dict`; or of :meth:`wallet_dict` plus the token rows in ``tokens``."""
        token_rows = list(tokens) if tokens is not None else list((data.get("tokens") or {}).values())
        states = [TokenState.from_dict(row) for row in token_rows]
        condition_keys = {
            c: key
            for c, raw in (data.get("condition_last_keys") or {}).items()
            if (key := _key_from_list(raw)) is not None
        }
        return cls(
            tokens={state.asset: state for state in states},
            history_complete=bool(data.get("history_complete", True)),
            flags=set(data.get("flags") or ()),
            income_usdc=Decimal(data.get("income_usdc", "0")),
            income_by_type={k: Decimal(v) for k, v in (data.get("income_by_type") or {}).items()},
            ignored_types={k: int(v) for k, v in (data.get("ignored_types") or {}).items()},
            conversions=int(data.get("conversions", 0)),
            last_key=_key_from_list(data.get("last_key")),
            condition_last_keys=condition_keys,
        )

    def copy(self) -> Book:
        return Book.from_dict(self.to_dict())

    def without_conditions(self, condition_ids: Iterable[str]) -> Book:
        """A copy without the tokens and keys of these conditions, to replay them again from scratch.

        Replay onto it every share-moving and fee event of those conditions (never income: it is
        kept here); the result equals a full replay when no ledger-level flag came from them.
        """
        dropped = set(condition_ids)
        book = self.copy()
        book.tokens = {a: s for a, s in book.tokens.items() if s.condition_id not in dropped}
        book.condition_last_keys = {c: k for c, k in book.condition_last_keys.items() if c not in dropped}
        return book


def is_late(book: Book, event: LedgerEvent, markets: Markets) -> bool:
    """True when a share-moving event sorts before the last event applied to a condition it touches.

    Such an event cannot be appended: the caller replays the affected conditions (or the wallet)
    from scratch. FEE and INCOME rows are never late (they only add numbers).
    """
    if event.kind not in SHARE_MOVING_KINDS:
        return False
    key = event_key(event)
    return any(
        (last := book.condition_last_keys.get(condition)) is not None and key < last
        for condition in affected_conditions(event, markets)
    )


@dataclass(frozen=True, slots=True)
class Holding:
    """Shares held of one token and their average price (to mark at some day's prices)."""

    condition_id: str
    shares: Decimal
    avg_price: Decimal


def holdings_of(book: Book) -> dict[str, Holding]:
    """Every token with shares left, by asset."""
    return {
        asset: Holding(state.condition_id, state.amount, state.avg_price)
        for asset, state in sorted(book.tokens.items())
        if state.amount > 0
    }


# --- journal ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """What one applied event did to one token (or to the wallet's income).

    Events that move several tokens (SPLIT, MERGE, CONVERSION, a neg-risk REDEEM) have one entry
    per token moved, all with the event's key; ``is_fill`` and ``notional_usdc`` only on fills.
    """

    key: EventKey
    timestamp: int
    kind: EventKind
    condition_id: str | None
    asset: str | None
    realized_delta: Decimal = ZERO
    fee_usdc: Decimal = ZERO
    income_usdc: Decimal = ZERO
    notional_usdc: Decimal = ZERO
    is_fill: bool = False
    shares_after: Decimal | None = None
    avg_price_after: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReplayResult:
    book: Book
    journal: tuple[JournalEntry, ...]
    ignored_types: Mapping[str, int]
    """Unknown activity types met in this replay only (the book has the running count)."""


# --- the replay ------------------------------------------------------------------------------


def replay(
    events: Iterable[LedgerEvent],
    markets: Markets | None = None,
    *,
    start: Book | None = None,
    history_complete: bool = True,
) -> ReplayResult:
    """Apply one wallet's events in :func:`event_key` order, from ``start`` (or an empty book).

    ``start`` is not mutated. Replaying A then B from A's book equals replaying A+B when every
    event of B sorts after every event of A (keep the rows of one transaction in one batch).
    ``history_complete=False`` marks the ledger incomplete for good.
    """
    with localcontext(LEDGER_CONTEXT):
        book = start.copy() if start is not None else Book()
        if not history_complete:
            book.history_complete = False
        run = _Replay(book, markets or {})
        ordered = sorted(events, key=event_key)
        index = 0
        while index < len(ordered):
            event = ordered[index]
            if event.kind == "CONVERSION":
                group_end = index + 1
                while group_end < len(ordered) and _same_conversion(ordered[group_end], event):
                    group_end += 1
                run.conversion(ordered[index:group_end])
                index = group_end
                continue
            run.apply(event)
            index += 1
        return ReplayResult(book, tuple(run.journal), dict(run.ignored))


def _same_conversion(candidate: LedgerEvent, first: LedgerEvent) -> bool:
    return (
        candidate.kind == "CONVERSION"
        and candidate.timestamp == first.timestamp
        and candidate.transaction_hash.lower() == first.transaction_hash.lower()
    )


class _Replay:
    """The mutable state of one replay run: the book being built and the journal written."""

    def __init__(self, book: Book, markets: Markets) -> None:
        self.book = book
        self.markets = markets
        self.journal: list[JournalEntry] = []
        self.ignored: dict[str, int] = {}
        self.assets_by_condition: dict[str, set[str]] = {}
        for asset, state in book.tokens.items():
            self.assets_by_condition.setdefault(state.condition_id, set()).add(asset)

    # bookkeeping ------------------------------------------------------------------------------

    def state(self, asset: str, condition_id: str, outcome_index: int | None = None) -> TokenState:
        existing = self.book.tokens.get(asset)
        if existing is None:
            info = self.markets.get(condition_id)
            index = info.outcome_index_of(asset) if info is not None else None
            existing = TokenState(asset, condition_id, index if index is not None else outcome_index)
            self.book.tokens[asset] = existing
            self.assets_by_condition.setdefault(condition_id, set()).add(asset)
        elif existing.outcome_index is None and outcome_index is not None:
            existing.outcome_index = outcome_index
        return existing

    def touch(self, state: TokenState, key: EventKey) -> None:
        timestamp = key[0]
        if state.first_event_at is None or timestamp < state.first_event_at:
            state.first_event_at = timestamp
        if state.last_event_at is None or timestamp > state.last_event_at:
            state.last_event_at = timestamp
        if state.last_key is None or key > state.last_key:
            state.last_key = key

    def applied(self, key: EventKey, conditions: Iterable[str] = ()) -> None:
        if self.book.last_key is None or key > self.book.last_key:
            self.book.last_key = key
        for condition in conditions:
            last = self.book.condition_last_keys.get(condition)
            if last is None or key > last:
                self.book.condition_last_keys[condition] = key

    def record(self, key: EventKey, kind: EventKind, state: TokenState, **figures: Any) -> None:
        self.journal.append(
            JournalEntry(
                key=key,
                timestamp=key[0],
                kind=kind,
                condition_id=state.condition_id,
                asset=state.asset,
                shares_after=state.amount,
                avg_price_after=state.avg_price,
                **figures,
            )
        )

    def tokens_of(self, condition_id: str) -> list[str]:
        """The condition's outcome tokens: from the market when known, else those the book has met."""
        info = self.markets.get(condition_id)
        if info is not None and len(info.token_ids) >= 2:
            return list(info.token_ids)
        return sorted(self.assets_by_condition.get(condition_id, ()))

    # the two primitives (the subgraph's updateUserPositionWithBuy / WithSell) ----------------

    @staticmethod
    def buy(state: TokenState, quantity: Decimal, price: Decimal) -> None:
        if quantity <= 0:
            return
        state.avg_price = (state.avg_price * state.amount + price * quantity) / (state.amount + quantity)
        state.amount += quantity
        state.total_bought += quantity
        state.buy_cost += price * quantity

    @staticmethod
    def sell(state: TokenState, quantity: Decimal, price: Decimal) -> Decimal:
        """Realize the tracked part; flag and record the untracked rest. Returns the realized delta."""
        if quantity <= 0:
            return ZERO
        tracked = min(quantity, state.amount)
        if quantity > state.amount:
            state.flags.add(OVERSOLD)
            state.untracked_shares += quantity - state.amount
        delta = tracked * (price - state.avg_price)
        state.realized_pnl += delta
        state.amount -= tracked
        return delta

    # events -----------------------------------------------------------------------------------

    def apply(self, event: LedgerEvent) -> None:
        key = event_key(event)
        if event.kind == "FILL":
            self.fill(event, key)
        elif event.kind == "FEE":
            self.fee(event, key)
        elif event.kind == "INCOME":
            self.income(event, key)
        elif event.kind in ("SPLIT", "MERGE"):
            self.split_or_merge(event, key)
        elif event.kind == "REDEEM":
            self.redeem(event, key)
        elif event.kind == "CONVERSION":
            self.conversion([event])
        else:
            name = event.activity_type or "UNKNOWN"
            self.ignored[name] = self.ignored.get(name, 0) + 1
            self.book.ignored_types[name] = self.book.ignored_types.get(name, 0) + 1

    def fill(self, event: LedgerEvent, key: EventKey) -> None:
        if not (event.asset and event.condition_id and event.side and event.size is not None):
            raise ValueError(f"a fill needs asset, condition, side and size: {event!r}")
        price = event.price if event.price is not None else ZERO
        state = self.state(event.asset, event.condition_id, event.outcome_index)
        size = event.size
        if event.side == "BUY":
            self.buy(state, size, price)
            delta = ZERO
        else:
            delta = self.sell(state, size, price)
        notional = size * price
        state.fills += 1
        state.volume_usdc += notional
        timestamp = key[0]
        if state.first_fill_at is None or timestamp < state.first_fill_at:
            state.first_fill_at = timestamp
        if state.last_fill_at is None or timestamp > state.last_fill_at:
            state.last_fill_at = timestamp
        self.touch(state, key)
        self.applied(key, [event.condition_id])
        self.record(key, "FILL", state, realized_delta=delta, notional_usdc=notional, is_fill=True)

    def fee(self, event: LedgerEvent, key: EventKey) -> None:
        """A TRADE activity row: its fee only, ``|usdc_size - size*price|`` rounded to 6 decimals."""
        if not (event.asset and event.condition_id):
            self.applied(key)
            return
        fee = trade_fee(event.size, event.price, event.usdc_size)
        state = self.state(event.asset, event.condition_id, event.outcome_index)
        state.fees_usdc += fee
        self.touch(state, key)
        self.applied(key)
        self.record(key, "FEE", state, fee_usdc=fee)

    def income(self, event: LedgerEvent, key: EventKey) -> None:
        amount = event.usdc_size if event.usdc_size is not None else ZERO
        self.book.income_usdc += amount
        name = event.activity_type
        self.book.income_by_type[name] = self.book.income_by_type.get(name, ZERO) + amount
        self.applied(key)
        self.journal.append(
            JournalEntry(key=key, timestamp=key[0], kind="INCOME", condition_id=None, asset=None,
                         income_usdc=amount)
        )  # fmt: skip

    def split_or_merge(self, event: LedgerEvent, key: EventKey) -> None:
        """SPLIT x: buy x of every outcome at 0.50; MERGE x: sell x of every outcome at 0.50."""
        condition = event.condition_id
        if condition is None:
            self.book.flags.add(MARKET_TOKENS_UNKNOWN)
            self.applied(key)
            return
        amount = event.size if event.size is not None else (event.usdc_size or ZERO)
        tokens = self.tokens_of(condition)
        for asset in tokens:
            state = self.state(asset, condition)
            if len(tokens) < 2:
                state.flags.add(MARKET_TOKENS_UNKNOWN)
            delta = ZERO
            if event.kind == "SPLIT":
                self.buy(state, amount, HALF)
            else:
                delta = self.sell(state, amount, HALF)
            self.touch(state, key)
            self.record(key, event.kind, state, realized_delta=delta)
        if len(tokens) < 2:
            self.book.flags.add(MARKET_TOKENS_UNKNOWN)
        self.applied(key, [condition])

    def redeem(self, event: LedgerEvent, key: EventKey) -> None:
        condition = event.condition_id
        if condition is None:
            self.book.flags.add(REDEEM_PAYOUT_UNKNOWN)
            self.applied(key)
            return
        if event.asset:
            self.redeem_outcome(event, condition, event.asset, key)
        else:
            self.redeem_condition(event, condition, key)
        self.applied(key, [condition])

    def redeem_outcome(self, event: LedgerEvent, condition: str, asset: str, key: EventKey) -> None:
        """A per-outcome row: closes its own token at its payout (``usdc_size / size`` when unknown)."""
        state = self.state(asset, condition, event.outcome_index)
        info = self.markets.get(condition)
        price = info.payout_of(asset) if info is not None else None
        size = event.size if event.size is not None else ZERO
        if price is None and size > 0:
            price = (event.usdc_size or ZERO) / size
        self.touch(state, key)
        if price is None:
            state.flags.add(REDEEM_PAYOUT_UNKNOWN)
            self.record(key, "REDEEM", state)
            return
        delta = self.sell(state, max(size, state.amount), price)
        self.record(key, "REDEEM", state, realized_delta=delta)

    def redeem_condition(self, event: LedgerEvent, condition: str, key: EventKey) -> None:
        """A condition-level row: closes every held token of the condition at the condition's payouts."""
        paid = event.usdc_size if event.usdc_size is not None else (event.size or ZERO)
        held = [
            self.book.tokens[a] for a in sorted(self.assets_by_condition.get(condition, ()))
            if self.book.tokens[a].amount > 0
        ]  # fmt: skip
        prices = self.condition_payouts(condition, held, paid)
        if prices is None:
            for state in held:
                state.flags.add(REDEEM_PAYOUT_UNKNOWN)
                self.touch(state, key)
                self.record(key, "REDEEM", state)
            if not held:
                self.book.flags.add(REDEEM_PAYOUT_UNKNOWN)
            return
        expected = ZERO
        for state in held:
            price = prices[state.asset]
            expected += state.amount * price
            delta = self.sell(state, state.amount, price)
            self.touch(state, key)
            self.record(key, "REDEEM", state, realized_delta=delta)
        if paid - expected > PAID_TOLERANCE:
            self.untracked_redemption(condition, paid - expected, key)

    def condition_payouts(
        self, condition: str, held: Sequence[TokenState], paid: Decimal
    ) -> dict[str, Decimal] | None:
        """Payout per held token: the market's resolution, else the one resolution the paid amount fits.

        Without a known resolution, each hypothesis "this held token won (1), the others lost (0)"
        expects its amount; "a token not held won" expects 0 (possible only when fewer than two
        tokens are held). Exactly one hypothesis within :data:`PAID_TOLERANCE` decides; none or
        several leave the payout unknown (None).
        """
        info = self.markets.get(condition)
        if info is not None and info.payouts is not None:
            prices = {s.asset: info.payout_of(s.asset) for s in held}
            if all(p is not None for p in prices.values()):
                return {a: p for a, p in prices.items() if p is not None}
            # a held token the market does not list: fall through to the paid amount
        hypotheses: list[dict[str, Decimal]] = [
            {s.asset: ONE if s is winner else ZERO for s in held} for winner in held
        ]
        if len(held) < 2:
            hypotheses.append({s.asset: ZERO for s in held})
        matching = [
            h for h in hypotheses
            if abs(sum((s.amount * h[s.asset] for s in held), ZERO) - paid) <= PAID_TOLERANCE
        ]  # fmt: skip
        return matching[0] if len(matching) == 1 else None

    def untracked_redemption(self, condition: str, extra_usdc: Decimal, key: EventKey) -> None:
        """A redeem paid more than the tracked shares are worth: tokens came from outside the tape."""
        info = self.markets.get(condition)
        payouts = info.payouts if info is not None else None
        if info is None or not payouts or not info.token_ids:
            self.book.flags.add(OVERSOLD)
            return
        best = max(range(min(len(payouts), len(info.token_ids))), key=lambda i: payouts[i])
        payout = payouts[best]
        state = self.state(info.token_ids[best], condition, best)
        state.flags.add(OVERSOLD)
        state.untracked_shares += extra_usdc / payout if payout > 0 else ZERO
        self.touch(state, key)

    def conversion(self, rows: Sequence[LedgerEvent]) -> None:
        """One transaction's CONVERSION rows (one per source condition), one conversion per amount."""
        by_amount: dict[Decimal, list[LedgerEvent]] = {}
        for row in rows:
            by_amount.setdefault(row.size if row.size is not None else ZERO, []).append(row)
        for amount in sorted(by_amount):
            self.convert(by_amount[amount], amount)

    def convert(self, rows: Sequence[LedgerEvent], amount: Decimal) -> None:
        """NO legs sold at their own avg; YES legs of the other markets bought at the subgraph's price."""
        key = max(event_key(row) for row in rows)
        self.book.conversions += 1
        sources = sorted({row.condition_id for row in rows if row.condition_id})
        legs_known = all(row.condition_id for row in rows)
        no_legs: list[TokenState] = []
        for row in rows:
            state = self.no_leg(row)
            if state is None:
                legs_known = False
            elif state not in no_legs:
                no_legs.append(state)
        members = self.event_members(sources)
        if members is None:
            legs_known = False
        touched: list[TokenState] = list(no_legs)
        # noPrice is the mean avg of the NO legs (0 for a leg never bought), taken before selling
        no_price = sum((s.avg_price for s in no_legs), ZERO) / len(no_legs) if no_legs else ZERO
        for state in no_legs:
            delta = self.sell(state, amount, state.avg_price)
            self.touch(state, key)
            self.record(key, "CONVERSION", state, realized_delta=delta)
        conditions = set(sources)
        if members is not None:
            conditions.update(members)
            question_count, no_count = len(members), len(sources)
            if question_count > no_count:
                yes_price = (no_price * no_count - (no_count - 1)) / (question_count - no_count)
                for member in members:
                    if member in sources:
                        continue
                    info = self.markets.get(member)
                    if info is None or not info.token_ids:
                        legs_known = False
                        continue
                    state = self.state(info.token_ids[0], member, 0)
                    self.buy(state, amount, yes_price)
                    self.touch(state, key)
                    self.record(key, "CONVERSION", state)
                    touched.append(state)
        if not legs_known:
            self.book.flags.add(CONVERSION_LEGS_UNKNOWN)
            for state in touched:
                state.flags.add(CONVERSION_LEGS_UNKNOWN)
        self.applied(key, conditions)

    def no_leg(self, row: LedgerEvent) -> TokenState | None:
        """The NO token converted by one row: the market's index 1, else the book's, else the row's."""
        condition = row.condition_id
        if condition is None:
            return None
        info = self.markets.get(condition)
        if info is not None and len(info.token_ids) >= 2:
            return self.state(info.token_ids[1], condition, 1)
        for asset in sorted(self.assets_by_condition.get(condition, ())):
            if self.book.tokens[asset].outcome_index == 1:
                return self.book.tokens[asset]
        if row.asset and row.outcome_index == 1:
            return self.state(row.asset, condition, 1)
        return None

    def event_members(self, sources: Sequence[str]) -> tuple[str, ...] | None:
        """The neg-risk event's markets, when every source condition is known to belong to it."""
        if not sources:
            return None
        first = self.markets.get(sources[0])
        members = first.neg_risk_members if first is not None else None
        if not members or not set(sources) <= set(members):
            return None
        return members


def trade_fee(size: Decimal | None, price: Decimal | None, usdc_size: Decimal | None) -> Decimal:
    """The fee a TRADE activity row carries: ``|usdc_size - size*price|`` to 6 decimals (0 if unknown)."""
    if size is None or price is None or usdc_size is None:
        return ZERO
    with localcontext(LEDGER_CONTEXT):
        return quantize_usdc(abs(usdc_size - size * price))


# --- figures ---------------------------------------------------------------------------------

MarkSource = Literal["api", "resolution"]
PositionStatus = Literal["open", "resolved", "closed"]


@dataclass(frozen=True, slots=True)
class Mark:
    price: Decimal
    source: MarkSource


def select_mark(
    asset: str, condition_id: str, markets: Markets, api_prices: Mapping[str, Decimal]
) -> Mark | None:
    """A resolved market's payout (``resolution``) wins over the API's latest ``cur_price`` (``api``)."""
    info = markets.get(condition_id)
    payout = info.payout_of(asset) if info is not None else None
    if payout is not None:
        return Mark(payout, "resolution")
    api = api_prices.get(asset)
    return Mark(api, "api") if api is not None else None


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """One ``position_pnl`` row, quantized for storage (USDC and shares to 6 decimals, prices to 12)."""

    asset: str
    condition_id: str
    outcome_index: int | None
    shares: Decimal
    avg_price: Decimal
    total_bought: Decimal
    cost_basis: Decimal
    """shares x avg."""
    buy_cost: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal | None
    """shares x mark - shares x avg; None without a mark (0 once no shares are left)."""
    mark_price: Decimal | None
    mark_source: MarkSource | None
    fees_usdc: Decimal
    status: PositionStatus
    complete: bool
    incomplete_reason: str | None
    untracked_shares: Decimal
    fills: int
    volume_usdc: Decimal
    first_event_at: int | None
    last_event_at: int | None
    first_fill_at: int | None
    last_fill_at: int | None


def position_figures(
    book: Book, markets: Markets | None = None, api_prices: Mapping[str, Decimal] | None = None
) -> list[PositionFigures]:
    """Every token of the book as a position row, marked at resolution or API prices, by asset."""
    markets = markets or {}
    api_prices = api_prices or {}
    figures = []
    with localcontext(LEDGER_CONTEXT):
        for asset, state in sorted(book.tokens.items()):
            info = markets.get(state.condition_id)
            mark = select_mark(asset, state.condition_id, markets, api_prices)
            unrealized: Decimal | None
            if state.amount == 0:
                unrealized = ZERO
            elif mark is not None:
                unrealized = state.amount * mark.price - state.amount * state.avg_price
            else:
                unrealized = None
            status: PositionStatus
            if state.amount == 0:
                status = "closed"
            elif info is not None and info.resolved:
                status = "resolved"
            else:
                status = "open"
            reasons = set(state.flags)
            if not book.history_complete:
                reasons.add(HISTORY_INCOMPLETE)
            index = info.outcome_index_of(asset) if info is not None else None
            figures.append(
                PositionFigures(
                    asset=asset,
                    condition_id=state.condition_id,
                    outcome_index=index if index is not None else state.outcome_index,
                    shares=quantize_shares(state.amount),
                    avg_price=quantize_price(state.avg_price),
                    total_bought=quantize_shares(state.total_bought),
                    cost_basis=quantize_usdc(state.amount * state.avg_price),
                    buy_cost=quantize_usdc(state.buy_cost),
                    realized_pnl=quantize_usdc(state.realized_pnl),
                    unrealized_pnl=_optional_usdc(unrealized),
                    mark_price=_optional_price(mark.price if mark else None),
                    mark_source=mark.source if mark else None,
                    fees_usdc=quantize_usdc(state.fees_usdc),
                    status=status,
                    complete=not reasons,
                    incomplete_reason=join_reasons(reasons),
                    untracked_shares=quantize_shares(state.untracked_shares),
                    fills=state.fills,
                    volume_usdc=quantize_usdc(state.volume_usdc),
                    first_event_at=state.first_event_at,
                    last_event_at=state.last_event_at,
                    first_fill_at=state.first_fill_at,
                    last_fill_at=state.last_fill_at,
                )
            )
    return figures


def utc_day(timestamp: int) -> date:
    """The UTC calendar day of an epoch-seconds timestamp (the daily partitions are UTC)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).date()
