"""Sweeps through the real boundaries: the simulator over HTTP and SQLite/PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.sweep import SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import verification_period
from polymarket_pipeline_tests.support import (
    adaptive_sweep,
    fast_settings,
    random_wallets,
    register,
    stored_closes,
    stored_fills,
    stored_positions,
    truth_fills,
    truth_positions,
)


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=11, n_wallets=6, n_markets=8, history_days=5, trades_per_wallet=25)
    with SimulatorServer(config) as server:
        yield server


def run_sweep(sim: SimulatorServer, engine: Engine, wallets: list[str], **settings: object) -> SweepStats:
    async def main() -> SweepStats:
        async with PolymarketClient(fast_settings(sim, **settings)) as client:
            return await sweep(client, engine, wallets)

    return asyncio.run(main())


def test_first_sweep_stores_every_fill_once_and_the_exact_positions(
    sim: SimulatorServer, engine: Engine
) -> None:
    wallets = sim.model.wallets
    register(engine, wallets)
    stats = run_sweep(sim, engine, wallets)
    truth = sim.model.ground_truth()

    assert stats.wallets_failed == 0
    assert stats.wallets_polled == len(wallets)
    assert stored_fills(engine) == truth_fills(truth)
    assert any(f["role"] == "maker" for f in truth["fills"])  # maker legs are part of what was compared
    assert stored_positions(engine) == pytest.approx(truth_positions(truth))
    assert stored_closes(engine) == Counter()  # a first snapshot closes nothing
    with engine.connect() as connection:
        marks = dict(
            connection.execute(
                sa.text("SELECT wallet_address, last_trade_time_seen FROM wallet_poll_state")
            ).all()
        )
    for wallet in wallets:
        newest = max(f["timestamp"] for f in truth["fills"] if f["wallet"] == wallet)
        mark = marks[wallet]
        mark = datetime.fromisoformat(mark) if isinstance(mark, str) else mark
        assert int(mark.replace(tzinfo=UTC).timestamp()) == newest

    again = run_sweep(sim, engine, wallets)
    assert again.trades_inserted == 0
    assert sum(again.events.values()) == 0
    assert stored_fills(engine) == truth_fills(truth)


def test_changes_between_sweeps_are_recorded_with_the_right_close_reason(
    sim: SimulatorServer, engine: Engine
) -> None:
    wallets = sim.model.wallets
    register(engine, wallets)
    run_sweep(sim, engine, wallets)
    truth = sim.model.ground_truth()
    closes_before = len(truth["closes"])
    held = truth_positions(truth)
    open_markets = {m.condition_id for m in sim.model.markets if not m.closed}
    by_market: dict[str, list[tuple[str, str]]] = {}
    for (wallet, asset), _size in held.items():
        condition = sim.model.market_for_token(asset)[0].condition_id  # type: ignore[index]
        if condition in open_markets:
            by_market.setdefault(condition, []).append((wallet, asset))
    markets = sorted(by_market, key=lambda c: -len(by_market[c]))
    assert len(markets) >= 4, "the seeded history should leave several open markets with holders"
    redeemed_market, archived_market, unredeemed_market, sold_market = markets[:4]

    # manual close: sell a whole position; redeemed: resolve + redeem; market_closed: resolve + archive
    seller, sold_asset = by_market[sold_market][0]
    sim.model.close_position(seller, sold_asset)
    sim.model.resolve_market(redeemed_market, 0)
    redeemer = by_market[redeemed_market][0][0]
    sim.model.redeem(redeemer, redeemed_market)
    sim.model.resolve_market(archived_market, 1)
    sim.model.archive_market(archived_market)
    sim.model.resolve_market(unredeemed_market, 0)
    sim.model.generate_trades(10)

    run_sweep(sim, engine, wallets)
    truth = sim.model.ground_truth()
    expected = Counter(
        (c["wallet"], c["asset"], c["reason"])
        for c in truth["closes"][closes_before:]
        if held.get((c["wallet"], c["asset"]), 0) >= 0.1
    )
    assert {reason for _, _, reason in expected} >= {"manual_close", "redeemed", "market_closed"}
    assert stored_closes(engine) == expected
    assert stored_fills(engine) == truth_fills(truth)
    assert stored_positions(engine) == pytest.approx(truth_positions(truth))

    # resolved but not redeemed: still open, flagged redeemable
    with engine.connect() as connection:
        flags = (
            connection.execute(
                sa.text("SELECT redeemable FROM positions_current WHERE condition_id = :c"),
                {"c": unredeemed_market},
            )
            .scalars()
            .all()
        )
        events = Counter(
            connection.execute(sa.text("SELECT event_type FROM position_events")).scalars().all()
        )
    assert flags
    assert all(flags)
    assert events["closed"] == sum(expected.values())
    assert events["opened"] >= len(held)


FAULTS = {
    "429 storm": FaultRule(kind="429", retry_after=0.05),
    "html 429": FaultRule(kind="429_html", retry_after=0.05),
    "5xx burst": FaultRule(kind="502"),
    "hung connection": FaultRule(kind="hang", hang_seconds=30),
    "malformed json": FaultRule(kind="malformed"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_failing_wallet_does_not_stop_the_others_and_keeps_its_rows(
    sim: SimulatorServer, engine: Engine, fault: str
) -> None:
    wallets = sim.model.wallets
    register(engine, wallets)
    run_sweep(sim, engine, wallets)
    broken = wallets[0]
    with engine.connect() as connection:
        before = connection.execute(
            sa.text("SELECT count(*), max(traded_at) FROM trades_public WHERE wallet_address = :w"),
            {"w": broken},
        ).one()
        mark_before = connection.execute(
            sa.text("SELECT last_trade_time_seen FROM wallet_poll_state WHERE wallet_address = :w"),
            {"w": broken},
        ).scalar()
    sim.model.generate_trades(20)
    sim.faults.add(dataclasses.replace(FAULTS[fault], wallet=broken))
    stats = run_sweep(sim, engine, wallets, read_timeout_seconds=0.3)

    assert stats.wallets_failed == 1
    assert stats.wallets_polled == len(wallets) - 1
    assert broken in stats.failures
    assert "0x" in stats.failures[broken]
    truth = sim.model.ground_truth()
    others = [w for w in wallets if w != broken]
    assert +(stored_fills(engine) - truth_fills(truth)) == Counter()  # nothing wrong stored
    stored_others = Counter({k: v for k, v in stored_fills(engine).items() if k[0] in others})
    assert stored_others == truth_fills(truth, others)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT last_error, consecutive_failures, last_trade_time_seen FROM wallet_poll_state "
                "WHERE wallet_address = :w"
            ),
            {"w": broken},
        ).one()
        after = connection.execute(
            sa.text("SELECT count(*), max(traded_at) FROM trades_public WHERE wallet_address = :w"),
            {"w": broken},
        ).one()
    assert row.last_error
    assert row.consecutive_failures == 1
    assert row.last_trade_time_seen == mark_before  # the cursor did not move
    assert tuple(after) == tuple(before)

    sim.faults.clear()  # retried next cycle: the wallet catches up
    stats = run_sweep(sim, engine, wallets)
    assert stats.wallets_failed == 0
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth())


def test_fills_sharing_the_watermark_second_are_not_lost(sim: SimulatorServer, engine: Engine) -> None:
    wallet = sim.model.wallets[0]
    register(engine, [wallet])
    run_sweep(sim, engine, [wallet])
    with engine.connect() as connection:
        mark = connection.execute(
            sa.text("SELECT last_trade_time_seen FROM wallet_poll_state WHERE wallet_address = :w"),
            {"w": wallet},
        ).scalar()
    mark = datetime.fromisoformat(mark) if isinstance(mark, str) else mark
    second = int(mark.replace(tzinfo=UTC).timestamp())
    market = next(m for m in sim.model.markets if not m.closed)
    # A fill indexed late, in the very second of the watermark, and one a minute before it.
    sim.model.inject_trade(wallet, market.token_ids[0], "BUY", 3, 0.42, timestamp=second)
    sim.model.inject_trade(wallet, market.token_ids[1], "BUY", 2, 0.31, timestamp=second - 60)
    run_sweep(sim, engine, [wallet])
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth(), [wallet])


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_both_api_versions_store_the_same_rows(sim: SimulatorServer, tmp_path: object, version: str) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/{version}.sqlite")
    upgrade(engine)
    wallets = sim.model.wallets[:3]
    register(engine, wallets)
    run_sweep(sim, engine, wallets, data_api_version=version)
    truth = sim.model.ground_truth()
    assert stored_fills(engine) == truth_fills(truth, wallets)
    expected_positions = {k: v for k, v in truth_positions(truth).items() if k[0] in wallets}
    assert stored_positions(engine) == pytest.approx(expected_positions)
    engine.dispose()


def test_a_quiet_cold_sweep_costs_one_request_per_wallet_and_a_change_triggers_verification(
    sim: SimulatorServer, engine: Engine
) -> None:
    """Fills normally arrive through the feed; the cold sweep reads positions and re-reads a wallet's
    history only when its snapshot changed or its verification is due."""

    wallets = sim.model.wallets
    register(engine, wallets)
    first = adaptive_sweep(sim, engine, wallets)
    assert first.wallets_verified == len(wallets)  # never verified: full history

    sim.log.clear()
    quiet = adaptive_sweep(sim, engine, wallets)
    data = [r for r in sim.log.records() if r.api == "data"]
    assert quiet.wallets_verified == 0
    assert len(data) / len(wallets) <= 1.2  # the positions snapshot, one page each
    assert {r.route for r in data} == {"/v2/positions"}

    # a fill the feed never delivered changes a position: that wallet's history is re-read
    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(wallets[0], market.token_ids[0], "BUY", 5, 0.5, makers=[wallets[1]])
    changed = adaptive_sweep(sim, engine, wallets)
    assert changed.wallets_verified == 2  # the taker and its maker
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth())

    # nothing changed, but twelve hours later every wallet is verified again
    later = adaptive_sweep(sim, engine, wallets, now=datetime.now(UTC) + timedelta(hours=13))
    assert later.wallets_verified == len(wallets)


@pytest.mark.postgres
def test_a_dropped_database_connection_retries_the_wallet(
    sim: SimulatorServer, pg_server: str, pg_url: str
) -> None:
    """PostgreSQL kills the sweep's connection mid-write once: the wallet is retried, none fails."""

    engine = create_db_engine(pg_url)
    upgrade(engine)
    register(engine, sim.model.wallets)
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    killed: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def drop_once(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not killed and statement.lstrip().upper().startswith("INSERT INTO TRADES_PUBLIC"):
            pid = conn.connection.dbapi_connection.info.backend_pid
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    try:
        stats = run_sweep(sim, engine, sim.model.wallets)
        assert killed, "the connection was never dropped"
        assert stats.wallets_failed == 0, stats.failures
        assert stored_fills(engine) == truth_fills(sim.model.ground_truth())
    finally:
        event.remove(engine, "before_cursor_execute", drop_once)
        engine.dispose()
        admin.dispose()


def test_verification_is_spread_over_the_period_not_synchronized() -> None:
    """Wallets first polled together do not all fall due in one sweep (three requests each)."""
    wallets = random_wallets(1200, seed=7)
    every = timedelta(hours=12)
    periods = [verification_period(w, every) for w in wallets]
    assert all(timedelta(hours=9) <= p <= every for p in periods)
    due_per_hour = [sum(1 for p in periods if h <= p.total_seconds() / 3600 < h + 1) for h in range(9, 12)]
    assert max(due_per_hour) < 0.4 * len(wallets)  # about a third each hour, not all at once
    # the amortized cost of a quiet hourly sweep: 1 + 2 x (wallets verified per hour) <= 1.2
    assert 1 + 2 * sum(3600 / p.total_seconds() for p in periods) / len(periods) <= 1.2
    assert verification_period(wallets[0], every) == verification_period(wallets[0], every)
