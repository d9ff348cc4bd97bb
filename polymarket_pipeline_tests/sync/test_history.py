"""Histories bigger than one walk, completed over successive sweeps, through the real boundaries.

A simulator wallet with over 250,000 fills (and as many TRADE activity rows) is more than one
walk of 200 pages of 1,000 rows reads. Each cold sweep stores what its polls read, then walks the
rest backwards inside its history budget; the wallet is flagged until a walk reaches its first
row, and in the end every fill and activity row is stored exactly once (SQLite and PostgreSQL,
v2; v1 as far as its routes allow, on a smaller wallet).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import history as history_store
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.history import HistoryOptions, HistoryStats, continue_histories
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan
from polymarket_pipeline_tests.support import fast_settings, register, stored_fills, truth_fills

HEAVY_SETTLEMENTS = 250_000
MAX_SWEEPS = 10


def heavy_config(settlements: int) -> SimulatorConfig:
    return SimulatorConfig(
        seed=5,
        n_wallets=3,
        n_markets=30,
        history_days=90,
        trades_per_wallet=3,
        heavy_wallet_settlements=settlements,
        edge_cache_seconds=0.0,
    )


@pytest.fixture(scope="module")
def heavy() -> Iterator[tuple[SimulatorServer, dict[str, Any]]]:
    """One simulator for the module (its history takes ~20 s to build), with the whale's truth."""
    with SimulatorServer(heavy_config(HEAVY_SETTLEMENTS)) as server:
        yield server, _truth_of(server, server.model.wallets[0])


@pytest.fixture(scope="module")
def heavy_v1() -> Iterator[tuple[SimulatorServer, dict[str, Any]]]:
    with SimulatorServer(heavy_config(12_000)) as server:
        yield server, _truth_of(server, server.model.wallets[0])


def _truth_of(server: SimulatorServer, wallet: str) -> dict[str, Any]:
    truth = server.model.ground_truth()
    return {
        "wallet": wallet,
        "fills": [f for f in truth["fills"] if f["wallet"] == wallet],
        "activity": sum(1 for a in truth["activity"] if a["wallet"] == wallet),
    }


def cold_sweep(
    sim: SimulatorServer, engine: Engine, wallets: list[str], history: HistoryOptions, **settings: Any
) -> tuple[SweepStats, int]:
    """One cold sweep as the hourly schedule runs it, with its history phase; and its requests."""
    options = SweepOptions(plan=PollPlan(verify_every=timedelta(hours=12)), history=history)

    async def main() -> tuple[SweepStats, int]:
        async with PolymarketClient(fast_settings(sim, rate_limit=2000.0, burst=200, **settings)) as client:
            stats = await sweep(client, engine, wallets, options=options)
            return stats, client.stats.requests

    return asyncio.run(main())


def stored_activity(engine: Engine, wallet: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                sa.text("SELECT count(*) FROM activity_public WHERE wallet_address = :w"), {"w": wallet}
            )
            or 0
        )


def flags(engine: Engine, wallet: str) -> history_store.WalletHistory:
    with engine.connect() as connection:
        found = history_store.wallet_history(connection, wallet)
    assert found is not None
    return found


def sweep_until_complete(
    sim: SimulatorServer, engine: Engine, wallet: str, history: HistoryOptions, **settings: Any
) -> list[SweepStats]:
    """Cold sweeps until the wallet's history is whole; every sweep before that leaves it flagged."""
    done: list[SweepStats] = []
    for _ in range(MAX_SWEEPS):
        stats, _ = cold_sweep(sim, engine, [wallet], history, **settings)
        assert stats.wallets_failed == 0, stats.failures
        assert not stats.history.failures, stats.history.failures
        done.append(stats)
        state = flags(engine, wallet)
        if state.complete:
            assert stats.histories is not None
            assert stats.histories.wallets == 0
            return done
        # flagged while incomplete: the reason says how far the history reaches, the sweep counts it
        assert "stored back to" in (state.reason or ""), state.reason
        assert stats.histories is not None
        assert stats.histories.wallets == 1
    raise AssertionError(f"history still incomplete after {MAX_SWEEPS} sweeps: {flags(engine, wallet)}")


def test_a_wallet_bigger_than_one_walk_is_stored_once_in_full_over_a_few_sweeps(
    heavy: tuple[SimulatorServer, dict[str, Any]], engine: Engine
) -> None:
    sim, truth = heavy
    wallet = truth["wallet"]
    assert len(truth["fills"]) > 250_000  # more than one walk: 200 pages of 1,000 rows
    register(engine, [wallet])

    # a small share, so the 20-page floor sets each sweep's history budget
    budget = HistoryOptions(share=0.02, min_pages=20)
    first, _ = cold_sweep(sim, engine, [wallet], budget)
    state = flags(engine, wallet)
    assert not state.trades.complete
    assert state.trades.frontier is not None
    assert 200_000 <= sum(stored_fills(engine, [wallet]).values()) < len(truth["fills"])
    assert first.history.pages <= 20 + 1  # the budget's floor, plus the one request finding the start
    assert first.histories is not None
    assert first.histories.fills_to_read_estimate
    assert first.histories.fills_to_read_estimate > 0

    sweeps = [first, *sweep_until_complete(sim, engine, wallet, budget)]
    assert len(sweeps) >= 3  # the rest took a few sweeps of the budget, not one unbounded walk
    assert stored_fills(engine, [wallet]) == truth_fills({"fills": truth["fills"]})  # each fill once
    assert stored_activity(engine, wallet) == truth["activity"]
    done = flags(engine, wallet)
    assert done.trades.complete
    assert done.activity.complete
    assert done.trades.frontier is None
    assert done.reason is None

    # a later incremental sweep keeps it complete, reads nothing old, and spends no history budget
    again, _ = cold_sweep(sim, engine, [wallet], budget)
    assert flags(engine, wallet).complete
    assert again.history.pages == 0
    assert again.trades_inserted == 0


def test_v1_reads_past_the_trades_offset_cap_from_activity_trade_rows(
    heavy_v1: tuple[SimulatorServer, dict[str, Any]], engine: Engine
) -> None:
    sim, truth = heavy_v1
    wallet = truth["wallet"]
    register(engine, [wallet])
    v1 = {"data_api_version": "v1", "v1_trades_page_size": 1000}
    history = HistoryOptions(share=0.01, min_pages=8)

    _first, _ = cold_sweep(sim, engine, [wallet], history, **v1)
    assert len(truth["fills"]) > 4_000  # /trades stops at offset 3,000 (plus one page)
    stored = sum(stored_fills(engine, [wallet]).values())
    assert stored < len(truth["fills"])
    state = flags(engine, wallet)
    assert not state.trades.complete
    assert "stored back to" in (state.reason or "")
    # past /trades' offset cap the history comes from /activity TRADE rows, newest first
    trades_walk = [r for r in sim.log.records() if r.path == "/trades" and r.wallet == wallet]
    assert max(int(r.query.get("offset", 0)) for r in trades_walk) <= 3_000
    backward = [r for r in sim.log.records() if r.path == "/activity" and r.query.get("type") == "TRADE"]
    assert backward
    assert all(r.query["sortDirection"] == "DESC" for r in backward)

    sweep_until_complete(sim, engine, wallet, history, **v1)
    assert stored_fills(engine, [wallet]) == truth_fills({"fills": truth["fills"]})
    assert stored_activity(engine, wallet) == truth["activity"]


def test_a_cursor_that_never_ends_is_bounded_and_stays_flagged(engine: Engine) -> None:
    config = SimulatorConfig(seed=7, n_wallets=4, n_markets=6, history_days=5, trades_per_wallet=40)
    with SimulatorServer(config) as sim:
        wallet = sim.model.wallets[0]
        register(engine, [wallet])
        sim.faults.add(FaultRule(kind="endless_cursor", route="/v2/trades", wallet=wallet))
        settings = {"v2_page_size": 10, "max_pages_per_walk": 6}
        history = HistoryOptions(share=0.25, min_pages=12, max_pages_per_step=6)
        requests: list[int] = []
        for _ in range(3):
            stats, sent = cold_sweep(sim, engine, [wallet], history, **settings)
            requests.append(sent)
            state = flags(engine, wallet)
            assert not state.trades.complete  # never shown whole
            assert state.reason
            assert "trades: " in state.reason
            assert stats.histories is not None
            assert stats.histories.wallets == 1
        # bounded: the regular walk's 6 pages, the history budget's 12, the few other routes
        assert max(requests) <= 6 + 12 + 12
        routes = Counter(r.path for r in sim.log.records())
        assert routes["/v2/trades"] <= 3 * (6 + 12 + 2)


def _cut_histories(sim: SimulatorServer, engine: Engine, wallets: list[str]) -> dict[str, int]:
    """Regular polls that leave each wallet's trades cut (2 pages of 10 rows): the frontiers."""
    settings = {"v2_page_size": 10, "max_pages_per_walk": 2}

    async def main() -> None:
        async with PolymarketClient(fast_settings(sim, **settings)) as client:
            await sweep(client, engine, wallets, options=SweepOptions())

    asyncio.run(main())
    frontiers = {w: flags(engine, w).trades.frontier for w in wallets}
    assert all(f is not None for f in frontiers.values()), frontiers
    return {w: int(f) for w, f in frontiers.items() if f is not None}


def test_a_wallet_whose_history_step_fails_leaves_the_budget_to_the_others(engine: Engine) -> None:
    """The first wallet (by address) fails every step: its reservation goes back, so the next
    wallet's history still moves in the same phase, and the failure is named."""
    config = SimulatorConfig(seed=11, n_wallets=3, n_markets=6, history_days=5, trades_per_wallet=60)
    with SimulatorServer(config) as sim:
        wallets = sorted(sim.model.wallets[:3])
        register(engine, wallets)
        before = _cut_histories(sim, engine, wallets)
        sim.faults.add(FaultRule(kind="500", route="/v2/trades", wallet=wallets[0]))
        settings = {"v2_page_size": 10, "max_pages_per_walk": 2, "max_retries": 0}

        async def phase() -> HistoryStats:
            async with PolymarketClient(fast_settings(sim, **settings)) as client:
                markets = MarketDirectory(client, engine)
                options = HistoryOptions(max_pages_per_step=2, wallets_in_flight=1)
                return await continue_histories(client, engine, markets, 4, options=options)

        stats = asyncio.run(phase())
    assert list(stats.failures) == [wallets[0]]
    assert "500" in stats.failures[wallets[0]]
    assert flags(engine, wallets[0]).trades.frontier == before[wallets[0]]  # nothing moved for it
    moved = flags(engine, wallets[1]).trades
    assert moved.complete or (moved.frontier is not None and moved.frontier < before[wallets[1]])
    # within the 4 pages: each wallet's first-activity request, the failed step charged one, the
    # next wallet's step the one left (before, the failed step kept its whole reservation of 2)
    assert stats.pages <= 4


def test_history_steps_failing_past_the_failure_budget_make_the_sweep_partial() -> None:
    stats = SweepStats(wallets_polled=40)
    stats.history.wallets_stepped = 10
    assert stats.outcome() == "succeeded"
    stats.history.failures = {f"0x{i:040x}": "HTTP 500" for i in range(3)}
    assert stats.outcome() == "partial"  # the polls all worked, but older history is not being read


def test_v1_history_with_no_frontier_is_read_from_below_what_trades_stored(engine: Engine) -> None:
    """After migration 0004 reset the flags (no frontier), v1's backward walk over ``/activity``
    TRADE rows starts at the oldest fill ``/trades`` stored, not the watermark: the span above is
    not re-read from a route whose prices are derived apart (which could store fills twice)."""
    config = SimulatorConfig(seed=13, n_wallets=2, n_markets=6, history_days=20, trades_per_wallet=80)
    with SimulatorServer(config) as sim:
        wallet = sim.model.wallets[0]
        register(engine, [wallet])
        v1 = {"data_api_version": "v1"}
        cold_sweep(sim, engine, [wallet], HistoryOptions(share=0.25, min_pages=10), **v1)
        assert flags(engine, wallet).trades.complete
        with engine.begin() as connection:  # what migration 0004 did to every wallet
            connection.execute(
                sa.text(
                    "UPDATE wallet_poll_state SET history_complete = false, history_frontier_at = NULL "
                    "WHERE wallet_address = :w"
                ),
                {"w": wallet},
            )
            oldest = connection.execute(
                sa.text("SELECT min(traded_at) FROM trades_public WHERE wallet_address = :w"), {"w": wallet}
            ).scalar()
        stored_before = stored_fills(engine, [wallet])
        sim.log.clear()

        async def phase() -> HistoryStats:
            async with PolymarketClient(fast_settings(sim, **v1)) as client:
                return await continue_histories(client, engine, MarketDirectory(client, engine), 10)

        stats = asyncio.run(phase())
        backward = [r for r in sim.log.records() if r.path == "/activity" and r.query.get("type") == "TRADE"]
    assert not stats.failures
    assert backward
    first_end = int(backward[0].query["end"])
    assert oldest is not None
    oldest_epoch = int(_as_utc(oldest).timestamp())
    assert first_end == oldest_epoch  # not the watermark: nothing /trades stored is read again
    assert flags(engine, wallet).trades.complete
    assert stored_fills(engine, [wallet]) == stored_before  # no fill stored twice


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
