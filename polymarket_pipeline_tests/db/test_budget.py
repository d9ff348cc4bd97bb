"""The shared budget in PostgreSQL: several workers booking at once stay within rate and burst."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.budget import SharedRateLimiter, book
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.domain.budgets import Budget
from polymarket_pipeline_tests.domain.test_budgets import most_in_window

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
    assert most_in_window(slots, 1.0) <= 20 + 5 + 1  # +1: the clock read precedes the booking
    span = max(slots) - min(slots)
    assert span >= (120 - 5) / 20 * 0.95  # the bucket really throttled the four of them


def test_the_limiter_waits_and_refuses_sqlite(pg_engine: Engine, tmp_path: object) -> None:
    import asyncio
    import time

    limiter = SharedRateLimiter(pg_engine, Budget("test:limiter", rate=50, burst=1))

    async def go() -> float:
        began = time.monotonic()
        for _ in range(11):
            await limiter.acquire("data", "GET /v2/activity")
        return time.monotonic() - began

    assert 0.18 <= asyncio.run(go()) <= 0.6  # ten intervals of 20 ms after the first
    with pytest.raises(ValueError, match="PostgreSQL"):
        SharedRateLimiter(create_db_engine("sqlite://"), Budget("x", rate=1, burst=1))
