"""A hostile upstream, through the real boundary: one bad value, body or wallet never stops the others.

Each hostile mode of the simulator (``simulator/faults.py``) is aimed at one wallet; the sweep of
every wallet must finish, the other wallets' rows must equal the ground truth, nothing stored may
break the bounds a user relies on, and what went wrong must be named, escaped and short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.simulator.faults import CORRUPTIONS, FaultRule
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.sweep import SweepStats, sweep
from polymarket_pipeline_tests.support import fast_settings, register, stored_fills, truth_fills

CONTROL = tuple(chr(c) for c in (*range(0, 32), 127))


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=29, n_wallets=5, n_markets=8, history_days=3, trades_per_wallet=12)
    with SimulatorServer(config) as server:
        yield server


def run_sweep(sim: SimulatorServer, engine: Engine, **settings: object) -> SweepStats:
    async def main() -> SweepStats:
        async with PolymarketClient(fast_settings(sim, max_retries=1, **settings)) as client:
            return await sweep(client, engine, sim.model.wallets)

    return asyncio.run(main())


def assert_stored_rows_are_sane(engine: Engine) -> None:
    """Bounds a user relies on, over everything stored."""
    latest = datetime.now(UTC) + timedelta(minutes=5)
    with engine.connect() as connection:
        trades = connection.execute(
            sa.text("SELECT size, price, traded_at, condition_id, asset, title FROM trades_public")
        ).all()
        marks = connection.execute(sa.text("SELECT last_trade_time_seen FROM wallet_poll_state")).scalars()
        marks = [m for m in marks if m is not None]
    for size, price, traded_at, condition_id, asset, title in trades:
        assert size >= 0
        assert 0 <= price <= 1
        assert _utc(traded_at) <= latest
        assert len(condition_id) == 66
        assert len(asset) <= 100
        assert not any(c in (title or "") for c in CONTROL)
    assert all(_utc(m) <= datetime.now(UTC) for m in marks)  # a watermark never passes now


def _utc(value: object) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.mark.parametrize("field", CORRUPTIONS)
def test_a_corrupt_row_is_refused_alone_and_the_sweep_completes(
    sim: SimulatorServer, engine: Engine, field: str
) -> None:
    register(engine, sim.model.wallets)
    culprit, others = sim.model.wallets[0], sim.model.wallets[1:]
    sim.faults.add(FaultRule(kind="corrupt", route="/v2/trades", wallet=culprit, field=field))
    stats = run_sweep(sim, engine)
    truth = sim.model.ground_truth()
    assert stats.wallets_polled + stats.wallets_failed == len(sim.model.wallets)
    assert stored_fills(engine, others) == truth_fills(truth, others)
    assert not stored_fills(engine, [culprit]) - truth_fills(truth, [culprit])  # nothing made up
    assert_stored_rows_are_sane(engine)
    if field not in ("control_chars", "huge_outcome_index"):  # cleaned or unknown: the row is kept
        assert stats.rows_rejected >= 1 or stats.wallets_failed == 1


def test_a_corrupt_row_in_the_global_feed_is_skipped_and_the_feed_goes_on(
    sim: SimulatorServer, engine: Engine
) -> None:
    from polymarket_pipeline.sync.hot import FeedCursor, HotCycleStats, HotPoller, HotSettings

    register(engine, sim.model.wallets)

    async def feed_cycle(cursor: FeedCursor) -> tuple[FeedCursor, HotCycleStats]:
        async with PolymarketClient(fast_settings(sim)) as client:
            poller = HotPoller(client, engine, settings=HotSettings(verify_rate=0.01), cursor=cursor)
            stats = HotCycleStats()
            await poller.cycle(stats)
            return poller.cursor, stats

    cursor, _ = asyncio.run(feed_cycle(FeedCursor()))
    market = next(m for m in sim.model.markets if not m.closed)
    for wallet in sim.model.wallets[:3]:
        sim.model.inject_trade(wallet, market.token_ids[0], "BUY", 2, 0.5)
    sim.faults.add(FaultRule(kind="corrupt", route="/v2/trades", field="huge_timestamp", count=1))
    _, stats = asyncio.run(feed_cycle(cursor))
    assert stats.feed_trades_inserted >= 2  # the good rows of the page were stored
    assert_stored_rows_are_sane(engine)


@pytest.mark.parametrize("kind", ["oversize", "endless_cursor", "huge_error", "drop"])
def test_hostile_bodies_fail_or_stop_one_wallet_boundedly_and_say_so_safely(
    sim: SimulatorServer, engine: Engine, kind: str
) -> None:
    register(engine, sim.model.wallets)
    culprit, others = sim.model.wallets[0], sim.model.wallets[1:]
    size_mb = 12.0 if kind == "oversize" else 5.0
    sim.faults.add(FaultRule(kind=kind, route="/v2/trades", wallet=culprit, size_mb=size_mb))
    started = time.monotonic()
    stats = run_sweep(sim, engine, max_response_bytes=4 * 1024 * 1024, max_pages_per_walk=20)
    assert time.monotonic() - started < 60  # bounded in time: no endless walk, no unbounded read
    truth = sim.model.ground_truth()
    assert stored_fills(engine, others) == truth_fills(truth, others)
    assert_stored_rows_are_sane(engine)
    with engine.connect() as connection:
        error = connection.execute(
            sa.text("SELECT last_error FROM wallet_poll_state WHERE wallet_address = :w"), {"w": culprit}
        ).scalar()
    if kind == "endless_cursor":
        assert stats.incomplete_histories == 1  # stopped at the page bound, flagged, not failed
    else:
        assert stats.wallets_failed == 1
        assert error
        assert "/v2/trades" in error  # names the route
        assert len(error) <= 2000
        assert not any(c in error for c in CONTROL)  # no forged log lines, no terminal escapes
