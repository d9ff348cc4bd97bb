"""``hot_wallets_sensor`` evaluated on a real instance against the simulator and the database."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import wallets
from polymarket_pipeline.definitions import build_definitions
from polymarket_pipeline.defs.resources import DatabaseResource
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.defs.conftest import api_resource
from polymarket_pipeline_tests.support import stored_fills, truth_fills


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    repository = defs.get_repository_def()
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=dict(defs.resources or {})
    ) as context:
        result = repository.get_sensor_def("hot_wallets_sensor")(context)
    assert isinstance(result, dg.SensorResult)
    return result


def materializations(result: dg.SensorResult) -> dict[str, Any]:
    return {
        e.asset_key.to_user_string(): e
        for e in result.asset_events or []
        if isinstance(e, dg.AssetMaterialization)
    }


def test_sensor_captures_history_then_new_fills_and_idles_cheaply(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    hot = sim.model.wallets[:3]
    with engine.begin() as connection:
        wallets.register_wallets(connection, sim.model.wallets[3:])
        for address in hot:
            wallets.add_follow(connection, "fan", address)

    first = tick(defs, instance, None)
    truth = sim.model.ground_truth()
    assert stored_fills(engine, hot) == truth_fills(truth, hot)  # whole history, first tick
    assert not stored_fills(engine) - truth_fills(truth)  # cold wallets' feed fills are real ones
    events = materializations(first)
    assert events["trades_public"].partition is None  # the live table is not a day partition
    assert events["trades_public"].metadata["trades_inserted"].value > 0
    assert events["trades_public"].metadata["duration_seconds"].value > 0
    assert "positions_current" in events
    assert "activity_public" in events
    days = {e.partition for e in first.asset_events or [] if e.asset_key == dg.AssetKey("trades_history")}
    assert days, "the days the history landed in are marked in trades_history"
    checks = [e for e in first.asset_events or [] if isinstance(e, dg.AssetCheckEvaluation)]
    assert {c.check_name for c in checks} >= {
        "positions_consistent",
        "no_duplicate_fills",
        "hot_wallets_fresh",
    }
    order = [getattr(e, "check_name", None) or e.asset_key.to_user_string() for e in first.asset_events or []]
    assert order.index("positions_current") < order.index("positions_consistent")  # attached after
    assert first.cursor

    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(hot[0], market.token_ids[0], "BUY", 7, 0.37, makers=None)
    second = tick(defs, instance, first.cursor)
    assert stored_fills(engine, hot) == truth_fills(sim.model.ground_truth(), hot)
    assert materializations(second)["trades_public"].metadata["feed_trades_inserted"].value >= 1

    sim.log.clear()
    started = time.time()
    idle = tick(defs, instance, second.cursor)
    requests = sim.log.records(since=started)
    assert not materializations(idle)
    assert idle.skip_reason is not None
    cycles = int((idle.skip_reason.skip_message or "").split()[0])
    assert requests, "the idle tick still reads the feed"
    assert all(r.route == "/v2/trades" and r.wallet is None for r in requests)  # O(1): the feed only
    assert len(requests) == cycles


def test_feed_gap_requests_a_hot_wallets_job_run(
    sim: SimulatorServer, engine: Engine, db_url: str, instance: dg.DagsterInstance
) -> None:
    defs = build_definitions(
        {
            "polymarket": api_resource(sim, page_size=5, hot_feed_max_pages=1),
            "database": DatabaseResource(url=db_url),
        }
    )
    with engine.begin() as connection:
        wallets.add_follow(connection, "fan", sim.model.wallets[0])
    first = tick(defs, instance, None)
    sim.model.generate_trades(30)  # far more new fills than one 5-row page
    second = tick(defs, instance, first.cursor)
    assert second.run_requests
    request = second.run_requests[0]
    assert request.tags["polymarket/reason"] == "feed_gap"
    assert request.partition_key is None
    result = defs.resolve_job_def("hot_wallets_job").execute_in_process(
        instance=instance, run_config=request.run_config, tags=request.tags
    )
    assert result.success
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth(), [sim.model.wallets[0]])


def test_an_unreachable_api_gives_one_line_per_tick_naming_the_host(
    engine: Engine, db_url: str, instance: dg.DagsterInstance, sim: SimulatorServer
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    defs = build_definitions(
        {
            "polymarket": api_resource(sim, data_api_url=dead + "/data", max_retries=0),
            "database": DatabaseResource(url=db_url),
        }
    )
    with engine.begin() as connection:
        wallets.add_follow(connection, "fan", sim.model.wallets[0])
    result = tick(defs, instance, None)
    message = result.skip_reason.skip_message if result.skip_reason else ""
    assert dead.removeprefix("http://") in (message or "")
    assert "\n" not in (message or "")
    assert len(message or "") < 600


def test_each_asset_shows_its_own_figures_and_the_tick_says_what_it_stored(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    hot = sim.model.wallets[:2]
    with engine.begin() as connection:
        for address in hot:
            wallets.add_follow(connection, "fan", address)
    first = tick(defs, instance, None)
    events = materializations(first)
    trades = events["trades_public"].metadata
    positions = events["positions_current"].metadata
    assert "trades_inserted" in trades
    assert "positions_opened" not in trades  # positions' figures are on positions_current
    assert positions["positions_opened"].value > 0
    assert "trades_inserted" not in positions
    assert "wallets_total" not in trades  # a hot report counts polls, not wallets
    assert "trades_inserted" in trades["legend"].value  # every figure is explained

    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(hot[0], market.token_ids[0], "BUY", 7, 0.37, makers=None)
    second = tick(defs, instance, first.cursor)
    assert second.skip_reason is not None
    message = second.skip_reason.skip_message or ""
    stored = int(message.split("stored ")[1].split()[0])
    assert stored >= 1  # the "skipped" tick says what it stored
    assert stored == materializations(second)["trades_public"].metadata["trades_inserted"].value
