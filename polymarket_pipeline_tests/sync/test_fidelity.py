"""The real quirks, end to end: simulator over HTTP, SQLite and PostgreSQL, Data API v1 and v2.

Each test drives the simulator the way the live APIs behave (per ``../shared/real_payloads``) and
compares what the pipeline stored with the simulator's ground truth.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.sweep import SweepStats, sweep
from polymarket_pipeline_tests.support import fast_settings, register, stored_fills, truth_fills

ActivityKey = tuple[str, str, str, str, float]


@pytest.fixture(params=["v2", "v1"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=17, n_wallets=6, n_markets=24, history_days=4, trades_per_wallet=8)
    with SimulatorServer(config) as server:
        yield server


def run_sweep(sim: SimulatorServer, engine: Engine, version: str) -> SweepStats:
    async def main() -> SweepStats:
        async with PolymarketClient(fast_settings(sim, data_api_version=version)) as client:
            return await sweep(client, engine, sim.model.wallets)

    return asyncio.run(main())


def stored_closes_since(engine: Engine) -> Counter[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT wallet_address, asset, reason FROM positions_closed"))
        return Counter((r[0], r[1], r[2]) for r in rows)


def truth_closes_after(truth: dict[str, Any], t0: int) -> Counter[tuple[str, str, str]]:
    return Counter((c["wallet"], c["asset"], c["reason"]) for c in truth["closes"] if c["at"] >= t0)


def stored_activity(engine: Engine) -> Counter[ActivityKey]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT wallet_address, type, transaction_hash, condition_id, size FROM activity_public")
        )
        return Counter((r[0], r[1], r[2].lower(), r[3] or "", round(float(r[4] or 0), 6)) for r in rows)


def truth_activity(truth: dict[str, Any]) -> Counter[ActivityKey]:
    return Counter(
        (
            a["wallet"],
            a["type"],
            a["transaction_hash"].lower(),
            a["condition_id"] or "",
            round(float(a["size"]), 6),
        )
        for a in truth["activity"]
    )


def held(truth: dict[str, Any], wallet: str) -> set[str]:
    return {p["condition_id"] for p in truth["positions"] if p["wallet"] == wallet}


def test_merges_conversions_winnerless_resolutions_and_rewards_are_stored_and_classified(
    sim: SimulatorServer, engine: Engine, version: str
) -> None:
    model = sim.model
    register(engine, model.wallets)
    run_sweep(sim, engine, version)
    t0 = int(time.time())
    truth = model.ground_truth()
    markets = truth["markets"]
    merger, plain = next(
        (w, m)
        for w in model.wallets
        for m in markets
        if not m["closed"] and not m["neg_risk"] and m["condition_id"] not in held(truth, w)
    )
    converter = next(w for w in model.wallets if w != merger)
    model.split(merger, plain["condition_id"], 50)
    event = next(e for e in truth["events"] if e["neg_risk"])
    converted = next(c for c in event["condition_ids"] if c not in held(truth, converter))
    model.split(converter, converted, 30)
    model.reward(merger, 12.5)
    run_sweep(sim, engine, version)  # the split positions are opened

    model.merge(merger, plain["condition_id"])  # both outcome tokens back into USDC: two closes
    model.convert(converter, converted, 30)  # the NO tokens become the event's other YES tokens
    open_markets = {
        m["condition_id"]: m
        for m in markets
        if not m["closed"] and not m["neg_risk"] and m["condition_id"] != plain["condition_id"]
    }
    winnerless = next(
        open_markets[p["condition_id"]]
        for p in truth["positions"]
        if p["condition_id"] in open_markets and p["wallet"] not in (merger, converter)
    )
    model.resolve_market(winnerless["condition_id"], 0, flag_winner=False)  # prices 1/0, no winner flag
    model.archive_market(winnerless["condition_id"])  # positions leave /positions unredeemed
    stats = run_sweep(sim, engine, version)
    assert stats.wallets_failed == 0, stats.failures

    truth = model.ground_truth()
    expected = truth_closes_after(truth, t0)
    assert {r for _, _, r in expected} >= {"merged", "converted", "market_closed"}
    assert stored_closes_since(engine) == expected
    assert stored_activity(engine) == truth_activity(truth)  # every activity row once, rewards too
    assert stored_fills(engine) == truth_fills(truth)  # SPLIT/MERGE/CONVERSION added no trade row
    with engine.connect() as connection:
        reasons = Counter(
            r[0] for r in connection.execute(
                sa.text("SELECT reason FROM position_events WHERE event_type = 'closed'")
            )
        )  # fmt: skip
    assert reasons["merged"] == expected_count(expected, "merged")
    assert reasons["converted"] == expected_count(expected, "converted")


def expected_count(closes: Counter[tuple[str, str, str]], reason: str) -> int:
    return sum(n for (_, _, r), n in closes.items() if r == reason)


def test_degraded_feed_rows_never_overwrite_known_values_and_are_labeled(
    sim: SimulatorServer, engine: Engine, version: str
) -> None:
    """The unscoped feed serves outcome index 999 and empty event slugs for the same fills."""
    from polymarket_pipeline.sync.hot import FeedCursor, HotCycleStats, HotPoller, HotSettings

    wallet = sim.model.wallets[0]
    register(engine, [wallet], hot=True)
    run_sweep_one = run_sweep(sim, engine, version)
    assert run_sweep_one.wallets_failed == 0
    market = next(m for m in sim.model.markets if not m.closed)

    async def feed_cycle(cursor: FeedCursor) -> FeedCursor:
        async with PolymarketClient(fast_settings(sim, data_api_version=version)) as client:
            poller = HotPoller(client, engine, settings=HotSettings(verify_rate=0.01), cursor=cursor)
            await poller.cycle(HotCycleStats())
            return poller.cursor

    cursor = asyncio.run(feed_cycle(FeedCursor()))
    sim.model.inject_trade(wallet, market.token_ids[1], "BUY", 6, 0.44)
    asyncio.run(feed_cycle(cursor))  # the new fill arrives from the degraded feed first
    run_sweep(sim, engine, version)  # then per wallet, with the real values
    asyncio.run(feed_cycle(cursor))  # and the feed again: it must not erase them
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT asset, outcome_index, event_slug FROM trades_public WHERE wallet_address = :w"),
            {"w": wallet},
        ).all()
    truth = {f["asset"]: f for f in sim.model.ground_truth()["fills"] if f["wallet"] == wallet}
    assert rows
    for asset, outcome_index, event_slug in rows:
        assert outcome_index is not None
        assert outcome_index == truth[asset]["outcome_index"]
        assert event_slug  # the per-wallet read's slug survived the feed's empty one
