"""kill -9 of a running cold sweep: nothing half-written, and the next run completes the rest."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from polymarket_pipeline.simulator.server import SimulatorServer
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


@pytest.mark.parametrize("phase", ["trades", "positions"])
def test_sigkill_mid_sweep_loses_and_duplicates_no_fill(
    phase: str, sim: SimulatorServer, app_db: AppDatabase, dagster_home: DagsterHome, tmp_path: Path
) -> None:
    """SIGKILL once a few wallets of ``phase`` committed (whichever of the two steps runs first)."""
    proc = sweep_process(f"sweep-{phase}", sweep_env(sim, dagster_home, app_db.url), tmp_path)
    with running(proc):
        wait_for(
            lambda: len(polled_wallets(app_db.engine, phase)) >= 5 or not proc.alive(),
            timeout=90,
            what=f"the sweep to commit 5 wallets' {phase}",
        )
        assert proc.alive(), f"the sweep ended before it could be killed:\n{proc.tail()}"
        proc.kill_group(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    time.sleep(0.5)  # PostgreSQL notices the dead connections and rolls back what was in flight

    committed = polled_wallets(app_db.engine, phase)
    assert 5 <= len(committed) < len(sim.model.wallets), "the kill did not land mid-sweep"
    assert_cursors_consistent(app_db.engine)
    assert_committed_wallets_complete(sim, app_db)
    # Nobody marked the killed run: that is run monitoring's job in production (worker health).
    assert run_of(dagster_home).status == dg.DagsterRunStatus.STARTED

    result = rerun(sim, app_db)
    assert result.success
    assert_complete(sim, app_db)
