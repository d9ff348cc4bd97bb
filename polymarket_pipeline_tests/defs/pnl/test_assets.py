"""The PnL assets through the real boundaries: a simulator over HTTP, SQLite and PostgreSQL, a real
Dagster instance, the jobs as the daemon runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import wallets
from polymarket_pipeline.definitions import build_definitions
from polymarket_pipeline.defs.resources import DatabaseResource
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.pnl.report import pending_work
from polymarket_pipeline_tests.defs.conftest import api_resource

HOT = 3


def follow_and_sweep(sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: Any) -> list[str]:
    hot = sim.model.wallets[:HOT]
    with engine.begin() as connection:
        wallets.register_wallets(connection, sim.model.wallets)
        for address in hot:
            wallets.add_follow(connection, "fan", address)
    for job in ("hot_wallets_job", "cold_wallets_job"):
        assert defs.resolve_job_def(job).execute_in_process(instance=instance).success
    return hot


def pnl(defs: dg.Definitions, instance: Any) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def("pnl_job").execute_in_process(instance=instance, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.text(f"SELECT * FROM {table}")).mappings()]


def test_pnl_job_gives_every_position_polymarkets_figures_and_the_check_passes(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    follow_and_sweep(sim, engine, defs, instance)
    result = pnl(defs, instance)

    truth = sim.model.pnl_truth()
    stored = {(r["wallet_address"], r["asset"]): r for r in rows(engine, "position_pnl")}
    exact = {r["wallet_address"] for r in rows(engine, "trader_stats") if r["complete"]}
    assert exact  # most ledgers are exact; the rest say why (e.g. a conversion whose legs are unknown)
    compared = 0
    for wallet in exact:
        for p in truth[wallet]["positions"]:
            row = stored[(wallet, p["asset"])]
            compared += 1
            assert Decimal(str(row["shares"])) == pytest.approx(
                Decimal(p["tracked_shares"]), abs=Decimal("1e-6")
            ), (wallet, p["asset"])
            assert Decimal(str(row["realized_pnl"])) == pytest.approx(
                Decimal(p["realized_pnl"]), abs=Decimal("1e-5")
            ), (wallet, p["asset"])
    assert compared > 20
    for r in rows(engine, "trader_stats"):
        assert r["complete"] or r["incomplete_reason"]  # never incomplete without saying why

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = checks["pnl_matches_polymarket"]
    assert check.passed, str({k: v.value for k, v in check.metadata.items()})
    assert check.metadata["wallets_compared"].value >= 1  # the hot wallets' official series
    stats_event = instance.get_latest_materialization_event(dg.AssetKey("trader_stats"))
    assert stats_event is not None
    metadata = stats_event.asset_materialization.metadata  # type: ignore[union-attr]
    board = metadata["leaderboard"].value
    assert board.records  # type: ignore[attr-defined]
    assert {"position_pnl", "win_rate", "roi", "volume_usdc", "max_drawdown_usdc", "complete"} <= set(
        board.records[0].data  # type: ignore[attr-defined]
    )
    assert isinstance(metadata["total_position_pnl"].value, float)
    daily = instance.get_latest_materialization_event(dg.AssetKey("wallet_pnl_daily"))
    assert daily is not None
    assert daily.dagster_event.partition  # today's partition


def test_a_skewed_official_series_fails_the_warn_check_naming_the_wallet(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    hot = follow_and_sweep(sim, engine, defs, instance)
    sim.model.skew_official_pnl(hot[0], 500.0)
    result = pnl(defs, instance)
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["pnl_matches_polymarket"]
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    named = {d["wallet"]: d for d in check.metadata["disagreeing_wallets"].value}  # type: ignore[union-attr]
    assert hot[0] in named
    assert abs(abs(named[hot[0]]["realized_delta_usdc"]) - 500.0) < 1.0
    assert named[hot[0]]["likely_cause"]
    stats = {r["wallet_address"]: r for r in rows(engine, "trader_stats")}
    assert stats[hot[0]]["official_delta_usdc"] is not None
    assert abs(float(stats[hot[0]]["official_delta_usdc"])) > 400


def test_the_sensor_asks_for_a_run_only_when_something_is_new(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    follow_and_sweep(sim, engine, defs, instance)
    sensor = defs.get_repository_def().get_sensor_def("pnl_sensor")

    def tick() -> dg.SensorResult:
        with dg.build_sensor_context(
            instance=instance, definitions=defs, resources=dict(defs.resources or {})
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        return result

    first = tick()
    assert first.run_requests  # the first run
    pnl(defs, instance)
    idle = tick()
    assert not idle.run_requests
    assert idle.skip_reason is not None
    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(sim.model.wallets[0], market.token_ids[0], "BUY", 5, 0.4, makers=None)
    assert defs.resolve_job_def("hot_wallets_job").execute_in_process(instance=instance).success
    assert tick().run_requests  # new tape rows


def test_past_days_backfilled_in_one_run_match_polymarkets_daily_points(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """A UI backfill of a range of days is one run; each day's cumulative realized PnL (less fees:
    Polymarket's is net of them) equals the official series' point at that day's end."""
    follow_and_sweep(sim, engine, defs, instance)
    pnl(defs, instance)
    today = datetime.now(UTC).date()
    first = (today - timedelta(days=6)).isoformat()  # the simulator's live history: its last days
    yesterday = (today - timedelta(days=1)).isoformat()
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=[dg.AssetKey("wallet_pnl_daily")],
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": yesterday},
    )
    assert result.success
    materialized = [e.partition for e in result.get_asset_materialization_events() if e.partition is not None]
    assert first in materialized
    assert yesterday in materialized  # every day of the range, in that one run

    daily = {(r["wallet_address"], str(r["day"])[:10]): r for r in rows(engine, "wallet_pnl_daily")}
    exact = {r["wallet_address"] for r in rows(engine, "trader_stats") if r["complete"]}
    compared = 0
    for wallet in exact:
        for point in sim.model.pnl_truth([wallet])[wallet]["series"][:-1]:  # the last one is "now"
            day = (datetime.fromtimestamp(point["timestamp"], UTC).date() - timedelta(days=1)).isoformat()
            row = daily.get((wallet, day))
            if row is None or point["realized_pnl"] is None:
                continue
            ours = Decimal(str(row["realized_pnl"])) - Decimal(str(row["fees_usdc"]))
            assert abs(ours - Decimal(str(point["realized_pnl"]))) <= Decimal("1e-4"), (wallet, day)
            compared += 1
    assert compared >= 3
    event = instance.get_latest_materialization_event(dg.AssetKey("wallet_pnl_daily"))
    assert event is not None
    assert "position_pnl" in event.asset_materialization.metadata  # type: ignore[union-attr]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_every_pnl_table_matches_the_simulators_ground_truth(
    sim: SimulatorServer, engine: Engine, db_url: str, instance: dg.DagsterInstance, version: str
) -> None:
    """position_pnl, trader_stats (realized, fees apart, income, volume), user_pnl and the stored
    official series against what the simulator's own ledger says, read through either API version."""
    defs = build_definitions(
        {"polymarket": api_resource(sim, data_api_version=version), "database": DatabaseResource(url=db_url)}
    )
    hot = follow_and_sweep(sim, engine, defs, instance)
    with engine.begin() as connection:
        wallets.add_link(connection, "ann", hot[0])
        wallets.add_link(connection, "ann", sim.model.wallets[-1])
    pnl(defs, instance)
    truth = sim.model.pnl_truth()
    stats = {r["wallet_address"]: r for r in rows(engine, "trader_stats")}
    exact = [w for w, r in stats.items() if r["complete"]]
    assert len(exact) >= len(stats) // 2

    def near(ours: Any, theirs: Any, tol: str = "1e-5") -> bool:
        return abs(Decimal(str(ours)) - Decimal(str(theirs))) <= Decimal(tol)

    for wallet in exact:
        t = truth[wallet]["totals"]
        row = stats[wallet]
        assert near(row["realized_pnl"], t["realized_pnl"]), wallet
        assert near(row["fees_usdc"], t["fees_paid"]), wallet
        assert near(row["income_usdc"], t["income_usdc"]), wallet
        assert near(row["volume_usdc"], t["volume_usdc"], "1e-4"), wallet
        assert row["unrealized_pnl"] is not None
        assert near(row["unrealized_pnl"], t["unrealized_pnl"], "1e-4"), wallet
        assert near(row["position_pnl"], t["position_pnl"], "1e-4"), wallet
    assert any(Decimal(str(stats[w]["fees_usdc"])) > 0 for w in exact)  # fee-bearing fills were met
    converted = {c["wallet"] for c in sim.model.ground_truth()["conversions"]}
    assert converted  # the sweeps looked the conversions' events up, so their legs are known
    for wallet in converted:
        assert stats[wallet]["conversions"] >= 1
        assert stats[wallet]["complete"], stats[wallet]["incomplete_reason"]

    users = {r["user_id"]: r for r in rows(engine, "user_pnl")}
    linked = [hot[0], sim.model.wallets[-1]]
    assert users["ann"]["wallets"] == 2
    assert near(users["ann"]["realized_pnl"], sum(Decimal(str(stats[w]["realized_pnl"])) for w in linked))
    assert users["ann"]["complete"] == all(stats[w]["complete"] for w in linked)

    for wallet in hot:  # the check's realized delta is exact where the ledger is (fees accounted)
        if stats[wallet]["complete"]:
            assert abs(Decimal(str(stats[wallet]["official_realized_delta_usdc"]))) < Decimal("1e-4")

    official = rows(engine, "wallet_pnl_official")
    assert {r["wallet_address"] for r in official} == set(hot)
    series = sim.model.user_pnl(hot[0])["points"]
    stored = sorted((r for r in official if r["wallet_address"] == hot[0]), key=lambda r: str(r["timestamp"]))
    assert len(stored) == len(series)
    assert near(stored[0]["realized_pnl"], series[0]["realized_pnl"], "1e-6")


def test_a_wallet_that_traded_after_its_official_point_is_not_compared_until_the_next_read(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    hot = follow_and_sweep(sim, engine, defs, instance)
    pnl(defs, instance)  # reads the official series (at most daily from now on)
    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(hot[0], market.token_ids[0], "BUY", 50, 0.3, makers=None)
    assert defs.resolve_job_def("hot_wallets_job").execute_in_process(instance=instance).success
    result = pnl(defs, instance)
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["pnl_matches_polymarket"]
    assert hot[0] in check.metadata["wallets_moved_since_point"].value  # type: ignore[operator]
    named = {d["wallet"] for d in check.metadata["disagreeing_wallets"].value}  # type: ignore[union-attr]
    assert hot[0] not in named  # a stale point is no disagreement
    stats = {r["wallet_address"]: r for r in rows(engine, "trader_stats")}
    assert stats[hot[0]]["official_agrees"] is None  # nor is the earlier verdict kept
    assert stats[hot[0]]["official_likely_cause"] == "moved_since_point"
    moved = check.metadata["wallets_moved_since_point"].value  # the trade's makers moved too
    assert check.metadata["wallets_compared"].value == len(hot) - len(moved)  # type: ignore[arg-type]


def test_official_reads_failing_turn_their_check_red_but_never_hold_up_our_figures(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """Every hot wallet's ``/v2/user-pnl`` answers 500: pnl_current still brings every figure up to
    date, ``official_pnl_read`` fails at ERROR naming each wallet, and the failed wallets are not
    due again at once (the PnL sensor does not ask for a run every minute)."""
    hot = follow_and_sweep(sim, engine, defs, instance)
    sim.faults.add(FaultRule(kind="500", route="/v2/user-pnl"))
    result = pnl(defs, instance)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    read = checks["official_pnl_read"]
    assert not read.passed
    assert read.severity == dg.AssetCheckSeverity.ERROR
    assert set(read.metadata["failures"].value) == set(hot)  # type: ignore[arg-type]
    assert read.metadata["wallets_fetched"].value == 0
    assert {r["wallet_address"] for r in rows(engine, "trader_stats")} >= set(hot)  # figures current
    assert "pnl_matches_polymarket" in checks  # evaluated against what was stored before (nothing)
    assert pending_work(engine).reason is None  # retried within the hour, not on the next tick
    later = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    assert pending_work(engine, now=later).reason == "official series due"
