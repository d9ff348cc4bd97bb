"""The application database goes away mid-sweep: the run fails clearly, the next run recovers."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType
from dagster._utils.error import SerializableErrorInfo

from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy import harness
from polymarket_pipeline_tests.deploy.harness import running, wait_for
from polymarket_pipeline_tests.reliability.sweeps import (
    AppDatabase,
    DagsterHome,
    assert_committed_wallets_complete,
    assert_complete,
    assert_cursors_consistent,
    polled_wallets,
    rerun,
    run_of,
    sweep_env,
    sweep_process,
)

pytestmark = pytest.mark.postgres

CONNECTION_LOST = (
    "terminating connection due to administrator command",
    "not currently accepting connections",
)


def error_chain(error: SerializableErrorInfo | None) -> list[SerializableErrorInfo]:
    chain: list[SerializableErrorInfo] = []
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.cause or error.context
    return chain


def test_lost_database_fails_the_run_clearly_and_the_next_run_recovers(
    pg_server: str, sim: SimulatorServer, app_db: AppDatabase, dagster_home: DagsterHome, tmp_path: Path
) -> None:
    proc = sweep_process("sweep", sweep_env(sim, dagster_home, app_db.url), tmp_path)
    with running(proc):
        wait_for(
            lambda: len(polled_wallets(app_db.engine, "trades")) >= 5 or not proc.alive(),
            timeout=90,
            what="the sweep to commit 5 wallets",
        )
        assert proc.alive(), f"the sweep ended before the database went away:\n{proc.tail()}"
        # A failover / restart: every session dies and the database refuses new ones for a while.
        # (One dropped connection alone is absorbed: the engine pings pooled connections first.)
        harness.set_allow_connections(pg_server, app_db.name, False)
        app_db.engine.dispose()
        assert harness.terminate_backends(pg_server, app_db.name) >= 1
        exit_code = proc.wait(60)
    harness.set_allow_connections(pg_server, app_db.name, True)

    assert exit_code != 0
    run = run_of(dagster_home)
    assert run.status == dg.DagsterRunStatus.FAILURE
    failures = dagster_home.instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
    errors = [r.event_log_entry.dagster_event.step_failure_data.error for r in failures.records]  # type: ignore[union-attr]
    assert errors, "the run failed without a step failure"
    steps = {r.event_log_entry.step_key: e for e, r in zip(errors, failures.records, strict=True)}
    assert "wallet_sweep" in steps, steps
    text = "\n".join(f"{e.cls_name}: {e.message}" for e in error_chain(steps["wallet_sweep"]))
    assert "OperationalError" in text, text
    # Killed mid-query, or refused when it reconnected: either way the cause is spelled out.
    assert any(cause in text for cause in CONNECTION_LOST), text

    assert_cursors_consistent(app_db.engine)
    assert_committed_wallets_complete(sim, app_db)
    result = rerun(sim, app_db)
    assert result.success
    assert_complete(sim, app_db)
