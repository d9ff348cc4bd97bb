"""Feed first, the record second: fills missed by the feed are still stored, each exactly once.

The hot path stores fills from the global feed; a feed gap (more new fills than the page budget)
or a fill indexed late (older than the feed's overlap when it appears) is missed there, changes
a position, and the wallet's next adaptive sweep re-reads its history. Compared with ground truth.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.hot import FeedCursor, HotCycleStats, HotPoller, HotSettings
from polymarket_pipeline_tests.support import (
    adaptive_sweep,
    fast_settings,
    register,
    stored_fills,
    truth_fills,
)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=43, n_wallets=8, n_markets=10, history_days=2, trades_per_wallet=6)
    with SimulatorServer(config) as server:
        yield server


def feed_cycles(
    sim: SimulatorServer, engine: Engine, cursor: FeedCursor, n: int
) -> tuple[FeedCursor, HotCycleStats]:
    async def main() -> tuple[FeedCursor, HotCycleStats]:
        async with PolymarketClient(fast_settings(sim, v2_page_size=5)) as client:
            settings = HotSettings(feed_max_pages=2, verify_rate=0.01)
            poller = HotPoller(client, engine, settings=settings, cursor=cursor)
            stats = HotCycleStats()
            for _ in range(n):
                await poller.cycle(stats)
            return poller.cursor, stats

    return asyncio.run(main())


def test_fills_missed_by_the_feed_are_stored_exactly_once_by_the_next_sweep(
    sim: SimulatorServer, engine: Engine
) -> None:
    register(engine, sim.model.wallets)
    adaptive_sweep(sim, engine)  # first polls: whole histories
    cursor, _ = feed_cycles(sim, engine, FeedCursor(), 1)

    sim.model.generate_trades(30)  # a burst past the feed's budget (2 pages of 5 rows): a gap
    market = next(m for m in sim.model.markets if not m.closed)
    late = sim.model.wallets[3]
    # a fill indexed five minutes late: already older than the feed's overlap when it appears
    sim.model.inject_trade(late, market.token_ids[0], "BUY", 3, 0.4, timestamp=int(time.time()) - 300)
    cursor, stats = feed_cycles(sim, engine, cursor, 1)
    assert stats.feed_gaps == 1
    truth = sim.model.ground_truth()
    assert stored_fills(engine) != truth_fills(truth)  # the feed alone missed some

    adaptive_sweep(sim, engine)
    truth = sim.model.ground_truth()
    assert stored_fills(engine) == truth_fills(truth)  # every fill, each exactly once
