"""Shared rate budgets in the application's PostgreSQL: one bucket per name for every process.

Each request books the next slot of every bucket it spends from (its tier, and Polymarket's
published ceilings for its API and route) in one short transaction, on the database's clock, so
any number of sweeps, shards and run containers together stay within the budget. Rows are
updated in name order, so two processes booking overlapping buckets never deadlock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.ratelimit import LATE_WAKE_SLACK, wait_for_slot
from polymarket_pipeline.domain.budgets import Budget, ceilings_for, with_send_margin

_ENSURE = text(
    "INSERT INTO rate_budget (name, theoretical_arrival) VALUES (:name, 0) ON CONFLICT (name) DO NOTHING"
)
_BOOK = text(
    """
    WITH now AS (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS t)
    UPDATE rate_budget AS b
    SET theoretical_arrival = GREATEST(b.theoretical_arrival, now.t) + :interval
    FROM now
    WHERE b.name = :name
    RETURNING GREATEST(0.0, b.theoretical_arrival - :interval - :tolerance - now.t)
    """
)


def book(engine: Engine, budgets: Sequence[Budget]) -> float:
    """Book one request in every bucket; returns how long the caller must wait (seconds)."""
    wait = 0.0
    with engine.begin() as connection:
        for budget in sorted(budgets, key=lambda b: b.name):
            waited = connection.execute(
                _BOOK, {"name": budget.name, "interval": budget.interval, "tolerance": budget.tolerance}
            ).scalar()
            if waited is None:  # first use of this bucket anywhere
                connection.execute(_ENSURE, {"name": budget.name})
                waited = connection.execute(
                    _BOOK, {"name": budget.name, "interval": budget.interval, "tolerance": budget.tolerance}
                ).scalar_one()
            wait = max(wait, float(waited))
    return wait


class SharedRateLimiter:
    """A tier's budget plus the published ceilings, shared through the database.

    Use where the application database is PostgreSQL; on SQLite (one machine, local use) the
    in-process :class:`~polymarket_pipeline.api.ratelimit.RateLimiter` is used instead.
    """

    def __init__(self, engine: Engine, tier: Budget) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("a shared rate budget needs PostgreSQL")
        self.engine = engine
        self.rate = tier.rate
        self.burst = tier.burst
        self.tier = with_send_margin(tier)
        self.late_wakes = 0
        """Requests that woke too late for their slot and booked again (see ``wait_for_slot``)."""

    async def acquire(self, api: str = "data", route: str | None = None) -> None:
        """Wait for this request's slot in the tier's bucket and in every ceiling it spends from."""
        budgets = [self.tier, *(with_send_margin(c) for c in ceilings_for(api, route))]
        slack = LATE_WAKE_SLACK * min(b.interval for b in budgets)

        async def book_all() -> float:
            return await asyncio.to_thread(book, self.engine, budgets)

        self.late_wakes += await wait_for_slot(book_all, slack)

    def __repr__(self) -> str:
        return f"SharedRateLimiter({self.tier!r})"
