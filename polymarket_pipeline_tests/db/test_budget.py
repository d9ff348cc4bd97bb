"""The shared budget in PostgreSQL: several workers booking at once stay within rate and burst."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from polymarket_pipeline.api import ClientSettings, PolymarketClient
from polymarket_pipeline.db.budget import SharedRateLimiter, book
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.domain.budgets import (
    ROUTE_CEILINGS,
    Budget,
    busiest_window,
    window_allowance,
    with_send_margin,
)
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(pg_url: str) -> Engine:
    engine = create_db_engine(pg_url)
    upgrade(engine)
    return engine


def test_concurrent_bookings_from_several_workers_share_one_bucket(pg_engine: Engine) -> None:
    """Four workers book 30 requests each: their slots, on the database clock, obey one bucket."""
    budget = Budget("test:tier", rate=20, burst=5)
    slots: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(30):
            with pg_engine.connect() as connection:
                booked_at = connection.execute(
                    text("SELECT EXTRACT(EPOCH FROM clock_timestamp())")
                ).scalar_one()
            wait = book(pg_engine, [budget])
            with lock:
                slots.append(float(booked_at) + wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slots) == 120
    assert busiest_window(slots, 1.0) <= 20 + 5 + 1  # +1: the clock read precedes the booking
    span = max(slots) - min(slots)
    assert span >= (120 - 5) / 20 * 0.95  # the bucket really throttled the four of them


def test_the_limiter_waits_and_refuses_sqlite(pg_engine: Engine, tmp_path: object) -> None:
    limiter = SharedRateLimiter(pg_engine, Budget("test:limiter", rate=50, burst=1))

    async def go() -> float:
        began = time.monotonic()
        for _ in range(11):
            await limiter.acquire("data", "GET /v2/activity")
        return time.monotonic() - began

    assert 0.18 <= asyncio.run(go()) <= 0.6  # ten intervals of 20 ms after the first
    with pytest.raises(ValueError, match="PostgreSQL"):
        SharedRateLimiter(create_db_engine("sqlite://"), Budget("x", rate=1, burst=1))


def test_waiters_woken_late_by_a_blocked_loop_book_again(pg_engine: Engine) -> None:
    """A loop blocked for 0.4 s wakes every overdue waiter at once; they book new slots instead of
    sending together with the ones due after them, so the sends stay inside the bucket's windows."""
    rate, burst, n = 20.0, 2, 30
    limiter = SharedRateLimiter(pg_engine, Budget("test:late-wakes", rate=rate, burst=burst))

    async def go() -> list[float]:
        loop = asyncio.get_running_loop()
        stamps: list[float] = []

        async def one() -> None:
            await limiter.acquire("clob", "GET /book")
            stamps.append(loop.time())

        async def block() -> None:
            await asyncio.sleep(0.15)
            time.sleep(0.4)  # noqa: ASYNC251 - the stall under test: something blocking on the loop

        await asyncio.gather(block(), *(one() for _ in range(n)))
        return sorted(stamps)

    stamps = asyncio.run(go())
    assert limiter.late_wakes > 0
    for length in (0.25, 0.5, 1.0):
        assert busiest_window(stamps, length) <= window_allowance(rate, burst, length), length


def test_the_client_books_each_routes_published_ceiling_over_http(pg_engine: Engine) -> None:
    """Through the real client and simulator: /positions requests spend from Polymarket's
    /positions ceiling (150 per 10 s) even when the tier would allow far more, and a CLOB request
    spends from the CLOB's bucket, not the Data API's."""
    config = SimulatorConfig(seed=5, n_wallets=10, n_markets=4, trades_per_wallet=2, latency_ms=0)
    with SimulatorServer(config) as sim:
        settings = ClientSettings(
            data_api_url=sim.data_api_url,
            clob_api_url=sim.clob_api_url,
            gamma_api_url=sim.gamma_api_url,
            wallet_cooldown_seconds=0.0,
        )
        limiter = SharedRateLimiter(pg_engine, Budget("test:wide-tier", rate=1000, burst=1000))
        wallets = sim.model.wallets
        condition_id = sim.model.markets[0].condition_id
        n = 40

        async def go() -> None:
            async with PolymarketClient(settings, limiter=limiter) as client:
                await asyncio.gather(*(client.fetch_positions(wallets[i % len(wallets)]) for i in range(n)))
                await client.fetch_market_resolution(condition_id)

        asyncio.run(go())
        arrivals = sorted(r.at for r in sim.log.records() if r.route == "/v2/positions")

    with pg_engine.connect() as connection:
        booked = set(connection.execute(text("SELECT name FROM rate_budget")).scalars())
    assert booked == {"test:wide-tier", "polymarket:data", "polymarket:data:/positions", "polymarket:clob"}
    ceiling = with_send_margin(ROUTE_CEILINGS["positions"])
    assert len(arrivals) == n
    # the tier alone would send all 40 at once; the route's bucket spaces those past its burst
    assert arrivals[-1] - arrivals[0] >= (n - ceiling.burst) / ceiling.rate * 0.9
