"""Reading Polymarket's own PnL figures: the ``/v2/user-pnl`` series of hot wallets, at most daily
each, and the API's figures of their closed positions, on the cold budget.

The series is what the ``pnl_matches_polymarket`` check compares the replay with; a wallet whose
read fails is retried at the next run (its fetch time is not moved) and never stops the others.
Reads are capped per run, so a deployment that just followed thousands of wallets spreads them
over several runs instead of spending a day's budget at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.api.text import escape
from polymarket_pipeline.db import official as store
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.pnl import OfficialPnlInput, store_official_points
from polymarket_pipeline.domain.records import OfficialPnlPoint, OfficialPnlSeries
from polymarket_pipeline.sync.fills import utcnow

log = logging.getLogger(__name__)

FETCH_EVERY = timedelta(days=1)
RETRY_FAILED_AFTER = timedelta(hours=1)
"""A wallet whose read failed is due again this long after (its read time is set back to make it so)."""
"""A wallet's official series is read at most this often (its past points are daily anyway)."""
MAX_WALLETS_PER_RUN = 200
WALLETS_IN_FLIGHT = 4
MESSAGE_LIMIT = 300


@dataclass(slots=True)
class OfficialRun:
    """What one read of official figures did (shown on ``wallet_pnl_official``)."""

    wallets_due: int = 0
    wallets_fetched: int = 0
    points_stored: int = 0
    closed_positions_stored: int = 0
    points_rejected: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def point_input(point: OfficialPnlPoint, series: OfficialPnlSeries) -> OfficialPnlInput:
    """A parsed point as the store takes it: every figure carried over (None stays None), and the
    validated point itself as its raw record."""
    figures = {f.name: getattr(point, f.name) for f in fields(OfficialPnlPoint)}
    return OfficialPnlInput(
        **figures,
        interval=series.interval,
        fidelity=series.fidelity,
        source_fidelity=series.source_fidelity,
        raw=figures,
    )


def _retry_later(engine: Engine, wallet: str, at: datetime) -> None:
    """Due again ``RETRY_FAILED_AFTER`` from now, not on every run: a wallet whose read keeps
    failing (a lasting 404) must not have the PnL sensor ask for a run every minute."""
    with engine.begin() as connection:
        store.mark_fetched(connection, wallet, at - FETCH_EVERY + RETRY_FAILED_AFTER)


async def fetch_official(
    client: PolymarketClient,
    engine: Engine,
    *,
    wallets: Sequence[str] | None = None,
    now: Callable[[], datetime] = utcnow,
    max_wallets: int = MAX_WALLETS_PER_RUN,
) -> OfficialRun:
    """Read the due hot wallets' official series and closed positions (``wallets``: these only)."""
    at = now()
    if wallets is None:
        with reading(engine) as connection:
            due = store.due_wallets(connection, fetched_before=at - FETCH_EVERY, limit=max_wallets)
    else:
        due = list(wallets)
    run = OfficialRun(wallets_due=len(due))
    slots = asyncio.Semaphore(WALLETS_IN_FLIGHT)

    async def one(wallet: str) -> None:
        async with slots:
            try:
                series = await client.fetch_user_pnl(wallet)
                closed = await client.fetch_closed_positions(wallet)
            except PolymarketError as exc:
                run.failures[wallet] = escape(exc, MESSAGE_LIMIT)
                log.warning("wallet %s: official PnL not read (retried within the hour): %s", wallet, exc)
                await asyncio.to_thread(_retry_later, engine, wallet, now())
                return
            points = [point_input(p, series) for p in series.points]
            stamp = now()
            stored = await asyncio.to_thread(store_official_points, engine, wallet, points, stamp)

            def write_closed() -> int:
                with engine.begin() as connection:
                    count = store.replace_closed_positions(connection, wallet, closed.positions, stamp)
                    store.mark_fetched(connection, wallet, stamp)
                return count

            run.closed_positions_stored += await asyncio.to_thread(write_closed)
            run.points_stored += stored
            run.points_rejected += series.rejected
            run.wallets_fetched += 1

    await asyncio.gather(*(one(w) for w in due))
    return run
