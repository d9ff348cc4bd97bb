"""Fixtures for crash, signal, database-loss and secrecy tests of the cold sweep.

A sweep runs as the real CLI (``dagster job execute`` on ``polymarket_pipeline.definitions``) in its
own process, configured only by environment variables, against a SimulatorServer in this process,
an application database on the local PostgreSQL server (owned by a role with a password, carried by
POLYMARKET_DATABASE_URL) and Dagster storage on PostgreSQL from the production dagster.yaml (run
launcher replaced by the DefaultRunLauncher: no Docker here).
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.deploy import harness
from polymarket_pipeline_tests.reliability.sweeps import AppDatabase, DagsterHome
from polymarket_pipeline_tests.support import register


@pytest.fixture(scope="package")
def sim() -> Iterator[SimulatorServer]:
    """60 wallets: more than a sweep keeps in flight (32), so a stopped sweep leaves some unstarted."""
    config = SimulatorConfig(seed=71, n_wallets=60, n_markets=10, history_days=3, trades_per_wallet=8)
    with SimulatorServer(config) as server:
        yield server


@pytest.fixture(scope="package")
def dagster_home(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterHome]:
    role = harness.create_role(pg_server)
    database = harness.create_database(pg_server, owner=role)
    home = harness.make_dagster_home(
        tmp_path_factory.mktemp("reliability") / "dagster_home", default_launcher=True
    )
    env = {"DAGSTER_HOME": str(home), **harness.dagster_postgres_env(pg_server, database, role.password)}
    env["DAGSTER_POSTGRES_USER"] = role.name
    instance: dg.DagsterInstance | None = None
    try:
        with pytest.MonkeyPatch.context() as mp:  # the storage resolves its env vars when it is built
            for key, value in env.items():
                mp.setenv(key, value)
            instance = dg.DagsterInstance.from_config(str(home))
            instance.run_storage  # noqa: B018  - build (and migrate) the storage now
        yield DagsterHome(home, env, instance, harness.app_url(pg_server, database), role.password)
    finally:
        if instance is not None:
            instance.dispose()
        harness.drop_database(pg_server, database)
        harness.drop_role(pg_server, role)


@pytest.fixture
def app_db(pg_server: str, sim: SimulatorServer) -> Iterator[AppDatabase]:
    """A migrated application database with every simulator wallet registered (all cold)."""
    role = harness.create_role(pg_server)
    name = harness.create_database(pg_server, owner=role)
    url = harness.app_url(pg_server, name, role)
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        register(engine, sim.model.wallets)
        yield AppDatabase(name, url, engine, role.password)
    finally:
        engine.dispose()
        harness.set_allow_connections(pg_server, name, True)
        harness.drop_database(pg_server, name)
        harness.drop_role(pg_server, role)
