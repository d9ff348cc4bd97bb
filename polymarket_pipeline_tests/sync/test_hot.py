"""Hot cycles against the simulator: the feed fast path, re-verification, gaps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import wallets
from polymarket_pipeline.domain.records import Fill
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.hot import FeedCursor, HotCycleStats, HotPoller, HotSettings, _complete_seconds
from polymarket_pipeline_tests.support import fast_settings, stored_fills, truth_fills


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(SimulatorConfig(seed=31, n_wallets=6, n_markets=6, history_days=2)) as server:
        yield server


def cycles(
    sim: SimulatorServer, engine: Engine, poller_cursor: FeedCursor, n: int, **settings: object
) -> tuple[HotPoller, HotCycleStats]:
    async def main() -> tuple[HotPoller, HotCycleStats]:
        async with PolymarketClient(fast_settings(sim, **settings)) as client:
            poller = HotPoller(client, engine, settings=HotSettings(feed_max_pages=1), cursor=poller_cursor)
            stats = HotCycleStats()
            for _ in range(n):
                await poller.cycle(stats)
            return poller, stats

    return asyncio.run(main())


def test_new_fills_of_hot_wallets_come_from_the_feed(sim: SimulatorServer, engine: Engine) -> None:
    hot = sim.model.wallets[:2]
    with engine.begin() as connection:
        for address in hot:
            wallets.add_follow(connection, "fan", address)
    poller, _ = cycles(sim, engine, FeedCursor(), 1)  # history via re-verification
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth(), hot)

    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(hot[1], market.token_ids[1], "BUY", 4, 0.55)
    sim.log.clear()
    started = time.time()
    poller, stats = cycles(sim, engine, poller.cursor, 1)
    assert stats.feed_trades_inserted >= 1
    assert stats.triggered_wallets >= 1
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth(), hot)
    routes = [(r.route, r.wallet) for r in sim.log.records(since=started)]
    assert routes[0] == ("/v2/trades", None)  # the feed first


def test_a_feed_gap_is_reported(sim: SimulatorServer, engine: Engine) -> None:
    with engine.begin() as connection:
        wallets.add_follow(connection, "fan", sim.model.wallets[0])
    poller, _ = cycles(sim, engine, FeedCursor(), 1, v2_page_size=5)
    assert not poller.gap_detected
    sim.model.generate_trades(40)
    poller, stats = cycles(sim, engine, poller.cursor, 1, v2_page_size=5)
    assert poller.gap_detected
    assert stats.feed_gaps == 1


def test_without_registered_wallets_a_window_returns_at_once(sim: SimulatorServer, engine: Engine) -> None:
    async def main() -> HotCycleStats:
        async with PolymarketClient(fast_settings(sim)) as client:
            poller = HotPoller(client, engine, settings=HotSettings(window_seconds=3))
            return await poller.run_window()

    started = time.monotonic()
    stats = asyncio.run(main())
    assert time.monotonic() - started < 2  # not the 3 s window
    assert stats.cycles == 0


def test_new_hot_wallets_first_then_a_trickle_whose_pace_ignores_their_number(
    sim: SimulatorServer, engine: Engine
) -> None:
    with engine.begin() as connection:
        for address in sim.model.wallets:
            wallets.add_follow(connection, "fan", address)

    async def main() -> list[int]:
        async with PolymarketClient(fast_settings(sim)) as client:
            settings = HotSettings(
                cycle_seconds=1.0,
                window_seconds=3.5,
                max_new_per_cycle=2,
                verify_rate=0.5,
                verify_every=timedelta(hours=1),
            )
            poller = HotPoller(client, engine, settings=settings)
            counts = []
            for _ in range(7):
                stats = HotCycleStats()
                await poller.cycle(stats)
                counts.append(stats.reverified_wallets)
            return counts

    # six new wallets, two per cycle (the third cycle also spends the trickle credit saved up
    # meanwhile on one known wallet); then re-verification at 0.5 wallets per 1 s cycle
    assert asyncio.run(main()) == [2, 2, 3, 1, 0, 1, 0]


def test_the_feed_stores_every_registered_wallets_fills_not_only_hot_ones(
    sim: SimulatorServer, engine: Engine
) -> None:
    hot, cold = sim.model.wallets[0], sim.model.wallets[1]
    with engine.begin() as connection:
        wallets.add_follow(connection, "fan", hot)
        wallets.register_wallets(connection, [cold])
    poller, _ = cycles(sim, engine, FeedCursor(), 1)
    before = stored_fills(engine)
    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(cold, market.token_ids[0], "BUY", 3, 0.41)
    sim.log.clear()
    started = time.time()
    poller, stats = cycles(sim, engine, poller.cursor, 1)
    new = stored_fills(engine) - before
    assert [k for k in new if k[0] == cold], "the cold wallet's new fill came from the feed"
    assert stats.feed_wallets >= 1
    # a cold wallet's positions wait for the cold sweep: no per-wallet request for it
    assert all(r.wallet != cold for r in sim.log.records(since=started))


def test_only_complete_seconds_are_taken_from_a_truncated_feed() -> None:
    def fill(ts: int) -> Fill:
        return Fill("0x" + "a" * 40, "BUY", "1", "0x" + "1" * 64, 1.0, 0.5, ts, "0x" + "f" * 64)

    fills = [fill(12), fill(11), fill(10), fill(10)]
    assert [f.timestamp for f in _complete_seconds(fills, since=5, reached_since=False)] == [12, 11]
    assert [f.timestamp for f in _complete_seconds(fills, since=11, reached_since=True)] == [12, 11]
    assert FeedCursor.loads(FeedCursor(42).dumps()) == FeedCursor(42)
    assert FeedCursor.loads("garbage") == FeedCursor()
