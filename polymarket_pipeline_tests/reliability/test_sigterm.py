"""SIGTERM (what ``docker stop`` sends): the sweep finishes the wallets in hand, starts no new one, exits."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType

from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy.harness import running, wait_for
from polymarket_pipeline_tests.reliability.sweeps import (
    AppDatabase,
    DagsterHome,
    assert_committed_wallets_complete,
    assert_complete,
    assert_cursors_consistent,
    polled_wallets,
    requested_wallets,
    rerun,
    run_of,
    sweep_env,
    sweep_process,
)

pytestmark = pytest.mark.postgres

NOTICE = "SIGTERM: finishing the wallets in hand, then stopping"


@pytest.mark.parametrize("phase", ["positions", "trades"])
def test_sigterm_stops_gracefully_and_the_next_run_completes_the_rest(
    phase: str, sim: SimulatorServer, app_db: AppDatabase, dagster_home: DagsterHome, tmp_path: Path
) -> None:
    since = time.time()
    proc = sweep_process("sweep", sweep_env(sim, dagster_home, app_db.url), tmp_path)
    with running(proc):
        wait_for(
            lambda: len(polled_wallets(app_db.engine, phase)) >= 5 or not proc.alive(),
            timeout=90,
            what=f"the sweep to commit 5 wallets' {phase}",
        )
        assert proc.alive(), f"the sweep ended before the signal:\n{proc.tail()}"
        signalled = time.monotonic()
        proc.send(signal.SIGTERM)  # the process only, as `docker stop` signals a container's PID 1
        exit_code = proc.wait(45)
        stopped_after = time.monotonic() - signalled
    assert exit_code != 0, "an interrupted run must not report success"
    assert stopped_after < 30, f"took {stopped_after:.1f}s to stop (the grace period is 30 s)"
    assert NOTICE in proc.output()

    # The wallets in hand finished; no other wallet was started.
    committed = polled_wallets(app_db.engine, phase)
    assert committed == requested_wallets(sim, since, phase), "a started wallet was left unfinished"
    assert 5 <= len(committed) < len(sim.model.wallets), "the sweep kept starting wallets after SIGTERM"
    assert_cursors_consistent(app_db.engine)
    assert_committed_wallets_complete(sim, app_db)

    # The run ended there: the interrupted step failed, no step started after the signal.
    run = run_of(dagster_home)
    assert run.status == dg.DagsterRunStatus.FAILURE, "the run must be closed, not left STARTED"
    records = dagster_home.instance.get_records_for_run(run.run_id).records
    entries = [r.event_log_entry for r in records]
    signal_at = next(i for i, e in enumerate(entries) if NOTICE in e.user_message)
    assert entries[signal_at].step_key == "wallet_sweep"
    later = [e.dagster_event_type for e in entries[signal_at:]]
    assert DagsterEventType.STEP_START not in later
    failed = [e for e in entries if e.dagster_event_type == DagsterEventType.STEP_FAILURE]
    assert [e.step_key for e in failed] == ["wallet_sweep"]
    assert failed[0].dagster_event is not None
    error = failed[0].dagster_event.step_failure_data.error
    assert error is not None
    assert error.cls_name == "DagsterExecutionInterruptedError"

    result = rerun(sim, app_db)
    assert result.success
    assert_complete(sim, app_db)
