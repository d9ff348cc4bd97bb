"""The wallet jobs run for real: schedule -> run request -> job on a Dagster instance."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import wallets
from polymarket_pipeline.defs import runtime
from polymarket_pipeline.defs.wallets.checks import cold_recency
from polymarket_pipeline.defs.wallets.jobs import sweep_run_config
from polymarket_pipeline.domain.addresses import shard_of
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.support import (
    register,
    stored_closes,
    stored_fills,
    stored_positions,
    truth_fills,
    truth_positions,
)


def execute(
    defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str, request: dg.RunRequest
) -> dg.ExecuteInProcessResult:
    """Run a job exactly as the daemon would for ``request``: its partition, config and tags."""
    job = defs.resolve_job_def(job_name)
    return job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
    )


def schedule_and_context(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, when: datetime | None = None
) -> tuple[dg.ScheduleDefinition, dg.ScheduleEvaluationContext]:
    repository = defs.get_repository_def()
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when or datetime.now(UTC), repository_def=repository
    )
    return repository.get_schedule_def(name), context


def follow(engine: Engine, addresses: list[str]) -> None:
    with engine.begin() as connection:
        for address in addresses:
            wallets.add_follow(connection, "fan", address)


def test_cold_schedule_run_sweeps_only_cold_wallets(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    hot, cold = sim.model.wallets[:2], sim.model.wallets[2:]
    register(engine, cold)
    follow(engine, hot)
    schedule, context = schedule_and_context(defs, instance, "cold_wallets_schedule")
    request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key is None
    assert request.tags["polymarket/sweep"] == "cold"
    request = request.with_replaced_attrs(run_config=sweep_run_config(start_jitter_seconds=0))
    result = execute(defs, instance, "cold_wallets_job", request)
    assert result.success

    truth = sim.model.ground_truth()
    assert stored_fills(engine) == truth_fills(truth, cold)  # every cold fill once, no hot one
    assert stored_positions(engine) == pytest.approx(
        {k: v for k, v in truth_positions(truth).items() if k[0] in cold}
    )

    trades_event = instance.get_latest_materialization_event(dg.AssetKey("trades_public"))
    assert trades_event is not None
    assert trades_event.dagster_event.partition is None
    metadata = trades_event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["wallets_polled"].value == len(cold)
    assert metadata["wallets_failed"].value == 0
    assert metadata["outcome"].value == "succeeded"
    assert metadata["trades_inserted"].value == sum(truth_fills(truth, cold).values())
    assert metadata["api_requests"].value >= len(cold)
    for key in ("positions_current", "positions_closed", "activity_public"):
        assert instance.get_latest_materialization_event(dg.AssetKey(key)) is not None
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["no_duplicate_fills"] is True
    assert checks["positions_consistent"] is True
    assert checks["cold_sweep_recent"] is True
    assert checks["sweep_failures_within_budget"] is True
    assert checks["hot_wallets_fresh"] is False  # hot wallets were never polled: the check says so

    # partition status of trades_history tells which days hold fills
    days = {datetime.fromtimestamp(k[6], tz=UTC).strftime("%Y-%m-%d") for k in truth_fills(truth, cold)}
    status = instance.get_materialized_partitions(dg.AssetKey("trades_history"))
    assert status == days


def test_cold_job_runs_with_no_partition_and_no_config_sweeping_only_its_tier(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """What `dagster job execute -j cold_wallets_job` and the Launchpad's defaults do."""
    hot, cold = sim.model.wallets[:2], sim.model.wallets[2:]
    register(engine, cold)
    follow(engine, hot)
    job = defs.resolve_job_def("cold_wallets_job")
    assert job.partitions_def is None
    result = job.execute_in_process(instance=instance)
    assert result.success
    assert stored_fills(engine) == truth_fills(sim.model.ground_truth(), cold)


def test_cold_schedule_skips_while_a_sweep_is_queued_or_running(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    job = defs.resolve_job_def("cold_wallets_job")
    run = instance.create_run_for_job(
        job, status=dg.DagsterRunStatus.STARTED, tags={"polymarket/sweep": "cold", "polymarket/shard": "0/1"}
    )
    schedule, context = schedule_and_context(defs, instance, "cold_wallets_schedule")
    data = schedule.evaluate_tick(context)
    assert not data.run_requests
    assert run.run_id in (data.skip_message or "")


def test_hot_job_polls_every_hot_wallet(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    hot = sim.model.wallets[:3]
    register(engine, sim.model.wallets[3:])
    follow(engine, hot)
    result = defs.resolve_job_def("hot_wallets_job").execute_in_process(instance=instance)
    assert result.success
    truth = sim.model.ground_truth()
    assert stored_fills(engine) == truth_fills(truth, hot)
    assert stored_closes(engine) == Counter()


def test_backfill_of_past_days_then_live_polling_stores_each_fill_once(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """A single-run backfill over a partition range, then a live sweep: no duplicates, no gaps."""
    register(engine, sim.model.wallets)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first, last = today - timedelta(days=3), today - timedelta(days=1)
    result = dg.materialize(
        [defs.get_assets_def("trades_history")],
        instance=instance,
        resources=dict(defs.resources or {}),
        tags={
            "dagster/asset_partition_range_start": first.strftime("%Y-%m-%d"),
            "dagster/asset_partition_range_end": last.strftime("%Y-%m-%d"),
        },
    )
    assert result.success
    truth = sim.model.ground_truth()
    lo, hi = int(first.timestamp()), int(today.timestamp()) - 1
    in_window = {k: v for k, v in truth_fills(truth).items() if lo <= k[6] <= hi}
    assert in_window, "the seeded history should have fills in the backfilled days"
    assert stored_fills(engine) == in_window
    with engine.connect() as connection:
        assert all(row.last_trade_time_seen is None for row in wallets.list_wallets(connection))

    # each partition's metadata counts that day's own fills, not the run's total
    per_day = Counter(
        datetime.fromtimestamp(k[6], tz=UTC).strftime("%Y-%m-%d") for k in Counter(in_window).elements()
    )
    for day in (first + timedelta(days=i) for i in range(3)):
        key = day.strftime("%Y-%m-%d")
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("trades_history"), asset_partitions=[key]), limit=1
        ).records
        metadata = records[0].asset_materialization.metadata  # type: ignore[union-attr]
        assert metadata["fills"].value == per_day[key]

    live = defs.resolve_job_def("cold_wallets_job").execute_in_process(
        instance=instance, run_config={"ops": {"wallet_sweep": {"config": {"tier": "all"}}}}
    )
    assert live.success
    assert stored_fills(engine) == truth_fills(truth)


def test_a_failing_wallet_is_named_and_past_the_budget_the_warn_check_fails(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    register(engine, sim.model.wallets)
    broken = sim.model.wallets[1]
    sim.faults.add(FaultRule(kind="503", wallet=broken))
    result = defs.resolve_job_def("cold_wallets_job").execute_in_process(instance=instance)
    assert result.success  # one wallet failing does not fail the sweep
    event = instance.get_latest_materialization_event(dg.AssetKey("trades_public"))
    metadata = event.asset_materialization.metadata  # type: ignore[union-attr]
    assert metadata["wallets_failed"].value == 1
    assert metadata["wallets_polled"].value == len(sim.model.wallets) - 1
    assert metadata["outcome"].value == "partial"  # 1 of 8 is past the 5 % budget
    assert broken in metadata["failed_wallets"].value
    assert "503" in metadata["failed_wallets"].value[broken]
    assert metadata["api_retries"].value >= 3
    logs = [record.user_message for record in instance.all_logs(result.run_id)]
    assert any(broken in message and "retried next cycle" in message for message in logs)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    budget = evaluations["sweep_failures_within_budget"]
    assert budget.passed is False
    assert budget.severity == dg.AssetCheckSeverity.WARN
    # a partial sweep does not count as a complete one
    assert evaluations["cold_sweep_recent"].passed is False
    with engine.connect() as connection:
        row = next(w for w in wallets.list_wallets(connection) if w.wallet_address == broken)
    assert "503" in (row.last_error or "")


def test_a_sweep_where_every_wallet_failed_fails_the_run(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """With the API down the run is red, the checks that read sweeps fail, sync_runs says failed."""

    register(engine, sim.model.wallets)
    sim.faults.add(FaultRule(kind="503", api="data"))
    result = defs.resolve_job_def("cold_wallets_job").execute_in_process(
        instance=instance, raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert f"polled none of its {len(sim.model.wallets)} wallets" in str(failure.step_failure_data.error)
    assert instance.get_latest_materialization_event(dg.AssetKey("trades_public")) is None
    with engine.connect() as connection:
        statuses = [r[0] for r in connection.execute(sa.text("SELECT status FROM sync_runs"))]
    assert statuses == ["failed"]
    assert cold_recency(engine, datetime.now(UTC)).passed is False


def test_sharded_cold_sweeps_cover_every_cold_wallet_once_and_a_failing_shard_blocks_no_other(
    sim: SimulatorServer,
    engine: Engine,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POLYMARKET_COLD_SHARDS", "3")
    register(engine, sim.model.wallets)
    broken_shard = shard_of(sim.model.wallets[0], 3)
    for wallet in sim.model.wallets:
        if shard_of(wallet, 3) == broken_shard:
            sim.faults.add(FaultRule(kind="503", wallet=wallet))
    schedule, context = schedule_and_context(defs, instance, "cold_wallets_schedule")
    requests = schedule.evaluate_tick(context).run_requests
    assert sorted(r.tags["polymarket/shard"] for r in requests) == ["0/3", "1/3", "2/3"]
    job = defs.resolve_job_def("cold_wallets_job")
    results = {
        r.tags["polymarket/shard"]: job.execute_in_process(
            instance=instance, run_config=sweep_run_config(), tags=r.tags, raise_on_error=False
        )
        for r in requests
    }
    assert not results[f"{broken_shard}/3"].success  # every wallet of that shard failed: red
    assert all(result.success for shard, result in results.items() if shard != f"{broken_shard}/3")
    healthy = [w for w in sim.model.wallets if shard_of(w, 3) != broken_shard]
    truth = sim.model.ground_truth()
    assert stored_fills(engine, healthy) == truth_fills(truth, healthy)  # each wallet once, by its shard

    # while one shard's run is still active, only the others are requested
    instance.create_run_for_job(
        job, status=dg.DagsterRunStatus.STARTED, tags={"polymarket/sweep": "cold", "polymarket/shard": "1/3"}
    )
    later = schedule.evaluate_tick(schedule_and_context(defs, instance, "cold_wallets_schedule")[1])
    assert sorted(r.tags["polymarket/shard"] for r in later.run_requests) == ["0/3", "2/3"]


def test_terminate_stops_a_sweep_gracefully_even_without_a_signal(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """Terminate from a webserver that cannot signal the run's container only marks the run
    CANCELING; the sweep notices, finishes the wallets in hand, and ends the run interrupted."""
    register(engine, sim.model.wallets)
    sim.faults.add(FaultRule(kind="latency", latency_ms=1500))
    job = defs.resolve_job_def("cold_wallets_job")
    outcome: list[dg.ExecuteInProcessResult] = []
    worker = threading.Thread(
        target=lambda: outcome.append(job.execute_in_process(instance=instance, raise_on_error=False))
    )
    original = runtime.CANCEL_POLL_SECONDS
    runtime.CANCEL_POLL_SECONDS = 0.5
    try:
        worker.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = instance.get_runs(dg.RunsFilter(job_name="cold_wallets_job"))
            if runs and runs[0].status == dg.DagsterRunStatus.STARTED:
                break
            time.sleep(0.1)
        time.sleep(1.0)
        instance.report_run_canceling(runs[0])
        worker.join(60)
    finally:
        runtime.CANCEL_POLL_SECONDS = original
    assert not worker.is_alive()
    [result] = outcome
    assert not result.success
    logs = [r.user_message for r in instance.all_logs(result.run_id)]
    assert any("Terminate: finishing the wallets in hand" in m for m in logs)
    stopped = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert stopped
    assert "Interrupted" in str(stopped[0].step_failure_data.error)


def test_each_sweep_asset_carries_its_own_figures(
    sim: SimulatorServer, engine: Engine, defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    """positions_closed shows closes by reason, not the sweep's fill counts (as it used to)."""
    wallet = sim.model.wallets[0]
    register(engine, [wallet])
    assert defs.resolve_job_def("cold_wallets_job").execute_in_process(instance=instance).success
    truth = sim.model.ground_truth()
    open_markets = {m["condition_id"] for m in truth["markets"] if not m["closed"]}
    position = next(
        p for p in truth["positions"] if p["wallet"] == wallet and p["condition_id"] in open_markets
    )
    sim.model.close_position(wallet, position["asset"])
    assert defs.resolve_job_def("cold_wallets_job").execute_in_process(instance=instance).success

    def metadata(key: str) -> dict[str, object]:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
        assert event is not None
        return {k: v.value for k, v in event.asset_materialization.metadata.items()}  # type: ignore[union-attr]

    closed, current = metadata("positions_closed"), metadata("positions_current")
    assert closed["closed_manual_close"] == 1
    assert closed["closes_total"] == 1
    assert "trades_inserted" not in closed
    assert current["positions_closed"] == 1
    assert "closed_manual_close" not in current
    assert "trades_inserted" in metadata("trades_public")
    assert "activity_inserted" in metadata("activity_public")
    assert all("legend" in metadata(k) for k in ("trades_public", "positions_closed"))
