"""Database passwords never show up in logs, run metadata, events, errors or compute logs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType

from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy import harness
from polymarket_pipeline_tests.deploy.harness import running
from polymarket_pipeline_tests.reliability.sweeps import AppDatabase, DagsterHome, sweep_env, sweep_process

pytestmark = pytest.mark.postgres


def test_passwords_never_appear_in_logs_events_or_errors(
    pg_server: str, sim: SimulatorServer, app_db: AppDatabase, dagster_home: DagsterHome, tmp_path: Path
) -> None:
    """Three runs with passwords in POLYMARKET_DATABASE_URL and DAGSTER_POSTGRES_PASSWORD: one succeeds,
    one cannot connect to the application database, one cannot reach Dagster's own storage."""
    closed_db = harness.create_database(pg_server)  # same password-carrying URL, no connections allowed
    harness.set_allow_connections(pg_server, closed_db, False)
    closed_url = app_db.url.rsplit("/", 1)[0] + f"/{closed_db}"
    try:
        ok = sweep_process("ok", sweep_env(sim, dagster_home, app_db.url, rate="500"), tmp_path)
        refused = sweep_process("refused", sweep_env(sim, dagster_home, closed_url, rate="500"), tmp_path)
        no_storage_env = sweep_env(sim, dagster_home, app_db.url, rate="500")
        no_storage_env["DAGSTER_POSTGRES_DB"] = f"{closed_db}_missing"
        no_storage = sweep_process("no-storage", no_storage_env, tmp_path)
        with running(ok, refused, no_storage):
            codes = {proc.name: proc.wait(120) for proc in (ok, refused, no_storage)}
    finally:
        harness.set_allow_connections(pg_server, closed_db, True)
        harness.drop_database(pg_server, closed_db)
    assert codes == {"ok": 0, "refused": 1, "no-storage": 1}, "\n".join(p.tail() for p in (ok, refused))
    assert "not currently accepting connections" in refused.output()
    assert "too many retries for DB connection" in no_storage.output()

    instance = dagster_home.instance
    runs = instance.get_runs(dg.RunsFilter(job_name="cold_wallets_job"), limit=2)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE}
    failed = next(run for run in runs if run.status == dg.DagsterRunStatus.FAILURE)
    assert instance.get_records_for_run(failed.run_id, of_type=DagsterEventType.STEP_FAILURE).records

    texts = {proc.name: proc.output() for proc in (ok, refused, no_storage)}
    texts.update(harness.read_tree(dagster_home.path))  # compute logs of every run
    texts["dagster storage"] = harness.dump_database_text(dagster_home.storage_url)  # events, runs, ticks
    texts["app database"] = harness.dump_database_text(app_db.url)
    for run in runs:  # what the API returns: tags, config, snapshots, every event and its error
        texts[f"run {run.run_id}"] = repr(run) + repr(instance.get_job_snapshot(run.job_snapshot_id or ""))
        texts[f"events {run.run_id}"] = repr(instance.all_logs(run.run_id))
    compute_logs = [name for name in texts if "compute_logs" in name]
    assert any(run.run_id in name for run in runs for name in compute_logs), "no compute logs to check"
    assert all(run.run_id in texts["dagster storage"] for run in runs)  # the scan sees what it should

    for secret in (app_db.secret, dagster_home.secret):
        assert harness.find_secret(secret, {"control": repr(harness.base_env(X=f"x:{secret}@"))})
        assert harness.find_secret(secret, texts) == []
