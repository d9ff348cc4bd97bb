"""Helpers for tests that start real processes with the production instance config.

Every process runs in its own session (process group) with its output in files, is waited on with
a deadline, and is killed with its whole group when the test ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import sqlalchemy as sa
import yaml
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
PRODUCTION_WORKSPACE_YAML = REPO_ROOT / "workspace.yaml"
BIN = Path(sys.executable).parent
LOCATION = "polymarket_pipeline"
"""The code location's name in ``workspace.yaml``."""

T = TypeVar("T")


def tool(name: str) -> str:
    """A console script of the test environment (dagster, dagster-daemon, …)."""
    found = shutil.which(name, path=str(BIN))
    if found is None:
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable}")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # keep polling: the thing may not be up yet
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)


@dataclass
class Proc:
    """A subprocess in its own process group, stdout/stderr in ``log_dir``."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    cwd: Path
    log_dir: Path
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.stderr"

    def start(self) -> Proc:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                self.argv,
                env=dict(self.env),
                cwd=self.cwd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{self.name} still running after {timeout:.0f}s:\n{self.tail()}") from None

    def send(self, sig: signal.Signals) -> None:
        """Signal the process itself (what `docker stop` does to a container's PID 1)."""
        if self.alive():
            os.kill(self.pid, sig)

    def kill_group(self, sig: signal.Signals = signal.SIGKILL) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the group, then SIGKILL it; reap the leader."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.kill_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        self.kill_group(signal.SIGKILL)  # children of an exited leader too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def output(self) -> str:
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} output (tail) ---\n{self.output()[-chars:]}"


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[tuple[Proc, ...]]:
    """Start the processes; stop every one of them (and their groups) on the way out."""
    started: list[Proc] = []
    try:
        for proc in procs:
            started.append(proc.start())
        yield procs
    finally:
        for proc in reversed(started):
            proc.stop()


# ------------------------------------------------------------------ PostgreSQL throwaways
def _admin(admin_url: str) -> sa.Engine:
    return sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")


@dataclass(frozen=True)
class PgRole:
    name: str
    password: str


def create_role(admin_url: str) -> PgRole:
    """A LOGIN role with a random password (trust auth accepts any password, so URLs may carry it)."""
    role = PgRole(f"pmrole_{uuid.uuid4().hex[:10]}", f"pw{secrets.token_hex(16)}")
    engine = _admin(admin_url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE \"{role.name}\" LOGIN PASSWORD '{role.password}'")
    engine.dispose()
    return role


def drop_role(admin_url: str, role: PgRole) -> None:
    engine = _admin(admin_url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role.name}"')
    engine.dispose()


def create_database(admin_url: str, owner: PgRole | None = None) -> str:
    name = f"pmtest_{uuid.uuid4().hex[:12]}"
    engine = _admin(admin_url)
    with engine.connect() as connection:
        owner_sql = f' OWNER "{owner.name}"' if owner else ""
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{owner_sql}')
    engine.dispose()
    return name


def drop_database(admin_url: str, name: str) -> None:
    engine = _admin(admin_url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@dataclass(frozen=True)
class ProductionDatabases:
    """A LOGIN role owning two fresh databases, as a production deployment has them."""

    role: PgRole
    dagster_db: str
    """Dagster's storage."""
    app_db: str
    app_url: str
    """The application database, as the role."""
    dagster_env: dict[str, str]
    """``DAGSTER_POSTGRES_*`` for ``dagster.yaml``, as the role."""
    dagster_db_url: str
    """Dagster's storage, as the admin (for the test's own reads)."""


@contextlib.contextmanager
def production_databases(admin_url: str) -> Iterator[ProductionDatabases]:
    """Create the role and both databases; drop all three afterwards, whatever happened."""
    role = create_role(admin_url)
    created: list[str] = []
    try:
        created.append(create_database(admin_url, owner=role))
        created.append(create_database(admin_url, owner=role))
        dagster_db, app_db = created
        env = dagster_postgres_env(admin_url, dagster_db, role.password)
        env["DAGSTER_POSTGRES_USER"] = role.name
        yield ProductionDatabases(
            role=role,
            dagster_db=dagster_db,
            app_db=app_db,
            app_url=app_url(admin_url, app_db, role),
            dagster_env=env,
            dagster_db_url=app_url(admin_url, dagster_db),
        )
    finally:
        for name in reversed(created):
            drop_database(admin_url, name)
        drop_role(admin_url, role)


def set_allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    engine = _admin(admin_url)
    with engine.connect() as connection:
        connection.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
    engine.dispose()


def terminate_backends(admin_url: str, database: str) -> int:
    """Kill every session connected to ``database`` (what a database failover does to clients)."""
    engine = _admin(admin_url)
    with engine.connect() as connection:
        killed = connection.exec_driver_sql(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %(db)s AND pid <> pg_backend_pid()",
            {"db": database},
        ).scalar_one()
    engine.dispose()
    return int(killed)


def app_url(admin_url: str, database: str, role: PgRole | None = None) -> str:
    url = sa.engine.make_url(admin_url).set(drivername="postgresql+psycopg", database=database)
    if role is not None:
        url = url.set(username=role.name, password=role.password)
    return url.render_as_string(hide_password=False)


def dump_database_text(url: str) -> str:
    """Every row of every table of a database, as text (to search it for secrets)."""
    engine = sa.create_engine(url)
    chunks: list[str] = []
    try:
        with engine.connect() as connection:
            tables = connection.exec_driver_sql(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
                "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).scalars()
            for table in list(tables):
                rows = connection.exec_driver_sql(f"SELECT t::text FROM {table} t").scalars()
                chunks.append(f"== {table}\n" + "\n".join(rows))
    finally:
        engine.dispose()
    return "\n".join(chunks)


# ------------------------------------------------------------------ Dagster instance homes
def dagster_postgres_env(admin_url: str, database: str, password: str) -> dict[str, str]:
    """The DAGSTER_POSTGRES_* variables of the production dagster.yaml for a local database."""
    url = sa.engine.make_url(admin_url)
    return {
        "DAGSTER_POSTGRES_HOST": url.host or "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(url.port or 5432),
        "DAGSTER_POSTGRES_USER": url.username or "postgres",
        "DAGSTER_POSTGRES_PASSWORD": password,
        "DAGSTER_POSTGRES_DB": database,
    }


MONITORING_POLL_SECONDS = 2
"""Run monitoring checks every 30 s in production; the local stack checks every 2 s so a test of
the max-runtime stop does not wait half a minute (the only other change to the file)."""


def production_config(*, default_launcher: bool) -> dict[str, Any]:
    """The production dagster.yaml; with ``default_launcher`` the run_launcher block is replaced
    (no Docker engine here) and run monitoring polls every ``MONITORING_POLL_SECONDS``."""
    config: dict[str, Any] = yaml.safe_load(PRODUCTION_DAGSTER_YAML.read_text())
    if default_launcher:
        config["run_launcher"] = {"module": "dagster._core.launcher", "class": "DefaultRunLauncher"}
        config["run_monitoring"]["poll_interval_seconds"] = MONITORING_POLL_SECONDS
    return config


def make_dagster_home(path: Path, *, default_launcher: bool) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if default_launcher:
        text = yaml.safe_dump(production_config(default_launcher=True), sort_keys=False)
    else:
        text = PRODUCTION_DAGSTER_YAML.read_text()
    (path / "dagster.yaml").write_text(text)
    return path


def grpc_workspace(path: Path, port: int) -> Path:
    """The production workspace.yaml, pointed at a code server on loopback ``port``."""
    workspace = yaml.safe_load(PRODUCTION_WORKSPACE_YAML.read_text())
    entry = workspace["load_from"][0]["grpc_server"]
    entry["host"] = "127.0.0.1"
    entry["port"] = port
    path.write_text(yaml.safe_dump(workspace, sort_keys=False))
    return path


def base_env(**extra: str) -> dict[str, str]:
    """The test environment minus anything that could point a child at other state."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DAGSTER_", "POLYMARKET_", "PYTEST_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def find_secret(secret: str, texts: Mapping[str, str]) -> list[str]:
    """Names of the texts containing ``secret`` (also URL-encoded or repr-escaped)."""
    from urllib.parse import quote

    needles = {secret, quote(secret, safe=""), repr(secret)[1:-1]}
    return [name for name, text in texts.items() if any(needle in text for needle in needles)]


def read_tree(root: Path, *, suffixes: Iterable[str] | None = None) -> dict[str, str]:
    """Every file under ``root`` as text, keyed by path."""
    wanted = set(suffixes) if suffixes is not None else None
    files: dict[str, str] = {}
    if not root.exists():
        return files
    for path in root.rglob("*"):
        if path.is_file() and (wanted is None or path.suffix in wanted):
            files[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return files


def stop_instigators(instance: dg.DagsterInstance, workspace: Path, *, sensors: bool = True) -> None:
    """Turn off the schedules (RUNNING by default) and, unless ``sensors=False``, the sensor, so
    only the test's runs happen."""
    target = WorkspaceFileTarget(paths=[str(workspace)])
    with WorkspaceProcessContext(instance, target) as process_context:
        location = process_context.create_request_context().get_code_location(LOCATION)
        for repository in location.get_repositories().values():
            if sensors:
                for sensor in repository.get_sensors():
                    instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
            for schedule in repository.get_schedules():
                instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
