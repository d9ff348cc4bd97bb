"""The seeded market model behind the simulator: wallets, markets, the trade tape, positions, closes.

Every route serves a view of this one state, and the same state is exported as ground truth, so a
test can compare what a pipeline stored with what "really" happened. Sizes are kept in integer
hundredths of a share, so positions are exact and "sold to zero" really is zero.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import heapq
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from polymarket_pipeline.simulator.catalog import Profile, make_market_text, make_profile

DAY = 86_400
CENTS = 100
"""Sizes are integer hundredths of a share."""
MAX_SEQ = 1 << 62

Side = Literal["BUY", "SELL"]
Role = Literal["taker", "maker"]
CloseReason = Literal["manual_close", "redeemed", "market_closed"]
MakerSpec = str | tuple[str, float]
"""A maker leg for :meth:`MarketModel.inject_trade`: a wallet (the size is split evenly) or (wallet, size)."""

T = TypeVar("T")


@dataclass
class SimulatorConfig:
    """Everything that shapes a simulator run; the same config (and start_time) gives the same data."""

    seed: int = 1
    n_markets: int = 20
    n_wallets: int = 50
    history_days: int = 30
    trades_per_wallet: int = 20
    """Taker settlements per wallet in the generated history (each wallet also gets maker legs)."""
    live_trades_per_second: float = 0.0
    enforce_limits: bool = False
    v1_offset_cap: int = 3000
    v1_max_page: int = 1000
    latency_ms: float = 0.0
    start_time: int | None = None
    """Epoch seconds where the generated history ends; None = now."""
    resolved_fraction: float = 0.25
    archived_fraction: float = 0.4
    """Share of the resolved markets that are also archived during the history."""
    redeem_probability: float = 0.5
    duplicate_leg_probability: float = 0.05
    clob_page_size: int = 1000
    gamma_default_limit: int = 20
    gamma_max_limit: int = 500
    request_log_size: int = 100_000
    rate_limits: dict[str, int] | None = None
    """Overrides of the published 10 s limits, keyed like ``limits.DEFAULT_LIMITS``."""
    rate_window_seconds: float = 10.0


@dataclass(eq=False)
class SimMarket:
    """One binary market: its static metadata plus resolution state."""

    index: int
    gamma_id: int
    event_id: int
    condition_id: str
    question_id: str
    token_ids: tuple[str, str]
    outcomes: tuple[str, str]
    question: str
    description: str
    slug: str
    event_slug: str
    event_title: str
    category: str
    tags: tuple[str, ...]
    icon: str
    created_at: int
    end_date: int
    neg_risk: bool
    neg_risk_market_id: str
    tick_size: float
    min_order_size: float
    has_volume: bool
    last_prices: list[float]
    closed: bool = False
    winner_index: int | None = None
    archived: bool = False
    closed_at: int | None = None
    archived_at: int | None = None
    volume: float = 0.0
    last_trade_at: int = 0

    @property
    def active(self) -> bool:
        """Polymarket keeps ``active: true`` after resolution; only ``closed`` flips."""
        return True

    @property
    def accepting_orders(self) -> bool:
        return not self.closed

    @property
    def winner_asset(self) -> str | None:
        return None if self.winner_index is None else self.token_ids[self.winner_index]

    @functools.cached_property
    def end_date_text(self) -> str:
        """``YYYY-MM-DD`` (cached: positions print it on every row)."""
        return dt.datetime.fromtimestamp(self.end_date, tz=dt.UTC).strftime("%Y-%m-%d")

    @functools.cached_property
    def end_day_iso(self) -> str:
        """Midnight of the end date, ISO with Z (closed-positions and CLOB ``end_date_iso``)."""
        return f"{self.end_date_text}T00:00:00Z"

    def price_of(self, outcome_index: int) -> float:
        """Last trade price, or the settlement price (1 winner / 0 loser) once resolved."""
        if self.closed and self.winner_index is not None:
            return 1.0 if outcome_index == self.winner_index else 0.0
        return self.last_prices[outcome_index]

    def truth(self) -> dict[str, Any]:
        return {
            "condition_id": self.condition_id,
            "token_ids": list(self.token_ids),
            "outcomes": list(self.outcomes),
            "question": self.question,
            "category": self.category,
            "closed": self.closed,
            "winner_index": self.winner_index,
            "winner_asset": self.winner_asset,
            "archived": self.archived,
            "closed_at": self.closed_at,
            "archived_at": self.archived_at,
            "gamma_id": self.gamma_id,
            "slug": self.slug,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Fill:
    """One row of the trade tape: a taker row or one maker leg of a settlement transaction."""

    seq: int
    timestamp: int
    wallet: str
    side: Side
    market: SimMarket
    outcome_index: int
    size_c: int
    price: float
    transaction_hash: str
    role: Role

    @property
    def key(self) -> tuple[int, int]:
        return (self.timestamp, self.seq)

    @property
    def size(self) -> float:
        return self.size_c / CENTS

    @property
    def asset(self) -> str:
        return self.market.token_ids[self.outcome_index]

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
        }


@dataclass(frozen=True, slots=True, eq=False)
class Activity:
    """One /activity row: a TRADE (one per fill, taker or maker) or a REDEEM."""

    seq: int
    timestamp: int
    wallet: str
    type: str
    market: SimMarket
    outcome_index: int
    size_c: int
    usdc_size: float
    price: float
    side: str
    transaction_hash: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.timestamp, self.seq)

    @property
    def size(self) -> float:
        return self.size_c / CENTS

    @property
    def asset(self) -> str:
        return self.market.token_ids[self.outcome_index]

    def truth(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "type": self.type,
            "transaction_hash": self.transaction_hash,
            "asset": self.asset,
            "condition_id": self.market.condition_id,
            "side": self.side,
            "size": self.size,
            "usdc_size": self.usdc_size,
            "price": self.price,
            "timestamp": self.timestamp,
            "seq": self.seq,
        }


@dataclass(slots=True, eq=False)
class Position:
    """A wallet's holding of one token, kept on an average-cost basis."""

    wallet: str
    market: SimMarket
    outcome_index: int
    size_c: int = 0
    bought_c: int = 0
    cost: float = 0.0
    """Cost basis of the current holding (size x avg price)."""
    last_avg: float = 0.0
    realized_pnl: float = 0.0
    bought_usdc: float = 0.0
    first_entry_at: int = 0
    last_event_at: int = 0
    closed_at: int = 0
    redeemed: bool = False
    hidden: bool = False
    """The market was archived while this position was unredeemed: gone from default views."""

    @property
    def asset(self) -> str:
        return self.market.token_ids[self.outcome_index]

    @property
    def avg_price(self) -> float:
        return self.cost * CENTS / self.size_c if self.size_c else self.last_avg


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
    cur_price: float
    current_value: float
    initial_value: float
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
            "redeemable": self.redeemable,
            "outcome": self.market.outcomes[self.outcome_index],
            "outcome_index": self.outcome_index,
            "status": self.status,
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


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


def _round_to_tick(p: float, tick: float) -> float:
    digits = 2 if tick >= 0.01 else 3
    return round(round(p / tick) * tick, digits)


class MarketModel:
    """Deterministic (per seed) Polymarket state, guarded by one re-entrant lock.

    Route handlers run on the server's event loop while tests drive the model from their own
    thread, so every public method takes ``lock``.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        cfg = self.config
        self.lock = threading.RLock()
        self.start_time = int(cfg.start_time) if cfg.start_time is not None else int(time.time())
        self.cursor_secret = hashlib.sha256(f"polymarket-sim-cursor:{cfg.seed}".encode()).digest()
        self.live_trades_per_second = float(cfg.live_trades_per_second)
        self._rng = random.Random(cfg.seed)
        self._live_rng = random.Random(cfg.seed * 7919 + 17)
        self._seq = 0
        self._wallets: list[str] = []
        self.profiles: dict[str, Profile] = {}
        self._markets: list[SimMarket] = []
        self._by_condition: dict[str, SimMarket] = {}
        self._by_token: dict[str, tuple[SimMarket, int]] = {}
        self._fills: Tape[Fill] = Tape()
        self._taker_fills: Tape[Fill] = Tape()
        self._wallet_fills: dict[str, Tape[Fill]] = {}
        self._wallet_taker_fills: dict[str, Tape[Fill]] = {}
        self._wallet_activity: dict[str, Tape[Activity]] = {}
        self._activity: Tape[Activity] = Tape()
        self._positions: dict[str, dict[str, Position]] = {}
        self._market_positions: dict[str, list[Position]] = {}
        self._closes: list[dict[str, Any]] = []
        with self.lock:
            self._build_history()

    # ------------------------------------------------------------------ read access
    @property
    def wallets(self) -> list[str]:
        with self.lock:
            return list(self._wallets)

    @property
    def markets(self) -> list[SimMarket]:
        with self.lock:
            return list(self._markets)

    def market(self, condition_id: str) -> SimMarket | None:
        return self._by_condition.get(condition_id.lower())

    def market_for_token(self, token_id: str) -> tuple[SimMarket, int] | None:
        return self._by_token.get(token_id)

    def fill_count(self) -> int:
        return len(self._fills)

    def profile(self, wallet: str) -> Profile:
        return self.profiles[wallet]

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
        with self.lock:
            if wallet is None:
                tape = self._taker_fills if taker_only else self._fills
            else:
                found = (self._wallet_taker_fills if taker_only else self._wallet_fills).get(wallet)
                if found is None:
                    return []
                tape = found
            if end is not None:
                end_anchor = (end + 1, 0)
                before = end_anchor if before is None or end_anchor < before else before
            return _take(tape.iter_desc(before), start, None, predicate, skip, limit)

    def activity(
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
        with self.lock:
            tape = self._wallet_activity.get(wallet)
            if tape is None:
                return []
            if ascending:
                after = anchor
                if start is not None and (after is None or (start - 1, MAX_SEQ) > after):
                    after = (start - 1, MAX_SEQ)
                return _take(tape.iter_asc(after), None, end, predicate, skip, limit)
            before = anchor
            if end is not None and (before is None or (end + 1, 0) < before):
                before = (end + 1, 0)
            return _take(tape.iter_desc(before), start, None, predicate, skip, limit)

    def position_views(
        self, wallet: str | None = None, condition_id: str | None = None, held_only: bool = False
    ) -> list[PositionView]:
        """Positions (open, hidden, closed; ``held_only``: size > 0) of a wallet and/or a market."""
        with self.lock:
            if wallet is not None:
                positions: Iterable[Position] = self._positions.get(wallet, {}).values()
                if condition_id is not None:
                    positions = [p for p in positions if p.market.condition_id == condition_id]
            elif condition_id is not None:
                positions = self._market_positions.get(condition_id, [])
            else:
                positions = [p for by_asset in self._positions.values() for p in by_asset.values()]
            if held_only:
                return [self._view(p) for p in positions if p.size_c > 0]
            return [self._view(p) for p in positions]

    # ------------------------------------------------------------------ mutations
    def inject_trade(
        self,
        taker: str,
        asset: str,
        side: str,
        size: float,
        price: float,
        makers: Sequence[MakerSpec] | None = None,
        timestamp: int | None = None,
    ) -> list[dict[str, Any]]:
        """One settlement: the taker row (size = sum of maker legs) plus one row per maker leg."""
        with self.lock:
            taker = self._ensure_wallet(taker)
            found = self._by_token.get(str(asset))
            if found is None:
                raise ValueError(f"unknown asset {asset!r}")
            market, idx = found
            if side.upper() not in ("BUY", "SELL"):
                raise ValueError(f"side must be BUY or SELL, not {side!r}")
            side_u: Side = "BUY" if side.upper() == "BUY" else "SELL"
            if not 0.0 < float(price) < 1.0:
                raise ValueError("price must be strictly between 0 and 1")
            size_c = round(float(size) * CENTS)
            if size_c <= 0:
                raise ValueError("size must be at least 0.01")
            if makers is None:
                legs = self._split_legs(self._live_rng, taker, size_c, market, idx, side_u, self._wallets)
            else:
                legs = self._explicit_legs(size_c, makers)
            ts = int(time.time()) if timestamp is None else int(timestamp)
            fills = self._settle(
                self._live_rng,
                taker,
                market,
                idx,
                side_u,
                legs,
                round(float(price), 6),
                ts,
            )
            return [f.truth() for f in fills]

    def generate_trades(self, n: int, timestamp: int | None = None) -> list[dict[str, Any]]:
        """``n`` random settlements at "now" (the live feed and admin use this)."""
        with self.lock:
            out: list[dict[str, Any]] = []
            ts = int(time.time()) if timestamp is None else int(timestamp)
            open_markets = [m for m in self._markets if not m.closed and m.created_at <= ts]
            if not open_markets or len(self._wallets) < 2:
                return out
            for _ in range(n):
                taker = self._live_rng.choice(self._wallets)
                fills = self._random_settlement(self._live_rng, taker, ts, open_markets, self._wallets)
                out.extend(f.truth() for f in fills)
            return out

    def resolve_market(self, condition_id: str, winner_index: int, at: int | None = None) -> None:
        """Close a market with a winner; positions stay (redeemable) until redeemed or archived."""
        with self.lock:
            market = self._require_market(condition_id)
            if winner_index not in (0, 1):
                raise ValueError("winner_index must be 0 or 1")
            if market.closed:
                if market.winner_index == winner_index:
                    return
                raise ValueError(f"market {condition_id} is already resolved")
            market.closed = True
            market.winner_index = winner_index
            market.closed_at = int(time.time()) if at is None else int(at)

    def archive_market(self, condition_id: str, at: int | None = None) -> None:
        """Archive a resolved market: its unredeemed positions leave the default views."""
        with self.lock:
            market = self._require_market(condition_id)
            if not market.closed:
                raise ValueError(f"market {condition_id} must be resolved before it is archived")
            if market.archived:
                return
            ts = int(time.time()) if at is None else int(at)
            market.archived = True
            market.archived_at = ts
            for pos in self._market_positions.get(market.condition_id, []):
                if pos.size_c > 0 and not pos.hidden:
                    pos.hidden = True
                    self._close(pos, "market_closed", ts)

    def redeem(
        self, wallet: str, condition_id: str | Sequence[str], at: int | None = None
    ) -> list[dict[str, Any]]:
        """Redeem every position of the wallet in the given resolved market(s), in one transaction."""
        with self.lock:
            wallet = wallet.lower()
            ids = [condition_id] if isinstance(condition_id, str) else list(condition_id)
            markets = [self._require_market(cid) for cid in ids]
            for m in markets:
                if not m.closed:
                    raise ValueError(f"market {m.condition_id} is not resolved")
            ts = int(time.time()) if at is None else int(at)
            return [a.truth() for a in self._redeem(wallet, markets, ts, self._new_hash(self._live_rng))]

    def close_position(self, wallet: str, asset: str, timestamp: int | None = None) -> list[dict[str, Any]]:
        """Sell the whole position at the market's last price (a taker SELL): a manual close."""
        with self.lock:
            wallet = wallet.lower()
            pos = self._positions.get(wallet, {}).get(str(asset))
            if pos is None or pos.size_c <= 0:
                raise ValueError(f"{wallet} holds no {asset}")
            market = pos.market
            if market.closed:
                raise ValueError("market is resolved: redeem instead of selling")
            legs = self._split_legs(
                self._live_rng, wallet, pos.size_c, market, pos.outcome_index, "SELL", self._wallets
            )
            price = _round_to_tick(_clip(market.last_prices[pos.outcome_index], 0.01, 0.99), market.tick_size)
            ts = int(time.time()) if timestamp is None else int(timestamp)
            fills = self._settle(self._live_rng, wallet, market, pos.outcome_index, "SELL", legs, price, ts)
            return [f.truth() for f in fills]

    def add_wallets(self, n: int, with_history: bool = True) -> list[str]:
        """New wallets, optionally with back-dated history on the currently open markets.

        The back-filled fills' makers are other new wallets (existing wallets only when n == 1),
        and makers only buy, so nobody's past holdings go negative.
        """
        with self.lock:
            new = [self._new_wallet(self._rng) for _ in range(n)]
            if with_history and n:
                cfg = self.config
                t_end = self.start_time
                t0 = t_end - cfg.history_days * DAY
                pool = new if len(new) >= 2 else [w for w in self._wallets if w not in new] or new
                events = sorted(
                    (self._rng.randint(t0, t_end), i, w)
                    for i, w in enumerate(new)
                    for _ in range(cfg.trades_per_wallet)
                )
                for ts, _, w in events:
                    open_markets = [m for m in self._markets if not m.closed and m.created_at <= ts]
                    if open_markets and len(pool) >= 1 and (len(pool) > 1 or pool[0] != w):
                        self._random_settlement(self._rng, w, ts, open_markets, pool, makers_buy_only=True)
            return new

    def set_live_rate(self, trades_per_second: float) -> None:
        if trades_per_second < 0:
            raise ValueError("trades_per_second must be >= 0")
        self.live_trades_per_second = float(trades_per_second)

    def ground_truth(self) -> dict[str, Any]:
        """Everything that happened: fills, positions, closes, markets and activity."""
        with self.lock:
            views = [self._view(p) for by_asset in self._positions.values() for p in by_asset.values()]
            return {
                "wallets": list(self._wallets),
                "fills": [f.truth() for f in self._fills.items],
                "positions": [v.truth() for v in views if v.size > 0 and not v.hidden],
                "archived_positions": [v.truth() for v in views if v.size > 0 and v.hidden],
                "closes": [dict(c) for c in self._closes],
                "markets": [m.truth() for m in self._markets],
                "activity": [a.truth() for a in self._activity.items],
            }

    # ------------------------------------------------------------------ construction
    def _build_history(self) -> None:
        cfg = self.config
        rng = self._rng
        t_end = self.start_time
        span = max(1, cfg.history_days * DAY)
        t0 = t_end - span
        for _ in range(cfg.n_wallets):
            self._new_wallet(rng)
        n = cfg.n_markets
        n_resolved = min(n - 1, max(1, round(n * cfg.resolved_fraction))) if n >= 3 else 0
        resolved = set(rng.sample(range(n), n_resolved))
        n_archived = max(1, round(n_resolved * cfg.archived_fraction)) if n_resolved >= 2 else 0
        archived = set(rng.sample(sorted(resolved), n_archived))
        heap: list[tuple[int, int, int, str, Any]] = []
        counter = 0
        for i in range(n):
            created = rng.randint(t0 - 30 * DAY, t0 + int(0.3 * span))
            if i in resolved:
                resolve_at = rng.randint(t0 + int(0.4 * span), t0 + int(0.95 * span))
                end_date = resolve_at
                heap.append((resolve_at, 0, counter := counter + 1, "resolve", i))
                if i in archived:
                    heap.append((rng.randint(resolve_at + 1, t_end), 1, counter := counter + 1, "archive", i))
            else:
                end_date = t_end + rng.randint(1, 120) * DAY
            self._new_market(rng, i, created, end_date)
        for w in self._wallets:
            for _ in range(cfg.trades_per_wallet):
                heap.append((rng.randint(t0, t_end), 2, counter := counter + 1, "trade", w))
        heapq.heapify(heap)
        while heap:
            ts, _, _, kind, arg = heapq.heappop(heap)
            if kind == "trade":
                open_markets = [m for m in self._markets if not m.closed and m.created_at <= ts]
                if open_markets:
                    self._random_settlement(rng, arg, ts, open_markets, self._wallets)
            elif kind == "resolve":
                market = self._markets[arg]
                p0 = market.last_prices[0]
                winner = 0 if rng.random() < (0.8 if p0 >= 0.5 else 0.2) else 1
                self.resolve_market(market.condition_id, winner, at=ts)
                arch = next((e[0] for e in heap if e[3] == "archive" and e[4] == arg), t_end)
                for pos in self._market_positions.get(market.condition_id, []):
                    if pos.size_c > 0 and rng.random() < cfg.redeem_probability:
                        at = rng.randint(ts + 1, max(ts + 1, arch))
                        if at <= t_end:
                            heapq.heappush(heap, (at, 3, counter := counter + 1, "redeem", (pos.wallet, arg)))
            elif kind == "archive":
                self.archive_market(self._markets[arg].condition_id, at=ts)
            else:
                wallet, mi = arg
                market = self._markets[mi]
                held = self._positions.get(wallet, {})
                if any(held.get(t) is not None and held[t].size_c > 0 for t in market.token_ids):
                    self._redeem(wallet, [market], ts, self._new_hash(rng))

    def _new_wallet(self, rng: random.Random) -> str:
        while True:
            address = f"0x{rng.getrandbits(160):040x}"
            if address not in self.profiles:
                break
        self._register(address, make_profile(rng, len(self._wallets)))
        return address

    def _register(self, address: str, profile: Profile) -> None:
        self._wallets.append(address)
        self.profiles[address] = profile
        self._wallet_fills[address] = Tape()
        self._wallet_taker_fills[address] = Tape()
        self._wallet_activity[address] = Tape()
        self._positions[address] = {}

    def _ensure_wallet(self, address: str) -> str:
        address = str(address).strip().lower()
        if len(address) != 42 or not address.startswith("0x"):
            raise ValueError(f"invalid wallet address {address!r}")
        try:
            int(address[2:], 16)
        except ValueError:
            raise ValueError(f"invalid wallet address {address!r}") from None
        if address not in self.profiles:
            seed = int(address[2:], 16) ^ self.config.seed
            self._register(address, make_profile(random.Random(seed), len(self._wallets)))
        return address

    def _new_market(self, rng: random.Random, i: int, created: int, end_date: int) -> SimMarket:
        text = make_market_text(rng, end_date)
        slug = text.slug
        if any(m.slug == slug for m in self._markets):
            slug = f"{slug}-{i}"
        tokens = (str(rng.randrange(10**76, 10**77)), str(rng.randrange(10**76, 10**77)))
        tick = 0.01 if rng.random() < 0.8 else 0.001
        p0 = _round_to_tick(rng.uniform(0.1, 0.9), tick)
        neg_risk = text.category == "Politics" and rng.random() < 0.7
        market = SimMarket(
            index=i,
            gamma_id=500_000 + i * 13 + rng.randint(0, 12),
            event_id=20_000 + i * 7 + rng.randint(0, 6),
            condition_id=f"0x{rng.getrandbits(256):064x}",
            question_id=f"0x{rng.getrandbits(256):064x}",
            token_ids=tokens,
            outcomes=text.outcomes,
            question=text.question,
            description=text.description,
            slug=slug,
            event_slug=text.event_slug,
            event_title=text.event_title,
            category=text.category,
            tags=text.tags,
            icon=text.icon,
            created_at=created,
            end_date=end_date,
            neg_risk=neg_risk,
            neg_risk_market_id=f"0x{rng.getrandbits(256):064x}" if neg_risk else "",
            tick_size=tick,
            min_order_size=5.0,
            has_volume=rng.random() < 0.8,
            last_prices=[p0, round(1 - p0, 4)],
        )
        self._markets.append(market)
        self._by_condition[market.condition_id] = market
        self._by_token[tokens[0]] = (market, 0)
        self._by_token[tokens[1]] = (market, 1)
        self._market_positions[market.condition_id] = []
        return market

    # ------------------------------------------------------------------ trading mechanics
    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    @staticmethod
    def _new_hash(rng: random.Random) -> str:
        return f"0x{rng.getrandbits(256):064x}"

    def _require_market(self, condition_id: str) -> SimMarket:
        market = self._by_condition.get(str(condition_id).lower())
        if market is None:
            raise ValueError(f"unknown market {condition_id!r}")
        return market

    def _position(self, wallet: str, market: SimMarket, idx: int) -> Position:
        by_asset = self._positions[wallet]
        asset = market.token_ids[idx]
        pos = by_asset.get(asset)
        if pos is None:
            pos = Position(wallet, market, idx)
            by_asset[asset] = pos
            self._market_positions[market.condition_id].append(pos)
        return pos

    def _held(self, wallet: str, market: SimMarket, idx: int) -> int:
        pos = self._positions.get(wallet, {}).get(market.token_ids[idx])
        return pos.size_c if pos is not None else 0

    def _random_settlement(
        self,
        rng: random.Random,
        taker: str,
        ts: int,
        open_markets: Sequence[SimMarket],
        pool: Sequence[str],
        makers_buy_only: bool = False,
    ) -> list[Fill]:
        held = (
            [
                p
                for p in self._positions[taker].values()
                if p.size_c > 0 and not p.market.closed and p.market.created_at <= ts
            ]
            if rng.random() < 0.35
            else []
        )
        side: Side
        if held:
            pos = rng.choice(held)
            market, idx, side = pos.market, pos.outcome_index, "SELL"
            if pos.size_c < 2 * CENTS or rng.random() < 0.4:
                total = pos.size_c
            else:
                total = rng.randint(CENTS, pos.size_c - CENTS)
        else:
            market, idx, side = rng.choice(open_markets), rng.randrange(2), "BUY"
            shares = rng.choice([rng.randint(1, 50), rng.randint(10, 500), rng.randint(100, 3000)])
            total = shares * CENTS + (rng.randint(0, 99) if rng.random() < 0.3 else 0)
        drift = rng.gauss(0, 0.03)
        p0 = _round_to_tick(_clip(market.last_prices[0] + drift, 0.02, 0.98), market.tick_size)
        price = p0 if idx == 0 else round(1 - p0, 4)
        legs = self._split_legs(rng, taker, total, market, idx, side, pool)
        return self._settle(
            rng,
            taker,
            market,
            idx,
            side,
            legs,
            price,
            ts,
            makers_buy_only=makers_buy_only,
        )

    def _split_legs(
        self,
        rng: random.Random,
        taker: str,
        total: int,
        market: SimMarket,
        idx: int,
        side: str,
        pool: Sequence[str],
    ) -> list[tuple[str, int]]:
        """Pick 1-3 maker wallets and split the taker's size between them (each leg >= 1 share)."""
        if not any(w != taker for w in pool):
            pool = self._wallets
            if not any(w != taker for w in pool):
                raise ValueError("no other wallet can be the maker")
        n = max(1, min(rng.choice([1, 1, 2, 2, 3]), total // CENTS))
        sell_idx = idx if side == "BUY" else 1 - idx
        pool_set = None if pool is self._wallets else set(pool)
        in_market = self._market_positions[market.condition_id]
        makers: list[str] = []
        for _ in range(n):
            maker = ""
            if in_market and rng.random() < 0.5:  # prefer a holder, so makers also sell
                for _ in range(4):
                    p = rng.choice(in_market)
                    if (
                        p.outcome_index == sell_idx
                        and p.size_c >= CENTS
                        and p.wallet != taker
                        and (pool_set is None or p.wallet in pool_set)
                    ):
                        maker = p.wallet
                        break
            while not maker or maker == taker:
                maker = rng.choice(pool)
            makers.append(maker)
        if n == 1:
            return [(makers[0], total)]
        rest = total - n * CENTS
        cuts = sorted(rng.randint(0, rest) for _ in range(n - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, rest], strict=True)]
        sizes = [CENTS + p for p in parts]
        if rng.random() < self.config.duplicate_leg_probability:
            # Two identical fills in one tx: same maker, size and price. They must stay two rows.
            third = sizes[2] if n == 3 else 0
            pair = total - third
            if pair % 2 == 0 and pair // 2 >= CENTS:
                sizes[0] = sizes[1] = pair // 2
                makers[1] = makers[0]
        return list(zip(makers, sizes, strict=True))

    def _explicit_legs(self, size_c: int, makers: Sequence[MakerSpec]) -> list[tuple[str, int]]:
        if not makers:
            raise ValueError("makers must not be empty")
        if all(isinstance(m, str) for m in makers):
            wallets = [self._ensure_wallet(m) for m in makers]  # type: ignore[arg-type]
            base, extra = divmod(size_c, len(wallets))
            if base <= 0:
                raise ValueError("size too small for that many makers")
            return [(w, base + (extra if i == len(wallets) - 1 else 0)) for i, w in enumerate(wallets)]
        legs: list[tuple[str, int]] = []
        for m in makers:
            if isinstance(m, str):
                raise ValueError("give every maker as (wallet, size) or none of them")
            wallet, leg = m
            legs.append((self._ensure_wallet(wallet), round(float(leg) * CENTS)))
        if sum(s for _, s in legs) != size_c:
            raise ValueError("the taker size must equal the sum of the maker legs")
        return legs

    def _settle(
        self,
        rng: random.Random,
        taker: str,
        market: SimMarket,
        idx: int,
        side: Side,
        legs: Sequence[tuple[str, int]],
        price: float,
        ts: int,
        makers_buy_only: bool = False,
    ) -> list[Fill]:
        """Apply one settlement transaction: a taker row matched by maker legs (direct or CTF mint/merge)."""
        if market.closed:
            raise ValueError(f"market {market.condition_id} is resolved: no more trades")
        if any(s <= 0 for _, s in legs):
            raise ValueError("every maker leg must be positive")
        total = sum(s for _, s in legs)
        if side == "SELL":
            held = self._held(taker, market, idx)
            if held < total:
                raise ValueError(f"{taker} holds {held / CENTS} and cannot sell {total / CENTS}")
            if 0 < held - total < CENTS:
                raise ValueError("a sell must leave zero or at least one share")
        other = 1 - idx
        q = round(1 - price, 6)
        reserved: dict[tuple[str, int], int] = {}
        planned: list[tuple[str, Side, int, int, float]] = []
        for maker, s in legs:
            if maker == taker:
                raise ValueError("the taker cannot be its own maker")
            tok = idx if side == "BUY" else other
            held = self._held(maker, market, tok) - reserved.get((maker, tok), 0)
            left = held - s
            if not makers_buy_only and held >= s and (left == 0 or left >= CENTS):
                reserved[(maker, tok)] = reserved.get((maker, tok), 0) + s
                planned.append((maker, "SELL", tok, s, price if tok == idx else q))
            else:
                buy_idx = other if side == "BUY" else idx
                planned.append((maker, "BUY", buy_idx, s, q if buy_idx == other else price))
        tx = self._new_hash(rng)
        fills = [Fill(self._next_seq(), ts, taker, side, market, idx, total, price, tx, "taker")]
        for maker, mside, mi, s, mp in planned:
            fills.append(Fill(self._next_seq(), ts, maker, mside, market, mi, s, mp, tx, "maker"))
        for f in fills:
            self._record_fill(f)
        if ts >= market.last_trade_at:
            market.last_trade_at = ts
            market.last_prices[idx] = price
            market.last_prices[other] = q
        market.volume += total / CENTS * price
        return fills

    def _record_fill(self, fill: Fill) -> None:
        key = fill.key
        self._fills.add(key, fill)
        self._wallet_fills[fill.wallet].add(key, fill)
        if fill.role == "taker":
            self._taker_fills.add(key, fill)
            self._wallet_taker_fills[fill.wallet].add(key, fill)
        self._add_activity(
            Activity(
                fill.seq,
                fill.timestamp,
                fill.wallet,
                "TRADE",
                fill.market,
                fill.outcome_index,
                fill.size_c,
                round(fill.size * fill.price, 6),
                fill.price,
                fill.side,
                fill.transaction_hash,
            )
        )
        pos = self._position(fill.wallet, fill.market, fill.outcome_index)
        s = fill.size_c
        if fill.side == "BUY":
            if pos.size_c == 0:
                pos.cost = 0.0
                pos.redeemed = False
            pos.size_c += s
            pos.bought_c += s
            pos.cost += s / CENTS * fill.price
            pos.bought_usdc += s / CENTS * fill.price
            if not pos.first_entry_at:
                pos.first_entry_at = fill.timestamp
        else:
            if s > pos.size_c:  # pragma: no cover - _settle checks holdings first
                raise AssertionError("negative position")
            avg = pos.avg_price
            pos.realized_pnl += s / CENTS * (fill.price - avg)
            pos.size_c -= s
            pos.cost = avg * pos.size_c / CENTS
            if pos.size_c == 0:
                pos.last_avg = avg
                pos.cost = 0.0
                pos.closed_at = fill.timestamp
                self._close(pos, "manual_close", fill.timestamp)
        pos.last_event_at = max(pos.last_event_at, fill.timestamp)

    def _add_activity(self, act: Activity) -> None:
        self._wallet_activity[act.wallet].add(act.key, act)
        self._activity.add(act.key, act)

    def _redeem(self, wallet: str, markets: Sequence[SimMarket], ts: int, tx: str) -> list[Activity]:
        rows: list[Activity] = []
        by_asset = self._positions.get(wallet, {})
        for market in markets:
            for idx in (0, 1):
                pos = by_asset.get(market.token_ids[idx])
                if pos is None or pos.size_c <= 0:
                    continue
                size = pos.size_c / CENTS
                payout = size if idx == market.winner_index else 0.0
                act = Activity(
                    self._next_seq(),
                    ts,
                    wallet,
                    "REDEEM",
                    market,
                    idx,
                    pos.size_c,
                    round(payout, 6),
                    0.0,
                    "",
                    tx,
                )
                self._add_activity(act)
                rows.append(act)
                pos.realized_pnl += payout - pos.cost
                pos.last_avg = pos.avg_price
                pos.size_c = 0
                pos.cost = 0.0
                pos.redeemed = True
                pos.closed_at = ts
                pos.last_event_at = max(pos.last_event_at, ts)
                if not pos.hidden:
                    self._close(pos, "redeemed", ts)
                pos.hidden = False
        return rows

    def _close(self, pos: Position, reason: CloseReason, at: int) -> None:
        self._closes.append(
            {
                "wallet": pos.wallet,
                "asset": pos.asset,
                "condition_id": pos.market.condition_id,
                "reason": reason,
                "at": at,
            }
        )

    def _view(self, pos: Position) -> PositionView:
        market = pos.market
        idx = pos.outcome_index
        size = pos.size_c / CENTS
        avg = pos.avg_price
        cur = market.price_of(idx)
        current_value = size * cur
        initial = pos.cost if pos.size_c else 0.0
        cash_pnl = current_value - initial
        if pos.size_c == 0:
            status = "CLOSED"
        elif market.closed:
            status = "REDEEMABLE" if idx == market.winner_index else "REDEEMABLE_LOST"
        else:
            status = "OPEN"
        mergeable = not market.closed and pos.size_c > 0 and self._held(pos.wallet, market, 1 - idx) > 0
        return PositionView(
            wallet=pos.wallet,
            market=market,
            outcome_index=idx,
            size=size,
            avg_price=avg,
            total_bought=pos.bought_c / CENTS,
            realized_pnl=pos.realized_pnl,
            cur_price=cur,
            current_value=current_value,
            initial_value=initial,
            cash_pnl=cash_pnl,
            percent_pnl=cash_pnl / initial * 100 if initial else 0.0,
            percent_realized_pnl=pos.realized_pnl / pos.bought_usdc * 100 if pos.bought_usdc else 0.0,
            redeemable=market.closed and pos.size_c > 0,
            mergeable=mergeable,
            status=status,
            archived=market.archived,
            hidden=pos.hidden,
            first_entry_at=pos.first_entry_at,
            last_event_at=pos.last_event_at,
            closed_at=pos.closed_at,
        )


def _take(
    rows: Iterator[T],
    start: int | None,
    end: int | None,
    predicate: Callable[[T], bool] | None,
    skip: int,
    limit: int,
) -> list[T]:
    """Walk an ordered iterator: stop past the time bound, filter, skip ``skip`` matches, keep ``limit``."""
    out: list[T] = []
    if limit <= 0:
        return out
    for row in rows:
        ts: int = row.timestamp  # type: ignore[attr-defined]
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
