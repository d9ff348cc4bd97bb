"""Past days of ``wallet_pnl_daily``: one partition replayed to its day's end, and the drawdowns
recomputed from the stored curve."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.db import pnl as store
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.pnl import RegisteredWallet
from polymarket_pipeline.domain.performance import daily_rollup
from polymarket_pipeline.domain.pnl import (
    LEDGER_CONTEXT,
    ZERO,
    EventKey,
    LedgerEvent,
    MarketInfo,
    Markets,
    PositionFigures,
    event_key,
    join_reasons,
    position_figures,
    quantize_usdc,
    replay,
)
from polymarket_pipeline.sync.pnl.markets import known_markets
from polymarket_pipeline.sync.pnl.totals import (
    BATCH_WALLETS,
    DAY_END,
    LAST_TRADE,
    LIVE,
    Drawdown,
    api_prices,
    day_start,
    utc,
)

# --- past days -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayRun:
    """What one :func:`compute_day` wrote."""

    day: date
    live: bool
    """Today's partition (the API's marks) rather than a past day's end."""
    wallets: int
    rows_read: int
    marks: dict[str, int]
    """Open positions by how they were marked: ``resolution``, ``last_trade``, ``api`` or ``none``."""
    seconds: float


def compute_day(engine: Engine, day: date, *, now: datetime, drawdowns: bool = True) -> DayRun:
    """One ``wallet_pnl_daily`` partition for every registered wallet, cumulative to that UTC day's end.

    Each wallet is replayed from its events before the next midnight. Its open positions at that
    moment are marked at the payout of a market known to have resolved by then (``resolved_at``),
    else at the **last stored fill price of that token** at or before the day's end, across every
    stored wallet (``last_trade``: the price the market last traded at, as any stored fill saw it;
    the API's current ``cur_price`` says nothing about a past day), else not at all (NULL
    unrealized, ``unrealized_complete`` false). Today's partition is the live figures: the replay to
    now at the API's marks. The drawdowns in ``trader_stats`` are then recomputed from the curve
    (``drawdowns=False``: by the caller, once after several days).
    """
    started = time.monotonic()
    now = utc(now)
    today = now.date()
    if day > today:
        raise ValueError(f"{day} is in the future (today is {today} UTC)")
    live = day == today
    end = day_start(day + timedelta(days=1))
    end_epoch = int(end.timestamp())
    with reading(engine) as conn:
        registry = store.registered_wallets(conn)
        markets = known_markets(store.market_rows(conn))
    infos: dict[str, MarketInfo] = {c: m.info for c, m in markets.items()}
    if live:
        marking: dict[str, MarketInfo] = infos
    else:
        marking = {
            c: m.info if m.resolved_at is not None and m.resolved_at < end else replace(m.info, payouts=None)
            for c, m in markets.items()
        }
    last_fill: dict[str, tuple[EventKey, Decimal]] = {}
    pending: list[_DayWallet] = []
    rows_read = 0
    names = [r.wallet for r in registry]
    for start in range(0, len(names), BATCH_WALLETS):
        chunk = names[start : start + BATCH_WALLETS]
        with reading(engine) as conn:
            ledgers = store.wallet_ledgers(conn, chunk, until=None, before=None if live else end)
            api = store.api_positions(conn, chunk) if live else {}
        for registered in registry[start : start + BATCH_WALLETS]:
            ledger = ledgers[registered.wallet]
            rows_read += ledger.rows
            if not live:
                for e in ledger.events:
                    if e.kind == "FILL" and e.asset and e.price is not None:
                        key = event_key(e)
                        seen = last_fill.get(e.asset)
                        if seen is None or key > seen[0]:
                            last_fill[e.asset] = (key, e.price)
            pending.append(
                _day_wallet(
                    registered,
                    ledger.events,
                    infos,
                    marking,
                    day,
                    end_epoch,
                    api_prices(api.get(registered.wallet, {})),
                )
            )
    marks: Counter[str] = Counter()
    rows = [w.row(day, {a: p for a, (_, p) in last_fill.items()}, marks, live, now) for w in pending]
    with engine.begin() as conn:
        store.write_daily(conn, rows)
    if drawdowns:
        refresh_drawdowns(engine, now=now)
    return DayRun(day, live, len(rows), rows_read, dict(marks), time.monotonic() - started)


@dataclass(slots=True)
class _DayWallet:
    wallet: str
    figures: list[PositionFigures]
    unmarked: dict[str, tuple[Decimal, Decimal]]
    """Open tokens without a mark yet: (unrounded shares, unrounded avg)."""
    income: Decimal
    reasons: set[str]
    volume: Decimal
    fills: int

    def row(
        self, day: date, last_prices: Mapping[str, Decimal], marks: Counter[str], live: bool, now: datetime
    ) -> dict[str, Any]:
        values: list[Decimal | None] = []
        with localcontext(LEDGER_CONTEXT):
            for p in self.figures:
                if p.shares <= 0:
                    continue
                if p.unrealized_pnl is not None:
                    values.append(p.unrealized_pnl)
                    marks[p.mark_source or "none"] += 1
                    continue
                held = self.unmarked.get(p.asset)
                price = None if live or held is None else last_prices.get(p.asset)
                if price is None or held is None:
                    values.append(None)
                    marks["none"] += 1
                    continue
                shares, avg = held
                values.append(quantize_usdc(shares * price - shares * avg))
                marks[LAST_TRADE] += 1
            known = [v for v in values if v is not None]
            unrealized = quantize_usdc(sum(known, ZERO)) if known or not values else None
            realized = sum((p.realized_pnl for p in self.figures), ZERO)
            fees = sum((p.fees_usdc for p in self.figures), ZERO)
            income = quantize_usdc(self.income)
            trade = None if unrealized is None else realized + unrealized
            position = None if trade is None else trade - fees
        return {
            "wallet_address": self.wallet,
            "day": day,
            "realized_pnl": realized,
            "fees_usdc": fees,
            "income_usdc": income,
            "unrealized_pnl": unrealized,
            "unrealized_complete": len(known) == len(values),
            "trade_pnl": trade,
            "position_pnl": position,
            "economic_pnl": None if position is None else position + income,
            "volume_usdc": self.volume,
            "fills": self.fills,
            "marked_positions": len(known),
            "unmarked_positions": len(values) - len(known),
            "mark_basis": LIVE if live else DAY_END,
            "complete": not self.reasons,
            "incomplete_reason": join_reasons(self.reasons),
            "computed_at": now,
        }


def _day_wallet(
    registered: RegisteredWallet,
    events: Sequence[LedgerEvent],
    infos: Markets,
    marking: Markets,
    day: date,
    end_epoch: int,
    api_prices: Mapping[str, Decimal],
) -> _DayWallet:
    events = [e for e in events if e.timestamp < end_epoch]
    result = replay(events, infos, history_complete=registered.history_complete)
    book = result.book
    figures = position_figures(book, marking, api_prices)
    unmarked = {
        p.asset: (book.tokens[p.asset].amount, book.tokens[p.asset].avg_price)
        for p in figures
        if p.shares > 0 and p.unrealized_pnl is None
    }
    rollup = next((r for r in daily_rollup(result.journal, days=[day]) if r.day == day), None)
    return _DayWallet(
        wallet=registered.wallet,
        figures=figures,
        unmarked=unmarked,
        income=book.income_usdc,
        reasons=book.incomplete_reasons,
        volume=rollup.volume_usdc if rollup else ZERO,
        fills=rollup.fills if rollup else 0,
    )


def refresh_drawdowns(engine: Engine, *, now: datetime) -> int:
    """Recompute every wallet's ``max_drawdown_usdc`` from its whole stored daily curve (after a past
    day was written); returns the wallets updated."""
    now = utc(now)
    today = now.date()
    yesterday = today - timedelta(days=1)
    with reading(engine) as conn:
        stats = store.trader_stats(conn)
        wallets = sorted(stats)
        curves = store.daily_curves(conn, wallets, after=None, before=today)
    rows = []
    for wallet in wallets:
        drawdown = Drawdown(None, ZERO, ZERO)
        drawdown.extend(curves[wallet], yesterday)
        rows.append(
            {
                "wallet": wallet,
                "through": drawdown.through,
                "peak": drawdown.peak,
                "worst": drawdown.worst,
                "worst_now": drawdown.now(stats[wallet]["position_pnl"]),
            }
        )
    with engine.begin() as conn:
        store.update_drawdowns(conn, rows)
    return len(rows)
