"""Shared fixtures: one simulator per test module, reached through the real HTTP boundary."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer

START = int(time.time()) - 3600


def small_config(**overrides: object) -> SimulatorConfig:
    values: dict[str, object] = {
        "seed": 11,
        "n_wallets": 24,
        "n_markets": 12,
        "history_days": 30,
        "trades_per_wallet": 20,
        "start_time": START,
        # The edge cache (on by default, like the live feeds) has its own tests; elsewhere a test
        # re-reading an identical URL after a change must see the change.
        "edge_cache_seconds": 0.0,
    }
    values.update(overrides)
    return SimulatorConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(small_config()) as server:
        yield server


@pytest.fixture(scope="module")
def http(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, timeout=10.0) as client:
        yield client
