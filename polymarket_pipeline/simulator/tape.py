"""The tape: every fill and every activity row, kept in (timestamp, seq) order for keyset paging.

Rows never change once written, which is what lets the routes cache their encoded JSON and lets
v2 cursors stay stable while new rows arrive. ``seq`` plays the role of the real API's internal
``sequence_id``: the tiebreak inside one second, never served.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from polymarket_pipeline.simulator.config import UNIT
from polymarket_pipeline.simulator.markets import SimMarket

MAX_SEQ = 1 << 62
UNLABELED = 999
"""The API's "outcome could not be labeled" index (feed rows, neg-risk redeems, rewards)."""

Side = Literal["BUY", "SELL"]
Role = Literal["taker", "maker"]


class _Timed(Protocol):
    @property
    def timestamp(self) -> int: ...


T = TypeVar("T")
R = TypeVar("R", bound=_Timed)


@dataclass(frozen=True, slots=True, eq=False)
class Fill:
    """One row of the trade tape: a taker row or one maker leg of a settlement transaction."""

    seq: int
    timestamp: int
    wallet: str
    side: Side
    market: SimMarket
    outcome_index: int
    size_u: int
    price: float
    transaction_hash: str
    role: Role
    fee: float
    """USDC fee paid by a taker in a fee market (0 otherwise): shows in ``usdcSize`` only."""
    feed_degraded: bool
    """Served by the unscoped feed with outcome index 999 and an empty event slug."""

    @property
    def key(self) -> tuple[int, int]:
        return (self.timestamp, self.seq)

    @property
    def size(self) -> float:
        return self.size_u / UNIT

    @property
    def asset(self) -> str:
        return self.market.token_ids[self.outcome_index]

    @property
    def usdc_size(self) -> float:
        """The cash that moved: size x price, plus the fee on a buy, minus it on a sell."""
        cash = self.size * self.price
        return round(cash + self.fee if self.side == "BUY" else cash - self.fee, 6)

    def truth(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "transaction_hash": self.transaction_hash,
            "asset": self.asset,
            "condition_id": self.market.condition_id,
            "side": self.side,
            "size": self.size,
            "price": self.price,
            "timestamp": self.timestamp,
            "role": self.role,
            "outcome_index": self.outcome_index,
            "seq": self.seq,
            "usdc_size": self.usdc_size,
            "fee": self.fee,
            "feed_degraded": self.feed_degraded,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Activity:
    """One /activity row. ``market`` None = not about a market (REWARD, rebates); ``outcome_index``
    None = about the whole condition (neg-risk REDEEM, SPLIT, MERGE, CONVERSION): served with an
    empty asset and outcome and outcome index 999."""

    seq: int
    timestamp: int
    wallet: str
    type: str
    market: SimMarket | None
    outcome_index: int | None
    size: float
    usdc_size: float
    price: float
    side: str
    transaction_hash: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.timestamp, self.seq)

    @property
    def condition_id(self) -> str:
        return self.market.condition_id if self.market is not None else ""

    @property
    def asset(self) -> str:
        if self.market is None or self.outcome_index is None:
            return ""
        return self.market.token_ids[self.outcome_index]

    @property
    def outcome(self) -> str:
        if self.market is None or self.outcome_index is None:
            return ""
        return self.market.outcomes[self.outcome_index]

    @property
    def served_outcome_index(self) -> int:
        return UNLABELED if self.outcome_index is None else self.outcome_index

    def truth(self) -> dict[str, Any]:
        """The row as the API serves it (empty asset/condition where the API leaves them empty)."""
        return {
            "wallet": self.wallet,
            "type": self.type,
            "transaction_hash": self.transaction_hash,
            "asset": self.asset,
            "condition_id": self.condition_id,
            "outcome_index": self.served_outcome_index,
            "side": self.side,
            "size": self.size,
            "usdc_size": self.usdc_size,
            "price": self.price,
            "timestamp": self.timestamp,
            "seq": self.seq,
        }


class Tape(Generic[T]):
    """Items kept sorted by (timestamp, seq) so a page is a bisect plus a slice walk."""

    __slots__ = ("items", "keys")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.items: list[T] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, key: tuple[int, int], item: T) -> None:
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)
            self.items.append(item)
        else:  # a back-dated row: rare, O(n) insert is fine
            i = bisect.bisect_right(self.keys, key)
            self.keys.insert(i, key)
            self.items.insert(i, item)

    def iter_desc(self, before: tuple[int, int] | None = None) -> Iterator[T]:
        """Newest first, strictly before ``before``."""
        items = self.items
        i = len(items) if before is None else bisect.bisect_left(self.keys, before)
        for j in range(i - 1, -1, -1):
            yield items[j]

    def iter_asc(self, after: tuple[int, int] | None = None) -> Iterator[T]:
        """Oldest first, strictly after ``after``."""
        items = self.items
        i = 0 if after is None else bisect.bisect_right(self.keys, after)
        for j in range(i, len(items)):
            yield items[j]


def take(
    rows: Iterator[R],
    start: int | None,
    end: int | None,
    predicate: Callable[[R], bool] | None,
    skip: int,
    limit: int,
) -> list[R]:
    """Walk an ordered iterator: stop past the time bound, filter, skip ``skip`` matches, keep ``limit``."""
    out: list[R] = []
    if limit <= 0:
        return out
    for row in rows:
        ts = row.timestamp
        if start is not None and ts < start:
            break
        if end is not None and ts > end:
            break
        if predicate is not None and not predicate(row):
            continue
        if skip:
            skip -= 1
            continue
        out.append(row)
        if len(out) >= limit:
            break
    return out


class TapeStore:
    """The global and per-wallet tapes of fills (all, taker-only) and of activity."""

    def __init__(self) -> None:
        self.fills: Tape[Fill] = Tape()
        self.taker_fills: Tape[Fill] = Tape()
        self.wallet_fills: dict[str, Tape[Fill]] = {}
        self.wallet_taker_fills: dict[str, Tape[Fill]] = {}
        self.activity: Tape[Activity] = Tape()
        self.wallet_activity: dict[str, Tape[Activity]] = {}

    def register(self, wallet: str) -> None:
        self.wallet_fills[wallet] = Tape()
        self.wallet_taker_fills[wallet] = Tape()
        self.wallet_activity[wallet] = Tape()

    def add_fill(self, fill: Fill) -> None:
        key = fill.key
        self.fills.add(key, fill)
        self.wallet_fills[fill.wallet].add(key, fill)
        if fill.role == "taker":
            self.taker_fills.add(key, fill)
            self.wallet_taker_fills[fill.wallet].add(key, fill)

    def add_activity(self, act: Activity) -> None:
        self.wallet_activity[act.wallet].add(act.key, act)
        self.activity.add(act.key, act)

    def trades(
        self,
        *,
        wallet: str | None,
        taker_only: bool,
        limit: int,
        skip: int = 0,
        before: tuple[int, int] | None = None,
        start: int | None = None,
        end: int | None = None,
        predicate: Callable[[Fill], bool] | None = None,
    ) -> list[Fill]:
        """Newest-first fills in [start, end], strictly before the ``before`` keyset anchor."""
        if wallet is None:
            tape = self.taker_fills if taker_only else self.fills
        else:
            found = (self.wallet_taker_fills if taker_only else self.wallet_fills).get(wallet)
            if found is None:
                return []
            tape = found
        if end is not None:
            end_anchor = (end + 1, 0)
            before = end_anchor if before is None or end_anchor < before else before
        return take(tape.iter_desc(before), start, None, predicate, skip, limit)

    def activity_of(
        self,
        wallet: str,
        *,
        limit: int,
        skip: int = 0,
        ascending: bool = False,
        anchor: tuple[int, int] | None = None,
        start: int | None = None,
        end: int | None = None,
        predicate: Callable[[Activity], bool] | None = None,
    ) -> list[Activity]:
        """A wallet's activity in time order (either direction), strictly past ``anchor``."""
        tape = self.wallet_activity.get(wallet)
        if tape is None:
            return []
        if ascending:
            after = anchor
            if start is not None and (after is None or (start - 1, MAX_SEQ) > after):
                after = (start - 1, MAX_SEQ)
            return take(tape.iter_asc(after), None, end, predicate, skip, limit)
        before = anchor
        if end is not None and (before is None or (end + 1, 0) < before):
            before = (end + 1, 0)
        return take(tape.iter_desc(before), start, None, predicate, skip, limit)
