"""The integrations job for real: schedule request -> job -> tables, against the simulator."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import wallets
from polymarket_pipeline.db.schema import ExternalMarket, ExternalPositionsRaw, table_of
from polymarket_pipeline.definitions import build_definitions
from polymarket_pipeline.defs.resources import DatabaseResource
from polymarket_pipeline.queries import get_user_markets
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.defs.conftest import api_resource

SEED_QUERIES = {
    "portfolio_summary_by_user": """
SELECT
  user_id,
  COUNT(DISTINCT market_id) as num_markets,
  SUM(current_value) as total_value,
  SUM(pnl) as total_pnl,
  MAX(as_of) as last_sync
FROM external_markets
WHERE resolved = false
GROUP BY user_id
ORDER BY total_pnl DESC;
""",
    "top_performing_markets": """
SELECT
  market_id,
  title,
  COUNT(*) as num_positions,
  AVG(pnl) as avg_pnl,
  MAX(current_value) as max_value,
  MAX(updated_at) as last_updated
FROM external_markets
WHERE resolved = false
GROUP BY market_id, title
ORDER BY avg_pnl DESC
LIMIT 10;
""",
}


def link_users(engine: Engine, links: dict[str, list[str]]) -> None:
    with engine.begin() as connection:
        for user, addresses in links.items():
            for address in addresses:
                wallets.add_link(connection, user, address)


def today_request(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.RunRequest:
    repository = defs.get_repository_def()
    now = datetime.now(UTC)
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=now.replace(hour=2, minute=0, second=0, microsecond=0),
        repository_def=repository,
    )
    data = repository.get_schedule_def("integrations_schedule").evaluate_tick(context)
    (request,) = data.run_requests
    assert request.partition_key == now.strftime("%Y-%m-%d")
    return request


def run(
    defs: dg.Definitions, instance: dg.DagsterInstance, partition: str, *, force: bool = False
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("integrations_job").execute_in_process(
        instance=instance,
        partition_key=partition,
        run_config={"ops": {"integrations": {"config": {"force": force}}}},
        tags={"polymarket/sweep": "integrations"},
        raise_on_error=False,
    )


def expected_rows(
    sim: SimulatorServer, links: dict[str, list[str]]
) -> dict[tuple[str, str], dict[str, float]]:
    """Ground truth summed per (user, token) across the user's wallets (the API's 0.1 dust floor)."""
    truth = sim.model.ground_truth()
    by_wallet: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in truth["positions"]:
        if p["size"] >= 0.1:
            by_wallet[p["wallet"]].append(p)
    result: dict[tuple[str, str], dict[str, float]] = {}
    for user, addresses in links.items():
        for address in addresses:
            for p in by_wallet[address]:
                row = result.setdefault((user, p["asset"]), {"size": 0.0, "cost": 0.0, "value": 0.0})
                row["size"] += p["size"]
                row["cost"] += p["size"] * p["avg_price"]
                row["value"] += p["current_value"]
    return result


def stored_rows(engine: Engine) -> dict[tuple[str, str], Any]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table_of(ExternalMarket))).mappings().all()
    return {(r["user_id"], r["asset"]): r for r in rows}


def raw_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(sa.text("SELECT count(*) FROM external_positions_raw")) or 0)


def test_sync_sums_users_wallets_and_labels_markets(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    w = sim.model.wallets
    links = {"alice": [w[0], w[1], w[2]], "bob": [w[3]], "carol": [w[4], w[5]]}
    link_users(engine, links)
    request = today_request(defs, instance)
    result = run(defs, instance, request.partition_key)  # type: ignore[arg-type]
    assert result.success

    expected = expected_rows(sim, links)
    stored = stored_rows(engine)
    assert set(stored) == set(expected)
    for key, want in expected.items():
        row = stored[key]
        assert row["size"] == pytest.approx(want["size"])
        assert row["avg_price"] == pytest.approx(
            want["cost"] / want["size"], rel=1e-4
        )  # API rounds avg_price
        assert row["current_value"] == pytest.approx(want["value"], abs=1e-6)
        market = sim.model.market_for_token(key[1])[0]  # type: ignore[index]
        assert row["market_id"] == market.condition_id
        assert row["title"] == market.question
        # Gamma's category where it has one (legacy markets), else the market's first tag: never empty
        assert row["category"] == (market.category or market.tags[0])
        assert isinstance(row["tags"], list)
        assert row["tags"]
        assert row["resolved"] is bool(market.closed and market.winner_index is not None)
    assert any(r["resolved"] for r in stored.values()), "a closed market's metadata needs Gamma closed=true"
    assert max(r["wallet_count"] for r in stored.values()) >= 2 or len({k[1] for k in stored}) < len(stored)

    with engine.connect() as connection:
        raw = table_of(ExternalPositionsRaw)
        raws = connection.execute(sa.select(raw.c.user_id, raw.c.payload)).all()
    assert sorted(r[0] for r in raws) == ["alice", "bob", "carol"]
    payload = next(p for u, p in raws if u == "alice")
    assert set(payload["wallets"]) == set(links["alice"])
    assert all("positions" in v and "value" in v for v in payload["wallets"].values())

    event = instance.get_latest_materialization_event(dg.AssetKey("external_markets"))
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["users_succeeded"].value == 3
    assert metadata["users_failed"].value == 0
    assert metadata["wallets"].value == 6
    assert "alice" in metadata["portfolio_by_user"].value
    data_requests = [r for r in sim.log.records() if r.api == "data"]
    assert len(data_requests) == 2 * 6  # positions and value, once per wallet
    assert metadata["api_requests"].value >= len(data_requests)  # plus the shared market lookups

    markets = get_user_markets("alice", engine=engine)
    assert markets
    assert all(not m["resolved"] for m in markets)
    assert all(isinstance(m["tags"], list) for m in markets)

    with engine.connect() as connection:
        for sql in SEED_QUERIES.values():
            assert connection.execute(sa.text(sql)).all()


def test_second_run_skips_unless_forced_and_drops_sold_tokens(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    user_wallet = sim.model.wallets[0]
    link_users(engine, {"dave": [user_wallet]})
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    assert run(defs, instance, day).success
    before = stored_rows(engine)
    sold = next(asset for (_, asset) in before if not sim.model.market_for_token(asset)[0].closed)  # type: ignore[index]
    sim.model.close_position(user_wallet, sold)

    skipped = run(defs, instance, day)
    assert skipped.success
    logs = [record.user_message for record in instance.all_logs(skipped.run_id)]
    assert any("dave: already synced today" in m for m in logs)
    assert raw_count(engine) == 1
    assert stored_rows(engine).keys() == before.keys()

    forced = run(defs, instance, day, force=True)
    assert forced.success
    assert raw_count(engine) == 2
    after = stored_rows(engine)
    assert ("dave", sold) not in after  # tokens no longer held are removed
    assert set(after) == set(expected_rows(sim, {"dave": [user_wallet]}))


def test_one_failing_user_keeps_its_previous_state_and_others_succeed(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    w = sim.model.wallets
    link_users(engine, {"erin": [w[0]], "frank": [w[1], w[2]]})
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    assert run(defs, instance, day).success
    frank_before = {k: dict(v) for k, v in stored_rows(engine).items() if k[0] == "frank"}
    sim.model.generate_trades(15)
    sim.faults.add(FaultRule(kind="500", route="/v2/positions", wallet=w[2]))

    result = run(defs, instance, day, force=True)
    assert result.success  # the run completes; the failure is reported, not raised
    event = instance.get_latest_materialization_event(dg.AssetKey("external_positions_raw"))
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["users_failed"].value == 1
    assert metadata["users_succeeded"].value == 1
    error = metadata["failed_users"].value["frank"]
    assert "frank" in error
    assert w[2] in error
    assert "500" in error
    frank_after = {k: dict(v) for k, v in stored_rows(engine).items() if k[0] == "frank"}
    assert frank_after == frank_before  # untouched: raw and normalized are one transaction
    assert set(k for k in stored_rows(engine) if k[0] == "erin") == set(expected_rows(sim, {"erin": [w[0]]}))


def test_a_user_failed_on_the_days_first_run_is_retried_by_a_rerun(
    sim: SimulatorServer, engine: Engine, db_url: str, instance: dg.DagsterInstance
) -> None:
    defs = build_definitions(
        {"polymarket": api_resource(sim, read_timeout_seconds=0.3), "database": DatabaseResource(url=db_url)}
    )
    w = sim.model.wallets
    link_users(engine, {"ivy": [w[0]], "jack": [w[1]]})
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    sim.faults.add(FaultRule(kind="hang", route="/v2/value", wallet=w[1], hang_seconds=30))
    first = run(defs, instance, day)
    assert first.success
    assert {k[0] for k in stored_rows(engine)} == {"ivy"}

    sim.faults.clear()
    rerun = run(defs, instance, day)
    assert rerun.success
    metadata = instance.get_latest_materialization_event(
        dg.AssetKey("external_positions_raw")
    ).asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["users_succeeded"].value == 1  # jack, retried
    assert metadata["users_skipped"].value == 1  # ivy, already synced today
    assert {k[0] for k in stored_rows(engine)} == {"ivy", "jack"}


def test_past_partitions_are_refused(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    link_users(engine, {"gina": [sim.model.wallets[0]]})
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    result = run(defs, instance, yesterday)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message  # type: ignore[union-attr]
    assert f"cannot sync {yesterday}" in message
    assert "only serves positions as of now" in message
    assert raw_count(engine) == 0
    assert stored_rows(engine) == {}
