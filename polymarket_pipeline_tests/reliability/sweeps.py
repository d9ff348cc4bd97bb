"""Running cold sweeps as real processes, and the invariants a sweep must keep whatever happens."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.schema import (
    PositionCurrent,
    PositionEvent,
    TradePublic,
    WalletPollState,
    table_of,
)
from polymarket_pipeline.definitions import build_definitions
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy import harness
from polymarket_pipeline_tests.support import (
    stored_fills,
    stored_positions,
    truth_fills,
    truth_positions,
)


@dataclass(frozen=True)
class DagsterHome:
    path: Path
    env: dict[str, str]
    """DAGSTER_HOME and DAGSTER_POSTGRES_* for the processes."""
    instance: dg.DagsterInstance
    storage_url: str
    secret: str


@dataclass(frozen=True)
class AppDatabase:
    name: str
    url: str
    engine: Engine
    secret: str


SLOW_RATE = "20"
"""Cold requests/s of a sweep that a test interrupts: 60 wallets take ~3 s per phase."""


def sweep_env(
    sim: SimulatorServer, home: DagsterHome, db_url: str, *, rate: str = SLOW_RATE
) -> dict[str, str]:
    return harness.base_env(
        **home.env,
        POLYMARKET_DATABASE_URL=db_url,
        POLYMARKET_DATA_API_URL=sim.data_api_url,
        POLYMARKET_CLOB_API_URL=sim.clob_api_url,
        POLYMARKET_GAMMA_API_URL=sim.gamma_api_url,
        POLYMARKET_COLD_RATE_LIMIT=rate,
        POLYMARKET_COLD_BURST="1",
    )


def sweep_process(name: str, env: dict[str, str], tmp: Path) -> harness.Proc:
    """``dagster job execute -j cold_wallets_job``: no partition, no config, as users launch it."""
    argv = [
        harness.tool("dagster"), "job", "execute", "-m", "polymarket_pipeline.definitions",
        "-j", "cold_wallets_job",
    ]  # fmt: skip
    return harness.Proc(name, argv, env, tmp, tmp / "logs")


def polled_wallets(engine: Engine, phase: str) -> set[str]:
    """Wallets whose ``phase`` (trades or positions) was committed."""
    state = table_of(WalletPollState)
    column = state.c.last_trades_polled_at if phase == "trades" else state.c.positions_snapshot_at
    with engine.connect() as connection:
        return set(connection.execute(sa.select(state.c.wallet_address).where(column.is_not(None))).scalars())


def requested_wallets(sim: SimulatorServer, since: float, route_part: str) -> set[str]:
    return {
        r.wallet for r in sim.log.records(since) if r.api == "data" and r.wallet and route_part in r.route
    }


def run_of(home: DagsterHome, job_name: str = "cold_wallets_job") -> dg.DagsterRun:
    """The latest run of ``job_name`` in the shared Dagster storage."""
    [record] = home.instance.get_run_records(dg.RunsFilter(job_name=job_name), limit=1)
    return record.dagster_run


def assert_cursors_consistent(engine: Engine) -> None:
    """Every cursor agrees with the rows it vouches for."""
    state, trades = table_of(WalletPollState), table_of(TradePublic)
    current, events = table_of(PositionCurrent), table_of(PositionEvent)
    with engine.connect() as connection:
        marks = connection.execute(
            sa.select(state.c.wallet_address, state.c.last_trade_time_seen, sa.func.max(trades.c.traded_at))
            .select_from(state.outerjoin(trades, trades.c.wallet_address == state.c.wallet_address))
            .group_by(state.c.wallet_address, state.c.last_trade_time_seen)
        ).all()
        latest_id = (
            sa.select(sa.func.max(events.c.id).label("id"))
            .group_by(events.c.wallet_address, events.c.asset)
            .subquery()
        )
        latest = connection.execute(
            sa.select(
                events.c.wallet_address, events.c.asset, events.c.event_type, events.c.size_after
            ).where(events.c.id.in_(sa.select(latest_id.c.id)))
        ).all()
        stored = connection.execute(
            sa.select(current.c.wallet_address, current.c.asset, current.c.size)
        ).all()
        snapshots = dict(
            connection.execute(sa.select(state.c.wallet_address, state.c.positions_snapshot_at))
            .tuples()
            .all()
        )
    wrong = [(w, mark, newest) for w, mark, newest in marks if not _same_time(mark, newest)]
    assert not wrong, f"last_trade_time_seen differs from the newest stored fill: {wrong[:5]}"

    open_by_events = {(w, a): size for w, a, kind, size in latest if kind != "closed"}
    in_table = {(w, a): size for w, a, size in stored}
    assert set(in_table) == set(open_by_events), (
        f"positions_current and the latest position_events disagree: only in the table "
        f"{sorted(set(in_table) - set(open_by_events))[:5]}, only in events "
        f"{sorted(set(open_by_events) - set(in_table))[:5]}"
    )
    sizes = [(k, in_table[k], open_by_events[k]) for k in in_table]
    off = [s for s in sizes if not math.isclose(s[1], s[2], rel_tol=1e-9, abs_tol=1e-6)]
    assert not off, f"positions_current.size differs from the latest event's size_after: {off[:5]}"
    never = {wallet for wallet, taken in snapshots.items() if taken is None}
    assert not {w for w, _ in in_table} & never, "positions stored for a wallet with no snapshot"


def _same_time(a: datetime | None, b: datetime | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a == b


def assert_committed_wallets_complete(sim: SimulatorServer, app: AppDatabase) -> None:
    """After an interruption: nothing duplicated, and every wallet whose cursor moved has all its fills."""
    truth = sim.model.ground_truth()
    stored = stored_fills(app.engine)
    assert stored - truth_fills(truth) == Counter(), "fills stored that the API never had (duplicates?)"
    done = polled_wallets(app.engine, "trades")
    assert Counter({k: v for k, v in stored.items() if k[0] in done}) == truth_fills(truth, done)
    snapshot_done = polled_wallets(app.engine, "positions")
    expected = {k: v for k, v in truth_positions(truth).items() if k[0] in snapshot_done}
    got = {k: v for k, v in stored_positions(app.engine).items() if k[0] in snapshot_done}
    assert got.keys() == expected.keys()
    assert all(math.isclose(got[k], expected[k], abs_tol=1e-6) for k in got)


def api_resource(sim: SimulatorServer) -> PolymarketApiResource:
    return PolymarketApiResource(
        data_api_url=sim.data_api_url,
        clob_api_url=sim.clob_api_url,
        gamma_api_url=sim.gamma_api_url,
        cold_rate_limit=500.0,
        cold_burst=100,
        cold_wallet_cooldown_seconds=0.0,
        backoff_base_seconds=0.05,
    )


def rerun(sim: SimulatorServer, app: AppDatabase) -> dg.ExecuteInProcessResult:
    """The next cold sweep (in process, full speed), as the schedule would request it."""
    defs = build_definitions({"polymarket": api_resource(sim), "database": DatabaseResource(url=app.url)})
    with dg.DagsterInstance.ephemeral() as instance:
        return defs.resolve_job_def("cold_wallets_job").execute_in_process(instance=instance)


def assert_complete(sim: SimulatorServer, app: AppDatabase) -> None:
    truth = sim.model.ground_truth()
    assert stored_fills(app.engine) == truth_fills(truth), "a fill is missing or duplicated"
    expected: dict[Any, float] = truth_positions(truth)
    got = stored_positions(app.engine)
    assert got.keys() == expected.keys()
    assert all(math.isclose(got[k], expected[k], abs_tol=1e-6) for k in got)
    assert len(polled_wallets(app.engine, "trades")) == len(sim.model.wallets)
    assert_cursors_consistent(app.engine)
