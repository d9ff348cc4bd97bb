"""Fixtures for Dagster tests: a simulator, a migrated app database, resources, an instance."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from polymarket_pipeline.definitions import build_definitions
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=23, n_wallets=8, n_markets=8, history_days=4, trades_per_wallet=20)
    with SimulatorServer(config) as server:
        yield server


def api_resource(sim: SimulatorServer, **overrides: object) -> PolymarketApiResource:
    values: dict[str, object] = {
        "data_api_url": sim.data_api_url,
        "clob_api_url": sim.clob_api_url,
        "gamma_api_url": sim.gamma_api_url,
        "hot_rate_limit": 200.0,
        "hot_burst": 50,
        "cold_rate_limit": 200.0,
        "cold_burst": 50,
        "hot_wallet_cooldown_seconds": 0.0,
        "cold_wallet_cooldown_seconds": 0.0,
        "backoff_base_seconds": 0.05,
        "read_timeout_seconds": 5.0,
        "hot_window_seconds": 0.5,
        "hot_cycle_seconds": 0.25,
        "hot_report_seconds": 0.0,
    }
    values.update(overrides)
    return PolymarketApiResource(**values)  # type: ignore[arg-type]


@pytest.fixture
def defs(sim: SimulatorServer, engine: object, db_url: str) -> dg.Definitions:
    """The project's definitions bound to the simulator and the (migrated) test database."""
    return build_definitions({"polymarket": api_resource(sim), "database": DatabaseResource(url=db_url)})


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance
