"""Cloudflare's edge cache over HTTP: identical URLs get an old body, a moving ``end`` does not.

These tests run the simulator with its default cache (300 s on ``/trades`` and ``/v2/trades``),
as measured on the live feeds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator.conftest import small_config


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    config = small_config(seed=41, edge_cache_seconds=300.0)
    with SimulatorServer(config) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_cache(sim: SimulatorServer) -> Iterator[None]:
    sim.admin.set_edge_cache(seconds=300, routes=["/trades", "/v2/trades"])
    yield
    sim.faults.clear()


def _open_market_token(sim: SimulatorServer) -> str:
    return next(m for m in sim.model.markets if not m.closed).token_ids[0]


@pytest.mark.parametrize(
    ("path", "scoped"),
    [("/data/v2/trades", True), ("/data/v2/trades", False), ("/data/trades", True), ("/data/trades", False)],
)
def test_a_repeated_url_misses_a_new_fill_a_moving_end_sees_it(
    sim: SimulatorServer, http: httpx.Client, path: str, scoped: bool
) -> None:
    wallet = sim.model.wallets[3]
    params: dict[str, str | int] = {"limit": 5, **({"user": wallet} if scoped else {})}
    first = http.get(path, params=params)
    assert first.headers["cf-cache-status"] == "MISS"
    assert first.headers["cache-control"] == "public, max-age=300"
    fill = sim.model.inject_trade(wallet, _open_market_token(sim), "BUY", 4, 0.5)[0]
    again = http.get(path, params=params)
    assert again.headers["cf-cache-status"] == "HIT"
    assert again.headers["cache-control"] == "public, max-age=300"
    assert int(again.headers["age"]) >= 0
    assert again.content == first.content  # the new fill is not there
    assert fill["transaction_hash"] not in again.text
    moved = http.get(path, params={**params, "end": int(time.time()) + 60})
    assert moved.headers["cf-cache-status"] == "MISS"
    assert fill["transaction_hash"] in moved.text
    swapped = http.get(path, params={"limit": 5, "takerOnly": "true", **params})
    assert swapped.headers["cf-cache-status"] == "MISS"  # another query string, even if it means the same


def test_only_configured_routes_are_cached(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = sim.model.wallets[4]
    for _ in range(2):
        positions = http.get("/data/positions", params={"user": wallet})
        assert "cf-cache-status" not in positions.headers
        assert "cache-control" not in positions.headers
    sim.admin.set_edge_cache(routes=["/positions"])
    assert http.get("/data/positions", params={"user": wallet}).headers["cf-cache-status"] == "MISS"
    assert http.get("/data/positions", params={"user": wallet}).headers["cf-cache-status"] == "HIT"
    assert "cf-cache-status" not in http.get("/data/trades", params={"user": wallet}).headers
    sim.admin.set_edge_cache(seconds=0, routes=["/trades"])
    assert "cf-cache-status" not in http.get("/data/trades", params={"user": wallet}).headers
    assert sim.admin.edge_cache()["seconds"] == 0


def test_entries_expire_and_can_be_purged(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.admin.set_edge_cache(seconds=2)
    params: dict[str, Any] = {"user": sim.model.wallets[5], "limit": 3}
    assert http.get("/data/v2/trades", params=params).headers["cf-cache-status"] == "MISS"
    hit = http.get("/data/v2/trades", params=params)
    assert hit.headers["cf-cache-status"] == "HIT"
    assert hit.headers["cache-control"] == "public, max-age=2"
    time.sleep(2.1)
    assert http.get("/data/v2/trades", params=params).headers["cf-cache-status"] == "MISS"
    sim.admin.purge_edge_cache()
    assert http.get("/data/v2/trades", params=params).headers["cf-cache-status"] == "MISS"
    stats = sim.admin.edge_cache()
    assert stats["hits"] >= 1
    assert stats["entries"] == 1


def test_hits_are_logged_and_faults_still_fire(sim: SimulatorServer, http: httpx.Client) -> None:
    params: dict[str, Any] = {"user": sim.model.wallets[6]}
    since = time.time()
    http.get("/data/trades", params=params)
    http.get("/data/trades", params=params)
    sim.faults.add(FaultRule(kind="500", route="/trades", count=1))
    assert http.get("/data/trades", params=params).status_code == 500  # a scripted failure always fires
    assert http.get("/data/trades", params=params).headers["cf-cache-status"] == "HIT"
    log = [r for r in sim.log.records(since) if r.route == "/trades"]
    assert [(r.cache, r.status) for r in log] == [("MISS", 200), ("HIT", 200), ("", 500), ("HIT", 200)]


def test_cache_settings_at_start() -> None:
    config = small_config(seed=42, edge_cache_seconds=7, edge_cache_routes=("/v2/activity",))
    with SimulatorServer(config) as sim, httpx.Client(base_url=sim.base_url) as http:
        params: dict[str, Any] = {"user": sim.model.wallets[0]}
        assert "cf-cache-status" not in http.get("/data/v2/trades", params=params).headers
        http.get("/data/v2/activity", params=params)
        again = http.get("/data/v2/activity", params=params)
        assert (again.headers["cf-cache-status"], again.headers["cache-control"]) == (
            "HIT",
            "public, max-age=7",
        )


def test_a_fast_live_tape_is_seen_only_through_moving_urls(sim: SimulatorServer, http: httpx.Client) -> None:
    """~100 rows/s, like the live all-participant tape; a poller repeating its URL sees none of it."""
    static: dict[str, Any] = {"limit": 1000, "taker_only": "false"}
    before = http.get("/data/v2/trades", params=static).json()["data"]
    fills_before = sim.model.fill_count()
    started = time.monotonic()
    sim.admin.set_live_rate(35)
    time.sleep(1.5)
    sim.admin.set_live_rate(0)
    elapsed = time.monotonic() - started
    rate = (sim.model.fill_count() - fills_before) / elapsed
    assert rate >= 60, f"the live tape ran at {rate:.0f} rows/s"
    assert http.get("/data/v2/trades", params=static).json()["data"] == before
    moving = http.get("/data/v2/trades", params={**static, "end": int(time.time()) + 5}).json()["data"]
    assert moving != before
    assert len({r["transaction_hash"] for r in moving} - {r["transaction_hash"] for r in before}) >= 30
