"""The seeded market model behind the simulator: one lock around the world, and every way to change it.

Every route serves a view of this one state, and the same state is exported as ground truth, so
a test can compare what a pipeline stored with what "really" happened. The parts live in their
own modules: ``markets`` (catalogue, resolution, price history), ``tape`` (fills and activity in
keyset order), ``positions`` (balances and closes), ``accounting`` (Polymarket's weighted-average
cost, realized PnL and fees, in chain order), ``pnl_series`` (``/v2/user-pnl`` and the PnL ground
truth), ``settlement`` (trades), ``activity`` (redeems, splits, merges, conversions, rewards,
transfers), ``history`` (the seeded past), ``clock`` (now and the live tape) and ``journal`` (the
state file). This module only takes the lock, resolves timestamps, journals successful changes
and undoes the random draws of failed ones.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Sequence
from typing import Any

from polymarket_pipeline.simulator import activity as ops
from polymarket_pipeline.simulator import pnl_series
from polymarket_pipeline.simulator.accounting import dec
from polymarket_pipeline.simulator.catalog import Profile
from polymarket_pipeline.simulator.clock import Clock
from polymarket_pipeline.simulator.config import DAY, UNIT, SimulatorConfig
from polymarket_pipeline.simulator.history import backfill_wallets, build_history
from polymarket_pipeline.simulator.journal import Journal, JournalState, StateFileError, read_state
from polymarket_pipeline.simulator.markets import SimEvent, SimMarket, clip, round_to_tick
from polymarket_pipeline.simulator.pnl_series import FIDELITIES, INTERVAL_SECONDS
from polymarket_pipeline.simulator.positions import CloseReason, PositionView
from polymarket_pipeline.simulator.settlement import (
    MakerSpec,
    explicit_legs,
    random_settlement,
    settle,
    split_legs,
)
from polymarket_pipeline.simulator.tape import Activity, Fill, Side
from polymarket_pipeline.simulator.world import World, new_hash

__all__ = [
    "DAY",
    "UNIT",
    "Activity",
    "CloseReason",
    "Fill",
    "MakerSpec",
    "MarketModel",
    "PositionView",
    "SimEvent",
    "SimMarket",
    "SimulatorConfig",
    "StateFileError",
]


class MarketModel:
    """Deterministic (per seed) Polymarket state, guarded by one re-entrant lock.

    Route handlers run on the server's event loop while tests drive the model from their own
    thread, so every public method takes ``lock``.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        cfg = self.config
        self.lock = threading.RLock()
        self.clock = Clock()
        state = read_state(cfg.state_file, cfg) if cfg.state_file else JournalState()
        anchor = cfg.start_time if cfg.start_time is not None else state.start_time
        self.start_time = int(anchor) if anchor is not None else self.clock.now()
        self.cursor_secret = hashlib.sha256(f"polymarket-sim-cursor:{cfg.seed}".encode()).digest()
        self.live_trades_per_second = float(cfg.live_trades_per_second)
        self._rng = random.Random(cfg.seed)
        self._live_rng = random.Random(cfg.seed * 7919 + 17)
        self.world = World(cfg)
        self._journal: Journal | None = None
        with self.lock:
            build_history(self.world, self._rng, self.start_time)
            if cfg.state_file:
                self._replay(cfg.state_file, state.entries)
                self._journal = Journal.open(cfg.state_file, cfg, state, self.start_time)

    # ------------------------------------------------------------------ read access
    @property
    def wallets(self) -> list[str]:
        with self.lock:
            return list(self.world.wallets)

    @property
    def markets(self) -> list[SimMarket]:
        with self.lock:
            return list(self.world.catalogue.markets)

    @property
    def events(self) -> list[SimEvent]:
        """Every Gamma event (a neg-risk one groups several markets)."""
        with self.lock:
            return list(self.world.catalogue.events.values())

    @property
    def profiles(self) -> dict[str, Profile]:
        return self.world.profiles

    def market(self, condition_id: str) -> SimMarket | None:
        return self.world.catalogue.get(condition_id)

    def market_for_token(self, token_id: str) -> tuple[SimMarket, int] | None:
        return self.world.catalogue.for_token(token_id)

    def fill_count(self) -> int:
        return len(self.world.tape.fills)

    def profile(self, wallet: str) -> Profile:
        return self.world.profiles[wallet]

    @property
    def journal_entries(self) -> int | None:
        """Changes recorded in the state file (None without one)."""
        return None if self._journal is None else self._journal.entries

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
            return self.world.tape.trades(
                wallet=wallet,
                taker_only=taker_only,
                limit=limit,
                skip=skip,
                before=before,
                start=start,
                end=end,
                predicate=predicate,
            )

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
            return self.world.tape.activity_of(
                wallet,
                limit=limit,
                skip=skip,
                ascending=ascending,
                anchor=anchor,
                start=start,
                end=end,
                predicate=predicate,
            )

    def position_views(
        self, wallet: str | None = None, condition_id: str | None = None, held_only: bool = False
    ) -> list[PositionView]:
        """Positions (open, hidden, closed; ``held_only``: size > 0) of a wallet and/or a market."""
        with self.lock:
            return self.world.book.views(wallet, condition_id, held_only)

    # ------------------------------------------------------------------ changes (journaled)
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
        spec = (
            None
            if makers is None
            else [m if isinstance(m, str) else [str(m[0]), float(m[1])] for m in makers]
        )
        return self._run(
            "inject",
            taker=str(taker),
            asset=str(asset),
            side=str(side),
            size=float(size),
            price=float(price),
            makers=spec,
            timestamp=self.clock.resolve(timestamp),
        )

    def generate_trades(self, n: int, timestamp: int | None = None) -> list[dict[str, Any]]:
        """``n`` random settlements at "now" (the live feed and admin use this)."""
        return self._run("generate", n=int(n), timestamp=self.clock.resolve(timestamp))

    def resolve_market(
        self, condition_id: str, winner_index: int, at: int | None = None, flag_winner: bool = True
    ) -> None:
        """Close a market with a winner; positions stay (redeemable) until redeemed or archived.

        ``flag_winner=False`` resolves it the way most 2022-23 markets read: prices 1/0, but no
        token marked ``winner: true`` on the CLOB.
        """
        self._run(
            "resolve",
            condition_id=str(condition_id),
            winner_index=int(winner_index),
            at=self.clock.resolve(at),
            flag_winner=bool(flag_winner),
        )

    def resolve_event(
        self, event_id: int, winner_condition_id: str, at: int | None = None, flag_winner: bool = True
    ) -> None:
        """Resolve every market of a neg-risk event: Yes for the winner, No for the others."""
        with self.lock:
            event = self.world.catalogue.events.get(int(event_id))
            if event is None:
                raise ValueError(f"unknown event {event_id!r}")
            if all(m.condition_id != str(winner_condition_id).lower() for m in event.markets):
                raise ValueError(f"market {winner_condition_id!r} is not in event {event_id}")
            ts = self.clock.resolve(at)
            for m in event.markets:
                self.resolve_market(
                    m.condition_id,
                    0 if m.condition_id == winner_condition_id.lower() else 1,
                    at=ts,
                    flag_winner=flag_winner,
                )

    def archive_market(self, condition_id: str, at: int | None = None) -> None:
        """Archive a resolved market: its unredeemed positions leave the default views."""
        self._run("archive", condition_id=str(condition_id), at=self.clock.resolve(at))

    def redeem(
        self, wallet: str, condition_id: str | Sequence[str], at: int | None = None
    ) -> list[dict[str, Any]]:
        """Redeem every position of the wallet in the given resolved market(s), in one transaction."""
        ids = [condition_id] if isinstance(condition_id, str) else [str(c) for c in condition_id]
        return self._run("redeem", wallet=str(wallet), condition_ids=ids, at=self.clock.resolve(at))

    def close_position(self, wallet: str, asset: str, timestamp: int | None = None) -> list[dict[str, Any]]:
        """Sell the whole position at the market's last price (a taker SELL): a manual close."""
        return self._run(
            "close", wallet=str(wallet), asset=str(asset), timestamp=self.clock.resolve(timestamp)
        )

    def add_wallets(self, n: int, with_history: bool = True) -> list[str]:
        """New wallets, optionally with back-dated history on the markets open at the time."""
        return self._run("add_wallets", n=int(n), with_history=bool(with_history))

    def split(
        self, wallet: str, condition_id: str, size: float, at: int | None = None
    ) -> list[dict[str, Any]]:
        """SPLIT ``size`` USDC into ``size`` of each outcome token (both positions grow; no trade row)."""
        return self._run(
            "split",
            wallet=str(wallet),
            condition_id=str(condition_id),
            size=float(size),
            at=self.clock.resolve(at),
        )

    def merge(
        self, wallet: str, condition_id: str, size: float | None = None, at: int | None = None
    ) -> list[dict[str, Any]]:
        """MERGE ``size`` (None = all it can) of both outcome tokens back into USDC (no trade row)."""
        return self._run(
            "merge",
            wallet=str(wallet),
            condition_id=str(condition_id),
            size=None if size is None else float(size),
            at=self.clock.resolve(at),
        )

    def convert(
        self, wallet: str, condition_ids: str | Sequence[str], size: float, at: int | None = None
    ) -> list[dict[str, Any]]:
        """CONVERSION (neg-risk): ``size`` NO of each given market -> YES of the event's other markets."""
        ids = [condition_ids] if isinstance(condition_ids, str) else [str(c) for c in condition_ids]
        return self._run(
            "convert", wallet=str(wallet), condition_ids=ids, size=float(size), at=self.clock.resolve(at)
        )

    def reward(
        self, wallet: str, amount: float, kind: str = "REWARD", at: int | None = None
    ) -> list[dict[str, Any]]:
        """A REWARD, MAKER_REBATE or TAKER_REBATE row (cash only, no market)."""
        return self._run(
            "reward",
            wallet=str(wallet),
            amount=float(amount),
            kind=str(kind).upper(),
            at=self.clock.resolve(at),
        )

    def transfer_tokens(self, wallet: str, asset: str, size: float, at: int | None = None) -> dict[str, Any]:
        """Tokens into ``wallet`` without a buy (an ERC-1155 transfer from outside): no API row shows
        it, and Polymarket's accounting does not track them (selling them realizes nothing)."""
        return self._run(
            "transfer", wallet=str(wallet), asset=str(asset), size=float(size), at=self.clock.resolve(at)
        )

    def skew_official_pnl(self, wallet: str, usdc: float) -> None:
        """Make ``/v2/user-pnl`` of ``wallet`` disagree with its fills: ``usdc`` is added to its
        realized PnL in every point (0 makes it truthful again). Nothing else changes."""
        self._run("skew", wallet=str(wallet), usdc=float(usdc))

    def set_live_rate(self, trades_per_second: float) -> None:
        if trades_per_second < 0:
            raise ValueError("trades_per_second must be >= 0")
        self.live_trades_per_second = float(trades_per_second)

    def close(self) -> None:
        """Flush and release the state file (the server calls this at shutdown)."""
        with self.lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    # ------------------------------------------------------------------ ground truth
    def ground_truth(self) -> dict[str, Any]:
        """Everything that happened, as the API would serve it plus what it cannot show."""
        with self.lock:
            world = self.world
            views = world.book.views()
            markets = world.catalogue.markets
            return {
                "wallets": list(world.wallets),
                "fills": [f.truth() for f in world.tape.fills.items],
                "positions": [v.truth() for v in views if v.size > 0 and not v.hidden],
                "archived_positions": [v.truth() for v in views if v.size > 0 and v.hidden],
                "closes": [dict(c) for c in world.book.closes],
                "markets": [m.truth() for m in markets],
                "events": [e.truth() for e in world.catalogue.events.values() if e.neg_risk],
                "activity": [a.truth() for a in world.tape.activity.items],
                "ledger": [dict(e) for e in world.book.ledger],
                "conversions": [dict(c) for c in world.conversions],
                "winnerless_markets": [m.condition_id for m in markets if m.winnerless],
                "neg_risk_markets": [m.condition_id for m in markets if m.neg_risk],
                "legacy_markets": [m.condition_id for m in markets if m.legacy],
                "blank_token_markets": [m.condition_id for m in markets if m.blank_token_index is not None],
            }

    def user_pnl(self, wallet: str, interval: str = "all", fidelity: str = "1d") -> dict[str, Any]:
        """The ``data`` of ``/v2/user-pnl``: the wallet's official cumulative PnL, daily and now."""
        if interval not in INTERVAL_SECONDS:
            raise ValueError(f"interval must be one of {', '.join(INTERVAL_SECONDS)}")
        if fidelity not in FIDELITIES:
            raise ValueError(f"fidelity must be one of {', '.join(FIDELITIES)}")
        with self.lock:
            wallet = self.world.check_wallet(wallet)
            account = self.world.book.accounts.get(wallet)
            return pnl_series.user_pnl(
                account, self.world.catalogue, wallet, interval, fidelity, self.clock.now()
            )

    def pnl_truth(self, wallets: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Per wallet (all when None): every position's PnL figures, the totals and the daily series,
        as Polymarket computes them and without any skew (see ``pnl_series.wallet_truth``)."""
        with self.lock:
            chosen = self.world.wallets if wallets is None else [self.world.check_wallet(w) for w in wallets]
            now = self.clock.now()
            return {w: pnl_series.wallet_truth(self.world.book, self.world.catalogue, w, now) for w in chosen}

    # ------------------------------------------------------------------ plumbing
    def _run(self, op: str, **args: Any) -> Any:
        """Apply one change under the lock; journal it if it succeeded, undo its draws if not."""
        with self.lock:
            rng_state, live_state = self._rng.getstate(), self._live_rng.getstate()
            known = len(self.world.wallets)
            try:
                result = _OPS[op](self, **args)
            except Exception:
                self._rng.setstate(rng_state)
                self._live_rng.setstate(live_state)
                self.world.forget_wallets_after(known)
                raise
            if self._journal is not None:
                self._journal.record(op, **args)
            return result

    def _replay(self, path: str, entries: list[dict[str, Any]]) -> None:
        for number, entry in enumerate(entries, start=1):
            args = {k: v for k, v in entry.items() if k != "op"}
            op = entry["op"]
            try:
                _OPS[op](self, **args)
            except Exception as exc:
                raise StateFileError(
                    f"{path}: change {number} ({op}) cannot be replayed ({exc}); the file was written by "
                    "another simulator version or configuration, use another state file"
                ) from None

    def _inject(
        self,
        taker: str,
        asset: str,
        side: str,
        size: float,
        price: float,
        makers: list[Any] | None,
        timestamp: int,
    ) -> list[dict[str, Any]]:
        world = self.world
        found = world.catalogue.for_token(asset)
        if found is None:
            raise ValueError(f"unknown asset {asset!r}")
        market, idx = found
        if side.upper() not in ("BUY", "SELL"):
            raise ValueError(f"side must be BUY or SELL, not {side!r}")
        side_u: Side = "BUY" if side.upper() == "BUY" else "SELL"
        if not 0.0 < price < 1.0:
            raise ValueError("price must be strictly between 0 and 1")
        size_u = round(size * UNIT)
        if size_u < UNIT // 100:
            raise ValueError("size must be at least 0.01")
        taker = world.ensure_wallet(taker)
        if market.closed:
            raise ValueError(f"market {market.condition_id} is resolved: no more trades")
        if side_u == "SELL" and world.book.held(taker, market, idx) < size_u:
            raise ValueError(
                f"{taker} holds {world.book.held(taker, market, idx) / UNIT} and cannot sell {size}"
            )
        if makers is None:
            legs = split_legs(world, self._live_rng, taker, size_u, market, idx, side_u, world.wallets)
        else:
            legs = explicit_legs(world, size_u, [m if isinstance(m, str) else (m[0], m[1]) for m in makers])
        fills = settle(world, self._live_rng, taker, market, idx, side_u, legs, round(price, 10), timestamp)
        return [f.truth() for f in fills]

    def _generate(self, n: int, timestamp: int) -> list[dict[str, Any]]:
        world = self.world
        out: list[dict[str, Any]] = []
        open_markets = world.catalogue.open_at(timestamp)
        if not open_markets or len(world.wallets) < 2:
            return out
        for _ in range(n):
            taker = self._live_rng.choice(world.wallets)
            fills = random_settlement(world, self._live_rng, taker, timestamp, open_markets, world.wallets)
            out.extend(f.truth() for f in fills)
        return out

    def _resolve(self, condition_id: str, winner_index: int, at: int, flag_winner: bool) -> None:
        market = self.world.catalogue.require(condition_id)
        self.world.catalogue.resolve(market, winner_index, at, flag_winner)

    def _archive(self, condition_id: str, at: int) -> None:
        market = self.world.catalogue.require(condition_id)
        if self.world.catalogue.archive(market, at):
            self.world.book.hide_market(market, at)

    def _redeem(self, wallet: str, condition_ids: list[str], at: int) -> list[dict[str, Any]]:
        markets = [self.world.catalogue.require(cid) for cid in condition_ids]
        for m in markets:
            if not m.closed:
                raise ValueError(f"market {m.condition_id} is not resolved")
        wallet = self.world.check_wallet(wallet)
        rows = ops.redeem(self.world, wallet, markets, at, new_hash(self._live_rng))
        return [a.truth() for a in rows]

    def _close(self, wallet: str, asset: str, timestamp: int) -> list[dict[str, Any]]:
        world = self.world
        wallet = world.check_wallet(wallet)
        pos = world.book.find(wallet, asset)
        if pos is None or pos.size_u <= 0:
            raise ValueError(f"{wallet} holds no {asset}")
        market = pos.market
        if market.closed:
            raise ValueError("market is resolved: redeem instead of selling")
        legs = split_legs(
            world, self._live_rng, wallet, pos.size_u, market, pos.outcome_index, "SELL", world.wallets
        )
        price = round_to_tick(clip(market.last_prices[pos.outcome_index], 0.01, 0.99), market.tick_size)
        fills = settle(
            world, self._live_rng, wallet, market, pos.outcome_index, "SELL", legs, price, timestamp
        )
        return [f.truth() for f in fills]

    def _add_wallets(self, n: int, with_history: bool) -> list[str]:
        new = [self.world.new_wallet(self._rng) for _ in range(n)]
        if with_history and n:
            backfill_wallets(self.world, self._rng, new, self.start_time)
        return new

    def _split(self, wallet: str, condition_id: str, size: float, at: int) -> list[dict[str, Any]]:
        market = self.world.catalogue.require(condition_id)
        wallet = self.world.ensure_wallet(wallet)
        rows = ops.split(self.world, wallet, market, round(size * UNIT), at, new_hash(self._live_rng))
        return [a.truth() for a in rows]

    def _merge(self, wallet: str, condition_id: str, size: float | None, at: int) -> list[dict[str, Any]]:
        market = self.world.catalogue.require(condition_id)
        wallet = self.world.check_wallet(wallet)
        amount = None if size is None else round(size * UNIT)
        rows = ops.merge(self.world, wallet, market, amount, at, new_hash(self._live_rng))
        return [a.truth() for a in rows]

    def _convert(self, wallet: str, condition_ids: list[str], size: float, at: int) -> list[dict[str, Any]]:
        markets = [self.world.catalogue.require(cid) for cid in condition_ids]
        wallet = self.world.check_wallet(wallet)
        rows = ops.convert(self.world, wallet, markets, round(size * UNIT), at, new_hash(self._live_rng))
        return [a.truth() for a in rows]

    def _reward(self, wallet: str, amount: float, kind: str, at: int) -> list[dict[str, Any]]:
        wallet = self.world.ensure_wallet(wallet)
        rows = ops.reward(self.world, wallet, kind, amount, at, new_hash(self._live_rng))
        return [a.truth() for a in rows]

    def _transfer(self, wallet: str, asset: str, size: float, at: int) -> dict[str, Any]:
        found = self.world.catalogue.for_token(asset)
        if found is None:
            raise ValueError(f"unknown asset {asset!r}")
        market, idx = found
        wallet = self.world.ensure_wallet(wallet)
        ops.transfer(self.world, wallet, market, idx, round(size * UNIT), at, new_hash(self._live_rng))
        return dict(self.world.book.ledger[-1])

    def _skew(self, wallet: str, usdc: float) -> None:
        account = self.world.book.accounts.get(self.world.check_wallet(wallet))
        if account is None:
            raise ValueError(f"unknown wallet {wallet!r}")
        account.skew = dec(usdc)


_OPS: dict[str, Callable[..., Any]] = {
    "inject": MarketModel._inject,
    "generate": MarketModel._generate,
    "resolve": MarketModel._resolve,
    "archive": MarketModel._archive,
    "redeem": MarketModel._redeem,
    "close": MarketModel._close,
    "add_wallets": MarketModel._add_wallets,
    "split": MarketModel._split,
    "merge": MarketModel._merge,
    "convert": MarketModel._convert,
    "reward": MarketModel._reward,
    "transfer": MarketModel._transfer,
    "skew": MarketModel._skew,
}
"""Every journaled change, by the name written in the state file."""
