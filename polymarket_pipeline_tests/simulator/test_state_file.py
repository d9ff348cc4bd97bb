"""State across restarts: a second simulator on the same state file serves exactly what the first did."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.model import MarketModel, SimulatorConfig, StateFileError
from polymarket_pipeline.simulator.server import SimulatorProcess, SimulatorServer
from polymarket_pipeline_tests.simulator.conftest import small_config


def _walk(http: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = http.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        rows += body["data"]
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            return rows


def _served(base_url: str) -> dict[str, Any]:
    """What a pipeline can see: every wallet's positions, closed positions, trades and activity."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        wallets = http.get("/_sim/wallets").json()
        seen: dict[str, Any] = {"wallets": wallets}
        for w in wallets:
            seen[w] = {
                "positions": http.get(
                    "/data/positions", params={"user": w, "limit": 500, "sizeThreshold": 0}
                ).json(),
                "v2": _walk(http, "/data/v2/positions", {"user": w, "limit": 1000}),
                "closed": http.get("/data/closed-positions", params={"user": w, "limit": 50}).json(),
                "trades": _walk(
                    http, "/data/v2/trades", {"user": w, "start": 1, "taker_only": "false", "limit": 1000}
                ),
                "activity": _walk(http, "/data/v2/activity", {"user": w, "start": 1, "limit": 1000}),
            }
        seen["clob"] = http.get("/clob/markets").json()
        return seen


def _live_changes(sim: SimulatorServer) -> None:
    """One of every kind of change, through the admin API, plus a burst of live tape."""
    admin = sim.admin
    markets = [m for m in admin.markets() if not m["closed"] and not m["neg_risk"] and not m["legacy"]]
    a, b, c = markets[:3]
    w = admin.wallets()
    admin.inject_trade(w[0], a["token_ids"][0], "BUY", 25.5, 0.41)
    admin.inject_trade(w[1], a["token_ids"][1], "BUY", 12, 0.6, makers=[w[2], w[3]])
    admin.generate_trades(5)
    admin.set_live_rate(40)
    time.sleep(0.5)
    admin.set_live_rate(0)
    admin.resolve_market(b["condition_id"], 0)
    holder = next(p["wallet"] for p in admin.truth()["positions"] if p["condition_id"] == b["condition_id"])
    admin.redeem(holder, b["condition_id"])
    held = next(p for p in admin.truth()["positions"] if p["condition_id"] == c["condition_id"])
    admin.close_position(held["wallet"], held["asset"])
    admin.split(w[4], a["condition_id"], 30)
    admin.merge(w[4], a["condition_id"], 10)
    admin.reward(w[5], 7.25, kind="MAKER_REBATE")
    admin.resolve_market(c["condition_id"], 1, flag_winner=False)
    admin.archive_market(c["condition_id"])
    admin.add_wallets(1)


def test_a_restarted_simulator_serves_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "sim" / "state.jsonl"
    config = small_config(seed=51, start_time=None, state_file=str(path))
    with SimulatorServer(config) as first:
        _live_changes(first)
        before = _served(first.base_url)
        truth = first.admin.truth()
        entries = first.admin.health()["journal_entries"]
    assert entries >= 13  # one line per change above, plus the live tape's ticks
    with SimulatorServer(config) as second:
        assert second.admin.health()["journal_entries"] == entries
        assert second.model.start_time == first.model.start_time  # the clock anchor survives
        assert _served(second.base_url) == before  # same positions, so no fabricated closes
        assert second.admin.truth() == truth
        fill = second.admin.generate_trades(1)[0]
    with SimulatorServer(config) as third:  # the journal kept going
        assert fill in third.admin.truth()["fills"]


def test_the_state_file_refuses_other_options_and_a_second_writer(tmp_path: Path) -> None:
    path = str(tmp_path / "state.jsonl")
    config = small_config(seed=52, state_file=path)
    model = MarketModel(config)
    try:
        with pytest.raises(StateFileError, match="in use"):
            MarketModel(config)
        model.generate_trades(2)
    finally:
        model.close()
    with pytest.raises(StateFileError, match="n_wallets=24"):
        MarketModel(small_config(seed=52, n_wallets=25, state_file=path))
    with pytest.raises(StateFileError, match="start_time"):
        MarketModel(small_config(seed=52, start_time=123, state_file=path))
    again = MarketModel(small_config(seed=52, state_file=path, latency_ms=5, edge_cache_seconds=60))
    again.close()  # serving options may change between runs


def test_a_torn_last_line_is_dropped_and_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    config = small_config(seed=53, state_file=str(path))
    model = MarketModel(config)
    model.generate_trades(3)
    fills = model.ground_truth()["fills"]
    model.close()
    with path.open("a") as fh:
        fh.write('{"op": "generate", "n": 7, "timest')  # a crash mid-write
    restored = MarketModel(config)
    try:
        assert restored.ground_truth()["fills"] == fills
        assert restored.journal_entries == 1
    finally:
        restored.close()
    assert path.read_text().endswith("}\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(StateFileError, match="not a simulator state file"):
        MarketModel(small_config(seed=53, state_file=str(bad)))
    lines = path.read_text().splitlines()
    path.write_text(
        "\n".join(
            [lines[0], json.dumps({"op": "close", "wallet": "0x" + "1" * 40, "asset": "1", "timestamp": 1})]
        )
        + "\n"
    )
    with pytest.raises(StateFileError, match="cannot be replayed"):
        MarketModel(config)


def test_simulate_state_file_survives_a_process_restart(tmp_path: Path) -> None:
    """The command line path: ``--state-file``, SIGTERM, start again."""
    path = tmp_path / "state.jsonl"
    config = SimulatorConfig(seed=54, n_wallets=5, n_markets=4, trades_per_wallet=3, state_file=str(path))
    with SimulatorProcess(config) as sim:
        wallets = sim.admin.wallets()
        market = next(m for m in sim.admin.markets() if not m["closed"])
        fill = sim.admin.inject_trade(wallets[0], market["token_ids"][0], "BUY", 3, 0.5)[0]
        positions = httpx.get(f"{sim.data_api_url}/positions", params={"user": wallets[0]}).json()
    with SimulatorProcess(config) as sim:
        assert fill in sim.admin.truth()["fills"]
        assert httpx.get(f"{sim.data_api_url}/positions", params={"user": wallets[0]}).json() == positions


def test_the_command_line_names_a_bad_state_file(tmp_path: Path) -> None:
    bad = tmp_path / "state.jsonl"
    bad.write_text("not a journal\n")
    done = subprocess.run(
        [sys.executable, "-m", "polymarket_pipeline.simulator", "--state-file", str(bad), "--wallets", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad} is not a simulator state file (bad first line)"
