"""The seeded past: markets (current, neg-risk events, legacy), wallets, and what they did until start_time.

Everything is drawn from one random stream and replayed in time order through a heap, so the
same config always yields the same history: trades, resolutions (some without a winner flag),
archives, redeems (neg-risk ones as condition rows), splits, merges, conversions and rewards.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from typing import Any

from polymarket_pipeline.simulator import activity
from polymarket_pipeline.simulator.catalog import make_event_text, make_legacy_text, make_market_text
from polymarket_pipeline.simulator.config import DAY, UNIT
from polymarket_pipeline.simulator.markets import SimMarket
from polymarket_pipeline.simulator.settlement import random_settlement
from polymarket_pipeline.simulator.world import World, new_hash

LEGACY_FROM = int(dt.datetime(2022, 1, 10, tzinfo=dt.UTC).timestamp())
LEGACY_TO = int(dt.datetime(2023, 6, 1, tzinfo=dt.UTC).timestamp())
LEGACY_TRADES = 5
"""Settlements in each legacy market, before it resolved."""

Unit = list[SimMarket]
"""What resolves at once: a standalone market, or every market of a neg-risk event."""


def _count(rng: random.Random, mean: float) -> int:
    """An integer with the given mean (the whole part, plus one with the fractional probability)."""
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


class _Schedule:
    """A time-ordered heap of things to do; ``priority`` orders same-second events."""

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, int, str, Any]] = []
        self.counter = 0

    def push(self, ts: int, priority: int, kind: str, arg: Any) -> None:
        self.counter += 1
        heapq.heappush(self.heap, (ts, priority, self.counter, kind, arg))

    def pop(self) -> tuple[int, str, Any]:
        ts, _, _, kind, arg = heapq.heappop(self.heap)
        return ts, kind, arg


def build_history(world: World, rng: random.Random, t_end: int) -> None:
    """Create wallets and markets, then play the history up to ``t_end``."""
    cfg = world.config
    span = max(1, cfg.history_days * DAY)
    t0 = t_end - span
    for _ in range(cfg.n_wallets):
        world.new_wallet(rng)
    plan = _Schedule()
    units = _create_markets(world, rng, plan, t0, t_end, span)
    legacy = _create_legacy(world, rng, plan)
    for w in world.wallets:
        for _ in range(cfg.trades_per_wallet):
            plan.push(rng.randint(t0, t_end), 2, "trade", w)
        for _ in range(_count(rng, cfg.ctf_ops_per_wallet)):
            plan.push(rng.randint(t0, t_end), 4, "ctf", w)
        for _ in range(_count(rng, cfg.rewards_per_wallet)):
            plan.push(rng.randint(t0, t_end), 5, "reward", w)
    if cfg.heavy_wallet_settlements and world.wallets:
        heavy = world.wallets[0]
        for _ in range(cfg.heavy_wallet_settlements):
            plan.push(rng.randint(t0, t_end), 2, "trade", heavy)
    all_units = units + [[m] for m in legacy]
    while plan.heap:
        ts, kind, arg = plan.pop()
        _play(world, rng, plan, ts, kind, arg, all_units, t_end)


def backfill_wallets(world: World, rng: random.Random, new: list[str], t_end: int) -> None:
    """Back-dated trades for new wallets on the markets open at the time.

    The makers are other new wallets (existing wallets only when one is added), and makers only
    buy, so nobody's past holdings go negative.
    """
    cfg = world.config
    t0 = t_end - cfg.history_days * DAY
    pool = new if len(new) >= 2 else [w for w in world.wallets if w not in new] or new
    events = sorted(
        (rng.randint(t0, t_end), i, w) for i, w in enumerate(new) for _ in range(cfg.trades_per_wallet)
    )
    for ts, _, w in events:
        open_markets = world.catalogue.open_at(ts)
        if open_markets and (len(pool) > 1 or pool[0] != w):
            random_settlement(world, rng, w, ts, open_markets, pool, makers_buy_only=True)


# ---------------------------------------------------------------------- markets
def _create_markets(
    world: World, rng: random.Random, plan: _Schedule, t0: int, t_end: int, span: int
) -> list[Unit]:
    """Standalone markets and neg-risk events; ``resolved_fraction`` of them resolve in the window."""
    cfg = world.config
    n = cfg.n_markets
    n_events = min(cfg.neg_risk_events, n // 6)
    sizes = [rng.randint(3, 4) for _ in range(n_events)]
    layout = [1] * (n - sum(sizes)) + sizes  # events after the standalone markets
    n_units = len(layout)
    resolved: set[int] = set()
    archived: set[int] = set()
    if n_units >= 3:
        n_resolved = min(n_units - 1, max(1, round(n_units * cfg.resolved_fraction)))
        resolved = set(rng.sample(range(n_units), n_resolved))
        n_archived = max(1, round(n_resolved * cfg.archived_fraction)) if n_resolved >= 2 else 0
        archived = set(rng.sample(sorted(resolved), n_archived))
    units: list[Unit] = []
    for u, size in enumerate(layout):
        created = rng.randint(t0 - 30 * DAY, t0 + int((0.3 if size == 1 else 0.1) * span))
        if u in resolved:
            end_date = rng.randint(t0 + int(0.4 * span), t0 + int(0.95 * span))
            plan.push(end_date, 0, "resolve", u)
            if u in archived:
                plan.push(rng.randint(end_date + 1, t_end), 1, "archive", u)
        else:
            end_date = t_end + rng.randint(1, 120) * DAY
        if size == 1:
            text = make_market_text(rng, end_date)
            market = world.catalogue.new_market(
                rng, text, created, end_date, fee_market_fraction=cfg.fee_market_fraction
            )
            units.append([market])
        else:
            event = world.catalogue.new_event(rng, make_event_text(rng, end_date, size), created, end_date)
            units.append(event.markets)
    return units


def _create_legacy(world: World, rng: random.Random, plan: _Schedule) -> list[SimMarket]:
    """2022-23 markets: a few trades, then a resolution (often without a winner flag)."""
    cfg = world.config
    markets: list[SimMarket] = []
    for k in range(cfg.legacy_markets):
        created = rng.randint(LEGACY_FROM, LEGACY_TO - 200 * DAY)
        end_date = created + rng.randint(30, 180) * DAY
        text, category = make_legacy_text(rng, end_date)
        market = world.catalogue.new_market(
            rng, text, created, end_date, fee_market_fraction=0.0, category=category, legacy=True
        )
        if k == 1 or cfg.legacy_markets == 1:
            market.blank_token_index = 1  # the CLOB lists this token with token_id ""
        markets.append(market)
        for _ in range(LEGACY_TRADES):
            plan.push(rng.randint(created, end_date - 1), 2, "legacy_trade", market)
        winnerless = (
            k == 0 and cfg.legacy_winnerless_fraction > 0
        ) or rng.random() < cfg.legacy_winnerless_fraction
        plan.push(end_date, 0, "legacy_resolve", (market, not winnerless))
    return markets


# ---------------------------------------------------------------------- playing the plan
def _play(
    world: World,
    rng: random.Random,
    plan: _Schedule,
    ts: int,
    kind: str,
    arg: Any,
    units: list[Unit],
    t_end: int,
) -> None:
    cfg = world.config
    catalogue = world.catalogue
    if kind == "trade":
        open_markets = catalogue.open_at(ts)
        if open_markets:
            random_settlement(world, rng, arg, ts, open_markets, world.wallets)
    elif kind == "legacy_trade":
        if not arg.closed:
            random_settlement(world, rng, rng.choice(world.wallets), ts, [arg], world.wallets)
    elif kind == "resolve":
        _resolve_unit(world, rng, plan, units[arg], arg, ts, rng.random() >= cfg.winnerless_fraction, t_end)
    elif kind == "legacy_resolve":
        market, flagged = arg
        unit = next(i for i, u in enumerate(units) if u[0] is market)
        _resolve_unit(world, rng, plan, [market], unit, ts, flagged, t_end)
    elif kind == "archive":
        for m in units[arg]:
            if catalogue.archive(m, ts):
                world.book.hide_market(m, ts)
    elif kind == "redeem":
        wallet, unit = arg
        markets = [m for m in units[unit] if any(world.book.held(wallet, m, i) for i in (0, 1))]
        if markets:
            activity.redeem(world, wallet, markets, ts, new_hash(rng))
    elif kind == "ctf":
        _ctf(world, rng, plan, arg, ts, t_end)
    elif kind == "merge":
        wallet, market = arg
        amount = 0 if market.closed else activity.mergeable_amount(world, wallet, market)
        if amount:
            activity.merge(world, wallet, market, amount, ts, new_hash(rng))
    elif kind == "convert":
        wallet, market = arg
        held = world.book.held(wallet, market, 1)
        event = catalogue.event_of(market)
        if held >= UNIT and not any(m.closed for m in event.markets):
            activity.convert(world, wallet, [market], held, ts, new_hash(rng))
    elif kind == "reward":
        which = rng.choices(activity.CASH_TYPES, weights=(5, 3, 2))[0]
        cash = round(rng.uniform(0.5, 500.0), rng.choice([2, 4, 6]))
        activity.reward(world, arg, which, cash, ts, new_hash(rng))


def _resolve_unit(
    world: World,
    rng: random.Random,
    plan: _Schedule,
    unit: Unit,
    unit_index: int,
    ts: int,
    flagged: bool,
    t_end: int,
) -> None:
    """Resolve a standalone market (favourite usually wins) or a neg-risk event (exactly one Yes)."""
    if len(unit) == 1:
        p0 = unit[0].last_prices[0]
        winners = [0 if rng.random() < (0.8 if p0 >= 0.5 else 0.2) else 1]
    else:
        favourite = max(range(len(unit)), key=lambda k: unit[k].last_prices[0])
        yes = favourite if rng.random() < 0.6 else rng.randrange(len(unit))
        winners = [0 if k == yes else 1 for k in range(len(unit))]
    for market, winner in zip(unit, winners, strict=True):
        world.catalogue.resolve(market, winner, ts, flagged)
    archive_at = next((e[0] for e in plan.heap if e[3] == "archive" and e[4] == unit_index), t_end)
    holders = sorted({p.wallet for m in unit for p in world.book.holders(m) if p.size_u > 0})
    for wallet in holders:
        if rng.random() < world.config.redeem_probability:
            at = rng.randint(ts + 1, max(ts + 1, archive_at))
            if at <= t_end:
                plan.push(at, 3, "redeem", (wallet, unit_index))


def _ctf(world: World, rng: random.Random, plan: _Schedule, wallet: str, ts: int, t_end: int) -> None:
    """A split now (its merge or conversion later), or a merge of a pair already held."""
    open_markets = world.catalogue.open_at(ts)
    if not open_markets:
        return
    book = world.book
    pairs = [m for m in open_markets if min(book.held(wallet, m, 0), book.held(wallet, m, 1)) >= 2 * UNIT]
    if pairs and rng.random() < 0.5:
        market = rng.choice(pairs)
        half = min(book.held(wallet, market, 0), book.held(wallet, market, 1)) // 2 // UNIT * UNIT
        activity.merge(world, wallet, market, half, ts, new_hash(rng))
        return
    market = rng.choice(open_markets)
    activity.split(world, wallet, market, rng.randint(10, 300) * UNIT, ts, new_hash(rng))
    if ts < t_end and rng.random() < 0.7:
        follow_up = "convert" if market.neg_risk and rng.random() < 0.6 else "merge"
        plan.push(rng.randint(ts + 1, t_end), 4, follow_up, (wallet, market))
