"""The production ``dagster.yaml`` for real: PostgreSQL storage, the daemon, the webserver, queued runs.

The stack is what docker-compose.yml runs, as local processes on loopback: a code server started with
the image's CMD, ``dagster-daemon run`` and ``dagster-webserver`` on the production workspace.yaml
(pointed at that code server), all with a temporary DAGSTER_HOME whose dagster.yaml is the production
file with **only its run_launcher block replaced by the DefaultRunLauncher** (runs start as
subprocesses of the code server instead of containers, which keeps these scheduling tests quick;
the DockerRunLauncher with real containers is tested in test_docker_stack.py) and run monitoring
polling every 2 s instead of 30 s (so the max-runtime test is quick). Dagster's storage and the
application database are throwaway PostgreSQL databases owned by a role with a password, which both
DAGSTER_POSTGRES_PASSWORD and POLYMARKET_DATABASE_URL carry; the API is a SimulatorServer.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.events import DagsterEventType
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_docker import DockerRunLauncher
from dagster_graphql import DagsterGraphQLClient
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_shared.serdes import serialize_value
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy import harness
from polymarket_pipeline_tests.deploy.harness import LOCATION, Proc, stop_instigators, wait_for
from polymarket_pipeline_tests.support import (
    register,
    stored_fills,
    stored_positions,
    truth_fills,
    truth_positions,
)

pytestmark = pytest.mark.postgres

TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
RUNNING = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}


@dataclass
class Stack:
    instance: dg.DagsterInstance
    client: DagsterGraphQLClient
    web_url: str
    sim: SimulatorServer
    engine: Engine
    env: dict[str, str]
    home: Path
    procs: list[Proc]
    secret: str
    admin_url: str
    app_db: str
    dagster_db_url: str
    app_url: str

    def wait_status(self, run_id: str, statuses: set[dg.DagsterRunStatus], timeout: float) -> dg.DagsterRun:
        def reached() -> dg.DagsterRun | None:
            run = self.instance.get_run_by_id(run_id)
            return run if run is not None and run.status in statuses else None

        try:
            run = wait_for(reached, timeout=timeout, what=f"run {run_id} to reach {statuses}")
        except TimeoutError as exc:
            raise TimeoutError("\n".join([str(exc), *(p.tail(3000) for p in self.procs)])) from None
        assert run is not None
        return run

    def submit_cold_sweep(self) -> str:
        return self.client.submit_job_execution("cold_wallets_job")  # no partition, no config


def grpc_healthy(env: dict[str, str], port: int) -> bool:
    probe = subprocess.run(
        [harness.tool("dagster"), "api", "grpc-health-check", "-p", str(port), "-h", "127.0.0.1"],
        env=env, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    return probe.returncode == 0


@pytest.fixture(scope="module")
def stack(
    pg_server: str, production_dbs: harness.ProductionDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("production")
    sim = SimulatorServer(
        SimulatorConfig(seed=29, n_wallets=8, n_markets=6, history_days=3, trades_per_wallet=10)
    )
    procs: list[Proc] = []
    engine = create_db_engine(production_dbs.app_url)
    mp = pytest.MonkeyPatch()
    instance: dg.DagsterInstance | None = None
    try:
        upgrade(engine)
        sim.start()
        register(engine, sim.model.wallets)  # all cold
        home = harness.make_dagster_home(tmp / "dagster_home", default_launcher=True)
        code_port, web_port = harness.free_port(), harness.free_port()
        workspace = harness.grpc_workspace(tmp / "workspace.yaml", code_port)
        env = harness.base_env(
            DAGSTER_HOME=str(home),
            **production_dbs.dagster_env,
            POLYMARKET_DATABASE_URL=production_dbs.app_url,
            POLYMARKET_DATA_API_URL=sim.data_api_url,
            POLYMARKET_CLOB_API_URL=sim.clob_api_url,
            POLYMARKET_GAMMA_API_URL=sim.gamma_api_url,
            POLYMARKET_COLD_RATE_LIMIT="200",
            POLYMARKET_COLD_BURST="50",
        )
        for key in ("DAGSTER_HOME", *production_dbs.dagster_env):
            mp.setenv(key, env[key])
        instance = dg.DagsterInstance.get()

        logs = tmp / "logs"
        code = Proc(
            "code-server",
            [harness.tool("dagster"), "code-server", "start", "-h", "127.0.0.1", "-p", str(code_port),
             "-m", "polymarket_pipeline.definitions"],
            env, tmp, logs,
        )  # fmt: skip
        procs.append(code.start())

        def code_server_up() -> bool:
            assert code.alive(), code.tail()
            return grpc_healthy(env, code_port)

        wait_for(code_server_up, timeout=90, what="the code server")
        stop_instigators(instance, workspace)

        daemon = Proc("daemon", [harness.tool("dagster-daemon"), "run", "-w", str(workspace)], env, tmp, logs)
        webserver = Proc(
            "webserver",
            [harness.tool("dagster-webserver"), "-h", "127.0.0.1", "-p", str(web_port), "-w", str(workspace)],
            env, tmp, logs,
        )  # fmt: skip
        procs += [daemon.start(), webserver.start()]
        web_url = f"http://127.0.0.1:{web_port}"

        def webserver_up() -> bool:
            assert webserver.alive(), webserver.tail()
            return httpx.get(f"{web_url}/server_info", timeout=5).status_code == 200

        wait_for(webserver_up, timeout=90, what="the webserver")
        yield Stack(
            instance=instance,
            client=DagsterGraphQLClient("127.0.0.1", port_number=web_port, timeout=60),
            web_url=web_url,
            sim=sim,
            engine=engine,
            env=env,
            home=home,
            procs=procs,
            secret=production_dbs.role.password,
            admin_url=pg_server,
            app_db=production_dbs.app_db,
            dagster_db_url=production_dbs.dagster_db_url,
            app_url=production_dbs.app_url,
        )
    finally:
        for proc in reversed(procs):
            proc.stop()
        if instance is not None:
            instance.dispose()
        mp.undo()
        engine.dispose()
        sim.stop()


def test_production_yaml_loads_into_a_real_postgres_instance(stack: Stack) -> None:
    instance = stack.instance
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)

    queue = instance.get_concurrency_config().run_queue_config
    assert queue is not None
    limits = {
        (limit["key"], str(limit.get("value"))): limit["limit"] for limit in queue.tag_concurrency_limits
    }
    for tier in ("hot", "integrations"):
        assert limits[("polymarket/sweep", tier)] == 1
    assert limits[("polymarket/sweep", "cold")] == 8  # shards in parallel ...
    assert limits[("polymarket/shard", str({"applyLimitPerUniqueValue": True}))] == 1  # ... one run each
    assert limits[("dagster/backfill", "None")] == 1
    production = harness.production_config(default_launcher=False)
    coordinator = production["run_coordinator"]["config"]
    assert not {"tag_concurrency_limits", "max_concurrent_runs"} & set(coordinator), "declared twice"

    assert instance.run_monitoring_enabled
    assert instance.run_retries_enabled
    assert instance.get_settings("sensors")["use_threads"] is True
    sensor_retention = instance.get_tick_retention_settings(InstigatorType.SENSOR)
    assert all(0 < days <= 7 for days in sensor_retention.values()), sensor_retention


def test_unmodified_production_yaml_builds_the_docker_run_launcher(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verbatim file (Docker launcher included) loads too; building the launcher needs no engine."""
    monkeypatch.delenv("DAGSTER_CURRENT_IMAGE", raising=False)
    monkeypatch.setenv("DAGSTER_DOCKER_NETWORK", "polymarket_network")
    home = harness.make_dagster_home(tmp_path / "home", default_launcher=False)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert launcher.image is None  # the image is the one the code server reports
        assert launcher.networks == ["polymarket_network"]
        # Only what every run needs, so no optional setting is required in the daemon.
        storage = {k for k in stack.env if k.startswith("DAGSTER_POSTGRES_")}
        assert set(launcher.env_vars) == storage | {"POLYMARKET_DATABASE_URL"}
        assert launcher.container_kwargs["stop_timeout"] >= 60
        assert isinstance(instance.run_storage, PostgresRunStorage)


def test_webserver_and_daemon_run_with_the_production_config(stack: Stack) -> None:
    info = httpx.get(f"{stack.web_url}/server_info", timeout=10).json()
    assert info["dagster_webserver_version"] == dg.__version__

    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    query += "locationOrLoadError { __typename } } } } }"
    entries = httpx.post(f"{stack.web_url}/graphql", json={"query": query}, timeout=30).json()
    [entry] = entries["data"]["workspaceOrError"]["locationEntries"]
    assert (entry["name"], entry["loadStatus"]) == (LOCATION, "LOADED")
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"

    def daemons_healthy() -> dict[str, Any]:
        statuses = stack.instance.get_daemon_statuses()
        return dict(statuses) if all(status.healthy for status in statuses.values()) else {}

    statuses = wait_for(daemons_healthy, timeout=60, what="healthy daemon heartbeats")
    assert {"QUEUED_RUN_COORDINATOR", "SENSOR", "SCHEDULER", "MONITORING"} <= set(statuses)

    def live() -> str:
        # it reads the heartbeats again on its own; on a loaded machine they can trail the statuses
        # above by a beat (seen: "Daemon(s) not running" while every status was healthy)
        done = subprocess.run(
            [harness.tool("dagster-daemon"), "liveness-check"],
            env=stack.env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError((done.stdout + done.stderr).strip()[-2000:])
        return done.stdout

    assert "Daemon live" in wait_for(live, timeout=90, what="dagster-daemon liveness-check", interval=2)


def test_queued_run_is_dequeued_by_the_daemon_and_succeeds(stack: Stack) -> None:
    run_id = stack.submit_cold_sweep()
    run = stack.wait_status(run_id, TERMINAL, timeout=120)
    assert run.status == dg.DagsterRunStatus.SUCCESS, "\n".join(p.tail() for p in stack.procs)
    assert run.tags["polymarket/sweep"] == "cold"  # the job's tags, which the concurrency limit reads
    assert run.tags["dagster/max_runtime"]  # what run monitoring enforces
    assert "dagster/partition" not in run.tags
    lifecycle = [
        DagsterEventType.RUN_ENQUEUED,  # the webserver's QueuedRunCoordinator
        DagsterEventType.RUN_STARTING,  # the daemon dequeued it and launched it
        DagsterEventType.RUN_START,
        DagsterEventType.RUN_SUCCESS,
    ]
    records = stack.instance.get_records_for_run(run_id, of_type=set(lifecycle)).records
    assert [r.event_log_entry.dagster_event_type for r in records] == lifecycle
    truth = stack.sim.model.ground_truth()
    assert stored_fills(stack.engine) == truth_fills(truth)
    assert stored_positions(stack.engine) == pytest.approx(truth_positions(truth))


def test_two_cold_sweeps_at_once_run_one_after_the_other(stack: Stack) -> None:
    """``polymarket/sweep=cold`` is limited to 1: the second request waits QUEUED for the first."""
    dequeue_interval = harness.production_config(default_launcher=True)["run_coordinator"]["config"][
        "dequeue_interval_seconds"
    ]
    fault = stack.sim.faults.add(FaultRule(kind="latency", latency_ms=4000))  # every request takes 4 s
    try:
        first, second = stack.submit_cold_sweep(), stack.submit_cold_sweep()
        runs = {first: dg.DagsterRunStatus.QUEUED, second: dg.DagsterRunStatus.QUEUED}
        stack.wait_status(first, RUNNING | TERMINAL, timeout=60)
        held_since: float | None = None
        held_for = 0.0
        deadline = time.monotonic() + 4 * dequeue_interval + 2
        while time.monotonic() < deadline:
            for run_id in runs:
                run = stack.instance.get_run_by_id(run_id)
                assert run is not None
                runs[run_id] = run.status
            assert sum(status in RUNNING for status in runs.values()) <= 1, runs
            if runs[first] in RUNNING and runs[second] == dg.DagsterRunStatus.QUEUED:
                held_since = held_since or time.monotonic()
                held_for = time.monotonic() - held_since
            elif runs[first] in TERMINAL:
                break
            time.sleep(0.25)
        # The daemon looked at the queue at least twice while the second run had to wait.
        assert held_for >= 2 * dequeue_interval, (held_for, runs)
    finally:
        stack.sim.faults.remove(fault)

    done = {run_id: stack.wait_status(run_id, TERMINAL, timeout=120) for run_id in (first, second)}
    assert {run.status for run in done.values()} == {dg.DagsterRunStatus.SUCCESS}
    found = stack.instance.get_run_records(dg.RunsFilter(run_ids=[first, second]))
    records = {record.dagster_run.run_id: record for record in found}
    first_end, second_start = records[first].end_time, records[second].start_time
    assert first_end is not None
    assert second_start is not None
    assert second_start >= first_end, "the second cold sweep started before the first had finished"
    truth = stack.sim.model.ground_truth()
    assert stored_fills(stack.engine) == truth_fills(truth)  # three sweeps, still every fill once


def test_a_sweep_past_its_max_runtime_is_stopped_by_run_monitoring(stack: Stack) -> None:
    """The seed's cold lock expired after 65 minutes; here ``dagster/max_runtime`` does that job."""
    # every request takes 10 s (under the 15 s read timeout): even a quiet sweep, one request per
    # wallet in parallel, outlasts the 4 s max runtime
    fault = stack.sim.faults.add(FaultRule(kind="latency", latency_ms=10_000))
    try:
        run_id = stack.client.submit_job_execution("cold_wallets_job", tags={"dagster/max_runtime": "4"})
        stack.wait_status(run_id, RUNNING, timeout=60)
        started = time.monotonic()
        run = stack.wait_status(run_id, TERMINAL, timeout=90)
    finally:
        stack.sim.faults.remove(fault)
    assert run.status in {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
    assert time.monotonic() - started < 60  # stopped, not run to completion
    daemon = next(p for p in stack.procs if p.name == "daemon")
    assert f"Run {run_id} has exceeded maximum runtime of 4.0 seconds" in daemon.output()
    logs = [r.user_message for r in stack.instance.all_logs(run_id)]
    assert any("finishing the wallets in hand" in m for m in logs), logs[-10:]  # the graceful stop
    after = stack.wait_status(stack.submit_cold_sweep(), TERMINAL, timeout=120)
    assert after.status == dg.DagsterRunStatus.SUCCESS  # the slot is free again and nothing was lost
    assert stored_fills(stack.engine) == truth_fills(stack.sim.model.ground_truth())


def test_failed_run_and_all_logs_keep_the_database_password_secret(stack: Stack) -> None:
    """A run that cannot reach the app database fails; no log, event or file shows the password."""
    harness.set_allow_connections(stack.admin_url, stack.app_db, False)
    try:
        run_id = stack.submit_cold_sweep()
        run = stack.wait_status(run_id, TERMINAL, timeout=120)
    finally:
        harness.set_allow_connections(stack.admin_url, stack.app_db, True)
    assert run.status == dg.DagsterRunStatus.FAILURE
    failures = stack.instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
    messages = [str(r.event_log_entry.dagster_event.step_failure_data.error) for r in failures]  # type: ignore[union-attr]
    assert any("not currently accepting connections" in m for m in messages), messages

    for proc in stack.procs[1:]:  # let the daemon and webserver flush what they print about it
        assert proc.alive(), proc.tail()
    time.sleep(1)
    texts = {proc.name: proc.output() for proc in stack.procs}
    texts.update(harness.read_tree(stack.home))  # compute logs, instance files
    texts["dagster storage"] = harness.dump_database_text(stack.dagster_db_url)
    texts["app database"] = harness.dump_database_text(stack.app_url)
    assert run_id in texts["dagster storage"]  # the scan does see the run's records…
    assert "cold_wallets_job" in texts["code-server"]  # …and the run worker's output
    assert any("compute_logs" in name for name in texts), "no compute logs were captured"
    # The DockerRunLauncher writes the instance ref into every run container's command line.
    ref = serialize_value(stack.instance.get_ref())
    assert "DAGSTER_POSTGRES_PASSWORD" in ref  # a reference to the variable, resolved in the container
    texts["instance ref"] = ref
    assert harness.find_secret(stack.secret, texts) == []


def test_a_ui_backfill_of_trades_history_runs_once_for_the_whole_range(stack: Stack) -> None:
    """What the UI's backfill dialog sends: the daemon turns a 3-day range into one run."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [(today - timedelta(days=n)).strftime("%Y-%m-%d") for n in (3, 2, 1)]
    mutation = """
    mutation($params: LaunchBackfillParams!) {
      launchPartitionBackfill(backfillParams: $params) {
        __typename
        ... on LaunchBackfillSuccess { backfillId }
        ... on PythonError { message }
      }
    }"""
    params = {"assetSelection": [{"path": ["trades_history"]}], "partitionNames": days}
    response = httpx.post(
        f"{stack.web_url}/graphql", json={"query": mutation, "variables": {"params": params}}, timeout=60
    ).json()
    launched = response["data"]["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    before = stored_fills(stack.engine)

    def finished() -> list[dg.DagsterRun] | None:
        runs = stack.instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        return runs if runs and all(run.status in TERMINAL for run in runs) else None

    runs = wait_for(finished, timeout=120, what=f"backfill {backfill_id}")
    assert len(runs) == 1, [run.tags for run in runs]  # single-run backfill policy
    [run] = runs
    assert run.status == dg.DagsterRunStatus.SUCCESS, "\n".join(p.tail() for p in stack.procs)
    assert run.tags["dagster/asset_partition_range_start"] == days[0]
    assert run.tags["dagster/asset_partition_range_end"] == days[-1]
    requests = [r for r in stack.sim.log.records() if r.route == "/v2/trades" and r.wallet]
    assert any(r.query.get("start") == str(int((today - timedelta(days=3)).timestamp())) for r in requests)
    lo, hi = int((today - timedelta(days=3)).timestamp()), int(today.timestamp()) - 1
    window = Counter(
        {k: n for k, n in truth_fills(stack.sim.model.ground_truth()).items() if lo <= k[6] <= hi}
    )
    assert window, "the simulator's history should have fills in those days"
    assert stored_fills(stack.engine) == before | window  # the window's fills once, nothing duplicated
