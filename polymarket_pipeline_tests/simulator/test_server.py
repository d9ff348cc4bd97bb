"""Running the simulator: in a thread, in a subprocess, and the command-line mapping."""

from __future__ import annotations

import argparse
import socket

import httpx
import pytest

from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import (
    SimulatorProcess,
    SimulatorServer,
    add_config_arguments,
    config_from_args,
    config_to_argv,
    export_lines,
)
from polymarket_pipeline_tests.simulator.conftest import small_config


def test_export_lines() -> None:
    assert export_lines("http://127.0.0.1:8123/") == [
        "export POLYMARKET_DATA_API_URL=http://127.0.0.1:8123/data",
        "export POLYMARKET_CLOB_API_URL=http://127.0.0.1:8123/clob",
        "export POLYMARKET_GAMMA_API_URL=http://127.0.0.1:8123/gamma",
    ]


def test_thread_server_urls_and_clean_shutdown() -> None:
    server = SimulatorServer(small_config(seed=17, n_wallets=3, n_markets=3))
    with server as sim:
        assert sim.base_url == f"http://127.0.0.1:{sim.port}"
        assert sim.data_api_url == sim.base_url + "/data"
        assert sim.clob_api_url == sim.base_url + "/clob"
        assert sim.gamma_api_url == sim.base_url + "/gamma"
        assert sim.admin_url == sim.base_url + "/_sim"
        assert httpx.get(sim.admin_url + "/health").json()["ok"] is True
        with pytest.raises(RuntimeError, match="already started"):
            sim.start()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.port), timeout=0.5),
    ):
        pass


def test_fixed_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SimulatorServer(small_config(seed=18, n_wallets=3, n_markets=3), port=port) as sim:
        assert sim.base_url.endswith(f":{port}")
        assert httpx.get(f"{sim.base_url}/gamma/markets").status_code == 200


def test_config_argv_round_trip() -> None:
    config = SimulatorConfig(
        seed=5,
        n_wallets=7,
        n_markets=4,
        history_days=9,
        trades_per_wallet=3,
        live_trades_per_second=1.5,
        enforce_limits=True,
        latency_ms=50,
        start_time=1_700_000_000,
        legacy_markets=1,
        neg_risk_events=2,
        feed_degraded_fraction=0.5,
        v1_trades_repeat_offset=100,
        edge_cache_seconds=12.5,
        edge_cache_routes=("/trades", "/v2/activity"),
        state_file="/tmp/sim-state.jsonl",
    )
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    assert config_from_args(parser.parse_args(config_to_argv(config))) == config
    no_cache = SimulatorConfig(edge_cache_routes=())
    assert config_from_args(parser.parse_args(config_to_argv(no_cache))) == no_cache
    with pytest.raises(ValueError, match="clob_page_size"):
        config_to_argv(SimulatorConfig(clob_page_size=3))


def test_subprocess_simulator_is_reachable_and_stops() -> None:
    config = SimulatorConfig(seed=19, n_wallets=4, n_markets=3, trades_per_wallet=3)
    with SimulatorProcess(config) as sim:
        assert sim.process is not None
        assert sim.process.poll() is None
        process = sim.process
        wallets = sim.admin.wallets()
        assert len(wallets) == 4
        rows = httpx.get(f"{sim.data_api_url}/trades", params={"user": wallets[0]}).json()
        truth = sim.admin.truth()
        assert truth["wallets"] == wallets
        takers = [f for f in truth["fills"] if f["wallet"] == wallets[0] and f["role"] == "taker"]
        assert len(rows) == len(takers) >= 3
    assert process.poll() is not None
