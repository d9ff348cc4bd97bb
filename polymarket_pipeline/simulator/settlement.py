"""Trading mechanics: a settlement transaction is one taker row matched by 1-3 (rarely up to 17) maker legs.

A maker either takes the other side of the same token (direct match) or trades the complementary
token at 1 - p (the CTF mints a pair for two buyers, or merges one for two sellers). Identical legs
inside one transaction stay separate rows. Prices sometimes carry the float tails of real fills
(``0.4899999951``); takers in fee markets pay a fee that shows only in the activity ``usdcSize``
(added on a BUY, subtracted on a SELL; ``/trades`` rows carry none, as the real ones). Each fill is
one ``Trade`` in its wallet's account at its own price, fee apart (Polymarket's cost is pre-fee),
and each settlement marks the market's price history (``SimMarket.price_before``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from polymarket_pipeline.simulator.accounting import Trade, dec
from polymarket_pipeline.simulator.config import UNIT
from polymarket_pipeline.simulator.markets import SimMarket, clip, round_to_tick
from polymarket_pipeline.simulator.tape import Activity, Fill, Side
from polymarket_pipeline.simulator.world import World, new_hash, unit_draw

MakerSpec = str | tuple[str, float]
"""A maker leg for ``inject_trade``: a wallet (the size is split evenly) or (wallet, size)."""

DEGRADED_SALT = 0x0FEED


def taker_fee(market: SimMarket, size_u: int, price: float) -> float:
    """Polymarket's fee curve: rate x min(p, 1 - p) x shares, in USDC (0 in fee-free markets)."""
    if market.fee_rate <= 0:
        return 0.0
    return round(market.fee_rate * min(price, 1 - price) * size_u / UNIT, 6)


def with_tail(rng: random.Random, price: float, probability: float) -> float:
    """Sometimes a price a hair under its tick, as on-chain amounts divide (``0.49`` -> ``0.4899999951``)."""
    if probability > 0 and rng.random() < probability:
        tailed = round(price - rng.randint(1, 99) * 1e-10, 10)
        return tailed if tailed > 0 else price
    return price


def random_settlement(
    world: World,
    rng: random.Random,
    taker: str,
    ts: int,
    open_markets: Sequence[SimMarket],
    pool: Sequence[str],
    makers_buy_only: bool = False,
) -> list[Fill]:
    """A plausible trade for ``taker`` at ``ts``: sell (part of) a holding, or buy into a market."""
    held = (
        [
            p
            for p in world.book.positions[taker].values()
            if p.size_u > 0 and not p.market.closed and p.market.created_at <= ts
        ]
        if rng.random() < 0.35
        else []
    )
    side: Side
    if held:
        pos = rng.choice(held)
        market, idx, side = pos.market, pos.outcome_index, "SELL"
        if pos.size_u < 2 * UNIT or rng.random() < 0.4:
            total = pos.size_u
        else:
            total = rng.randint(UNIT, pos.size_u - UNIT)
    else:
        market, idx, side = rng.choice(open_markets), rng.randrange(2), "BUY"
        shares = rng.choice([rng.randint(1, 50), rng.randint(10, 500), rng.randint(100, 3000)])
        total = shares * UNIT + (rng.randint(0, 99) * 10_000 if rng.random() < 0.3 else 0)
        if rng.random() < 0.1:
            total += rng.randint(1, 9_999)  # six decimals, like 714.285713
    drift = rng.gauss(0, 0.03)
    p0 = round_to_tick(clip(market.last_prices[0] + drift, 0.02, 0.98), market.tick_size)
    price = p0 if idx == 0 else round(1 - p0, 4)
    price = with_tail(rng, price, world.config.price_tail_probability)
    legs = split_legs(world, rng, taker, total, market, idx, side, pool)
    return settle(world, rng, taker, market, idx, side, legs, price, ts, makers_buy_only=makers_buy_only)


def split_legs(
    world: World,
    rng: random.Random,
    taker: str,
    total: int,
    market: SimMarket,
    idx: int,
    side: str,
    pool: Sequence[str],
) -> list[tuple[str, int]]:
    """Pick maker wallets and split the taker's size between them (each leg >= 1 share)."""
    if not any(w != taker for w in pool):
        pool = world.wallets
        if not any(w != taker for w in pool):
            raise ValueError("no other wallet can be the maker")
    n = rng.choice([1, 1, 2, 2, 3])
    if rng.random() < world.config.many_makers_probability:
        n = rng.randint(4, 17)
    n = max(1, min(n, total // UNIT))
    sell_idx = idx if side == "BUY" else 1 - idx
    pool_set = None if pool is world.wallets else set(pool)
    in_market = world.book.holders(market)
    makers: list[str] = []
    for _ in range(n):
        maker = ""
        if in_market and rng.random() < 0.5:  # prefer a holder, so makers also sell
            for _ in range(4):
                p = rng.choice(in_market)
                if (
                    p.outcome_index == sell_idx
                    and p.size_u >= UNIT
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
    rest = total - n * UNIT
    cuts = sorted(rng.randint(0, rest) for _ in range(n - 1))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, rest], strict=True)]
    sizes = [UNIT + p for p in parts]
    if rng.random() < world.config.duplicate_leg_probability:
        # Two identical fills in one tx: same maker, size and price. They must stay two rows.
        others = sum(sizes[2:])
        pair = total - others
        if pair % 2 == 0 and pair // 2 >= UNIT:
            sizes[0] = sizes[1] = pair // 2
            makers[1] = makers[0]
    return list(zip(makers, sizes, strict=True))


def explicit_legs(world: World, size_u: int, makers: Sequence[MakerSpec]) -> list[tuple[str, int]]:
    """Maker legs as a caller gave them: wallets (size split evenly) or (wallet, size) pairs."""
    if not makers:
        raise ValueError("makers must not be empty")
    if all(isinstance(m, str) for m in makers):
        wallets = [world.ensure_wallet(str(m)) for m in makers]
        base, extra = divmod(size_u, len(wallets))
        if base <= 0:
            raise ValueError("size too small for that many makers")
        return [(w, base + (extra if i == len(wallets) - 1 else 0)) for i, w in enumerate(wallets)]
    legs: list[tuple[str, int]] = []
    for m in makers:
        if isinstance(m, str):
            raise ValueError("give every maker as (wallet, size) or none of them")
        wallet, leg = m
        legs.append((world.ensure_wallet(wallet), round(float(leg) * UNIT)))
    if sum(s for _, s in legs) != size_u:
        raise ValueError("the taker size must equal the sum of the maker legs")
    return legs


def settle(
    world: World,
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
    book = world.book
    total = sum(s for _, s in legs)
    if side == "SELL":
        held = book.held(taker, market, idx)
        if held < total:
            raise ValueError(f"{taker} holds {held / UNIT} and cannot sell {total / UNIT}")
        if 0 < held - total < UNIT:
            raise ValueError("a sell must leave zero or at least one share")
    other = 1 - idx
    q = round(1 - price, 10)
    reserved: dict[tuple[str, int], int] = {}
    planned: list[tuple[str, Side, int, int, float]] = []
    for maker, s in legs:
        if maker == taker:
            raise ValueError("the taker cannot be its own maker")
        tok = idx if side == "BUY" else other
        held = book.held(maker, market, tok) - reserved.get((maker, tok), 0)
        left = held - s
        if not makers_buy_only and held >= s and (left == 0 or left >= UNIT):
            reserved[(maker, tok)] = reserved.get((maker, tok), 0) + s
            planned.append((maker, "SELL", tok, s, price if tok == idx else q))
        else:
            buy_idx = other if side == "BUY" else idx
            planned.append((maker, "BUY", buy_idx, s, q if buy_idx == other else price))
    tx = new_hash(rng)
    fills = [_fill(world, ts, taker, side, market, idx, total, price, tx, "taker")]
    for maker, mside, mi, s, mp in planned:
        fills.append(_fill(world, ts, maker, mside, market, mi, s, mp, tx, "maker"))
    for f in fills:
        record_fill(world, f)
    p0 = round_to_tick(price if idx == 0 else 1 - price, market.tick_size)
    market.mark_price(ts, fills[0].seq, p0)
    if ts >= market.last_trade_at:
        market.last_trade_at = ts
        market.last_prices[0] = p0
        market.last_prices[1] = round(1 - p0, 4)
    market.volume += total / UNIT * price
    return fills


def _fill(
    world: World,
    ts: int,
    wallet: str,
    side: Side,
    market: SimMarket,
    idx: int,
    size_u: int,
    price: float,
    tx: str,
    role: str,
) -> Fill:
    seq = world.next_seq()
    fraction = world.config.feed_degraded_fraction
    degraded = fraction >= 1 or unit_draw(seq, DEGRADED_SALT ^ world.config.seed) < fraction
    fee = taker_fee(market, size_u, price) if role == "taker" else 0.0
    return Fill(
        seq,
        ts,
        wallet,
        side,
        market,
        idx,
        size_u,
        price,
        tx,
        "taker" if role == "taker" else "maker",
        fee,
        degraded,
    )


def record_fill(world: World, fill: Fill) -> None:
    """Write a fill to the tape, its TRADE row to the activity, and its effect to the book."""
    world.tape.add_fill(fill)
    world.tape.add_activity(
        Activity(
            fill.seq,
            fill.timestamp,
            fill.wallet,
            "TRADE",
            fill.market,
            fill.outcome_index,
            fill.size,
            fill.usdc_size,
            fill.price,
            fill.side,
            fill.transaction_hash,
        )
    )
    book = world.book
    pos = book.position(fill.wallet, fill.market, fill.outcome_index)
    if fill.side == "BUY":
        book.grow(pos, fill.size_u, fill.timestamp, "TRADE", fill.transaction_hash, fill.seq)
    else:
        book.shrink(
            pos, fill.size_u, fill.timestamp, "TRADE", fill.transaction_hash, fill.seq, "manual_close"
        )
    change = Trade(fill.asset, fill.side, fill.size_u, dec(fill.price), dec(fill.fee))
    book.accounts.record(fill.wallet, fill.timestamp, fill.seq, change)
