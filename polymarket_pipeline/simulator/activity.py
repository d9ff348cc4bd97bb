"""Activity that is not a trade: REDEEM, SPLIT, MERGE, CONVERSION, REWARD and the rebates.

None of these is a ``/trades`` row; the ones that touch tokens move positions (and can close them).
Row shapes follow the recorded payloads (smart_money/activity_all.json): price 0 and side ""
everywhere; rewards and rebates carry no market at all (empty condition, asset, outcome and title,
outcome index 999); a neg-risk REDEEM is one row per condition with an empty asset and outcome,
outcome index 999 and a size equal to the USDC paid (0 for a loser), and one redeem transaction can
cover several conditions (several rows share its hash). SPLIT, MERGE and CONVERSION concern a whole
condition, so they are served the same way (an assumption: no recorded sample); a CONVERSION's
collateral is not represented on its rows (``usdcSize`` 0), as observed by runesleo/polymarket-toolkit.
A TRANSFER (tokens received from outside) has no row at all.

Each operation is also one change in the wallet's account (``accounting``), priced as Polymarket's
pnl-subgraph prices it: a split buys both outcomes at $0.50 and a merge sells both at $0.50 (not at
the market's prices), a redeem sells at the payout, a conversion sells the NO legs at their own
average and buys the YES legs at the subgraph's derived price, rewards and rebates are income.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from polymarket_pipeline.simulator.accounting import (
    ONE,
    ZERO,
    Conversion,
    Income,
    Merge,
    Redeem,
    Split,
    Transfer,
    dec,
)
from polymarket_pipeline.simulator.config import UNIT
from polymarket_pipeline.simulator.markets import SimMarket
from polymarket_pipeline.simulator.tape import Activity
from polymarket_pipeline.simulator.world import World

CASH_TYPES = ("REWARD", "MAKER_REBATE", "TAKER_REBATE")
"""Activity with no market: platform credits."""


def _row(
    world: World,
    ts: int,
    wallet: str,
    kind: str,
    market: SimMarket | None,
    idx: int | None,
    size: float,
    usdc: float,
    tx: str,
) -> Activity:
    act = Activity(world.next_seq(), ts, wallet, kind, market, idx, size, usdc, 0.0, "", tx)
    world.tape.add_activity(act)
    return act


def redeem(world: World, wallet: str, markets: Sequence[SimMarket], ts: int, tx: str) -> list[Activity]:
    """Redeem every holding of ``wallet`` in resolved ``markets``, all in one transaction ``tx``."""
    book = world.book
    rows: list[Activity] = []
    for market in markets:
        if not market.closed:
            raise ValueError(f"market {market.condition_id} is not resolved")
        held = [
            (idx, pos)
            for idx in (0, 1)
            if (pos := book.find(wallet, market.token_ids[idx])) is not None and pos.size_u > 0
        ]
        if not held:
            continue
        if market.neg_risk:  # one row for the condition: size = usdc = what was paid out
            paid = sum(pos.size_u / UNIT for idx, pos in held if idx == market.winner_index)
            act = _row(world, ts, wallet, "REDEEM", market, None, round(paid, 6), round(paid, 6), tx)
            rows.append(act)
            payouts = tuple((pos.asset, _payout(market, idx)) for idx, pos in held)
            book.accounts.record(wallet, ts, act.seq, Redeem(payouts))
            for _, pos in held:
                book.redeem(pos, ts, tx, act.seq)
            continue
        for idx, pos in held:
            size = pos.size_u / UNIT
            payout = size if idx == market.winner_index else 0.0
            act = _row(world, ts, wallet, "REDEEM", market, idx, size, round(payout, 6), tx)
            rows.append(act)
            book.accounts.record(wallet, ts, act.seq, Redeem(((pos.asset, _payout(market, idx)),)))
            book.redeem(pos, ts, tx, act.seq)
    return rows


def _payout(market: SimMarket, idx: int) -> Decimal:
    """What one share of outcome ``idx`` of a resolved market pays (the subgraph's redemption price)."""
    return ONE if idx == market.winner_index else ZERO


def split(world: World, wallet: str, market: SimMarket, size_u: int, ts: int, tx: str) -> list[Activity]:
    """Collateral -> one of each outcome token: both positions grow by ``size``."""
    if market.closed:
        raise ValueError(f"market {market.condition_id} is resolved: nothing to split")
    if size_u < UNIT:
        raise ValueError("a split must be at least one share")
    size = size_u / UNIT
    act = _row(world, ts, wallet, "SPLIT", market, None, size, size, tx)
    book = world.book
    for idx in (0, 1):
        book.grow(book.position(wallet, market, idx), size_u, ts, "SPLIT", tx, act.seq)
    book.accounts.record(wallet, ts, act.seq, Split(market.token_ids, size_u))
    return [act]


def mergeable_amount(world: World, wallet: str, market: SimMarket) -> int:
    """The most a wallet can merge while leaving zero or at least one share of each outcome."""
    held = (world.book.held(wallet, market, 0), world.book.held(wallet, market, 1))
    amount = min(held)
    while amount >= UNIT and any(0 < h - amount < UNIT for h in held):
        amount -= UNIT
    return amount if amount >= UNIT else 0


def merge(
    world: World, wallet: str, market: SimMarket, size_u: int | None, ts: int, tx: str
) -> list[Activity]:
    """Both outcome tokens -> collateral: both positions shrink; merging a whole holding closes it."""
    if market.closed:
        raise ValueError(f"market {market.condition_id} is resolved: redeem instead of merging")
    book = world.book
    held = [book.held(wallet, market, 0), book.held(wallet, market, 1)]
    amount = min(held) if size_u is None else size_u
    if amount < UNIT:
        raise ValueError(f"{wallet} holds {min(held) / UNIT} of both outcomes: nothing to merge")
    if amount > min(held):
        raise ValueError(
            f"{wallet} holds {min(held) / UNIT} of both outcomes and cannot merge {amount / UNIT}"
        )
    if any(0 < h - amount < UNIT for h in held):
        raise ValueError("a merge must leave zero or at least one share of each outcome")
    size = amount / UNIT
    act = _row(world, ts, wallet, "MERGE", market, None, size, size, tx)
    book.accounts.record(wallet, ts, act.seq, Merge(market.token_ids, amount))
    for idx in (0, 1):
        book.shrink(book.position(wallet, market, idx), amount, ts, "MERGE", tx, act.seq, "merged")
    return [act]


def convert(
    world: World, wallet: str, sources: Sequence[SimMarket], size_u: int, ts: int, tx: str
) -> list[Activity]:
    """Neg-risk: NO tokens of ``sources`` -> YES tokens of the event's other markets + collateral.

    Converting ``s`` NO shares in each of k of an event's N markets yields ``s`` YES shares in
    each of the other N - k markets and (k - 1) x s USDC; the rows cannot show that, so
    ``world.conversions`` records it.
    """
    if not sources:
        raise ValueError("convert needs at least one market")
    event_ids = {m.event_id for m in sources}
    if len(event_ids) != 1 or not all(m.neg_risk for m in sources):
        raise ValueError("convert takes neg-risk markets of one event")
    if len({m.condition_id for m in sources}) != len(sources):
        raise ValueError("convert takes each market once")
    event = world.catalogue.events[event_ids.pop()]
    if any(m.closed for m in event.markets):
        raise ValueError(f"event {event.event_id} has a resolved market: no more conversions")
    targets = [m for m in event.markets if m not in sources]
    if not targets:
        raise ValueError("converting every market of an event leaves nothing to convert into")
    book = world.book
    for m in sources:
        held = book.held(wallet, m, 1)
        if held < size_u:
            raise ValueError(
                f"{wallet} holds {held / UNIT} NO of {m.condition_id} and cannot convert {size_u / UNIT}"
            )
        if 0 < held - size_u < UNIT:
            raise ValueError("a conversion must leave zero or at least one share")
    if size_u < UNIT:
        raise ValueError("a conversion must be at least one share")
    size = size_u / UNIT
    rows = [_row(world, ts, wallet, "CONVERSION", m, None, size, 0.0, tx) for m in sources]
    change = Conversion(
        tuple(m.token_ids[1] for m in sources),
        tuple(m.token_ids[0] for m in targets),
        size_u,
        len(event.markets),
    )
    book.accounts.record(wallet, ts, rows[0].seq, change)
    for m, act in zip(sources, rows, strict=True):
        book.shrink(book.position(wallet, m, 1), size_u, ts, "CONVERSION", tx, act.seq, "converted")
    for m in targets:
        book.grow(book.position(wallet, m, 0), size_u, ts, "CONVERSION", tx, rows[0].seq)
    world.conversions.append(
        {
            "wallet": wallet,
            "transaction_hash": tx,
            "timestamp": ts,
            "event_id": event.event_id,
            "from_condition_ids": [m.condition_id for m in sources],
            "to_condition_ids": [m.condition_id for m in targets],
            "size": size,
            "collateral": round((len(sources) - 1) * size, 6),
        }
    )
    return rows


def reward(world: World, wallet: str, kind: str, amount: float, ts: int, tx: str) -> list[Activity]:
    """A platform credit (liquidity reward, maker or taker rebate): cash only, no market."""
    if kind not in CASH_TYPES:
        raise ValueError(f"kind must be one of {', '.join(CASH_TYPES)}")
    if not amount > 0:
        raise ValueError("amount must be positive")
    amount = round(float(amount), 6)
    act = _row(world, ts, wallet, kind, None, None, amount, amount, tx)
    world.book.accounts.record(wallet, ts, act.seq, Income(kind, dec(amount)))
    return [act]


def transfer(world: World, wallet: str, market: SimMarket, idx: int, size_u: int, ts: int, tx: str) -> None:
    """Tokens received from outside (an ERC-1155 transfer): the balance grows, nothing is bought.

    No API row shows it (no trade, no activity), so a replay of the wallet's own rows cannot
    know the tokens; the subgraph does not track them either, so selling them realizes nothing.
    """
    if market.closed:
        raise ValueError(f"market {market.condition_id} is resolved: no more transfers")
    if size_u < UNIT // 100:
        raise ValueError("a transfer must be at least 0.01 shares")
    seq = world.next_seq()
    book = world.book
    book.grow(book.position(wallet, market, idx), size_u, ts, "TRANSFER", tx, seq)
    book.accounts.record(wallet, ts, seq, Transfer(market.token_ids[idx], size_u))
