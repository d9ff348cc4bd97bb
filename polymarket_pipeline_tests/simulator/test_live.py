"""Live events: every close reason happens while the pipeline watches, not only manual closes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.simulator.live import KINDS, LiveEvents
from polymarket_pipeline.simulator.model import MarketModel
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.sweep import SweepStats, sweep
from polymarket_pipeline_tests.simulator.conftest import small_config
from polymarket_pipeline_tests.support import fast_settings, register, stored_closes

EVERY_REASON = {"redeemed", "merged", "market_closed", "converted"}


def test_a_rotation_of_events_closes_positions_for_every_reason() -> None:
    model = MarketModel(small_config(seed=31, neg_risk_events=2, n_markets=16))
    events = LiveEvents(model, seed=31, wallets=6)
    actors = set(events.actors())

    def closes() -> Counter[str]:
        return Counter(c["reason"] for c in model.ground_truth()["closes"] if c["wallet"] in actors)

    before = closes()
    performed = [events.step() for _ in range(12 * len(KINDS))]
    assert set(performed) - {None} == set(KINDS)  # each kind happened
    reasons = closes() - before
    assert set(reasons) >= EVERY_REASON, reasons
    current = [m for m in model.markets if not m.legacy]
    assert sum(1 for m in current if not m.closed) * 2 >= len(current)  # trading goes on


def test_the_same_seed_replays_the_same_events() -> None:
    def run() -> list[str | None]:
        model = MarketModel(small_config(seed=32))
        events = LiveEvents(model, seed=32, wallets=5)
        return [events.step() for _ in range(20)]

    assert run() == run()


def test_a_simulator_with_live_events_shows_the_pipeline_every_close_reason(engine: Engine) -> None:
    config = small_config(
        seed=33, neg_risk_events=2, n_markets=16, live_events_per_minute=1200.0, live_event_wallets=4
    )
    with SimulatorServer(config) as sim:
        actors = sim.model.wallets[:4]
        register(engine, actors)

        def swept() -> SweepStats:
            async def main() -> SweepStats:
                async with PolymarketClient(fast_settings(sim)) as client:
                    return await sweep(client, engine, actors)

            return asyncio.run(main())

        swept()  # the first snapshot closes nothing
        deadline = time.monotonic() + 60
        seen: set[str] = set()
        while time.monotonic() < deadline and not seen >= EVERY_REASON:
            time.sleep(1.0)
            swept()
            seen = {reason for (_, _, reason) in stored_closes(engine)}
        assert seen >= EVERY_REASON, seen
