"""Rate limits: Polymarket's published 10 s windows, answered by 429 + Retry-After when enforced."""

from __future__ import annotations

import time

import httpx

from polymarket_pipeline.simulator.limits import DEFAULT_LIMITS, RateLimiter
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator.conftest import small_config


def test_published_limits() -> None:
    assert DEFAULT_LIMITS["data"] == 1000
    assert (DEFAULT_LIMITS["data:/trades"], DEFAULT_LIMITS["data:/positions"]) == (200, 150)
    assert DEFAULT_LIMITS["data:/closed-positions"] == 150
    assert (DEFAULT_LIMITS["gamma"], DEFAULT_LIMITS["gamma:/markets"]) == (4000, 300)
    assert DEFAULT_LIMITS["clob"] == 9000


def test_sliding_window_and_wait() -> None:
    limiter = RateLimiter({"data:/trades": 3}, window_seconds=0.3, enabled=True)
    assert [limiter.hit("data", "/trades") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("data", "/trades")
    assert wait is not None
    assert 0 < wait <= 0.3
    assert limiter.hit("data", "/v2/trades") is not None  # v1 and v2 share the window
    assert limiter.hit("data", "/positions") is None  # another route's window
    time.sleep(0.32)
    assert limiter.hit("data", "/trades") is None
    assert RateLimiter(enabled=False).hit("data", "/trades") is None


def test_general_window_covers_every_route_of_an_api() -> None:
    limiter = RateLimiter({"gamma": 2}, enabled=True)
    assert limiter.hit("gamma", "/markets") is None
    assert limiter.hit("gamma", "/events") is None
    assert limiter.hit("gamma", "/markets") is not None
    assert limiter.hit("clob", "/markets") is None


def test_enforced_limits_answer_429_with_retry_after() -> None:
    config = small_config(seed=16, enforce_limits=True, rate_limits={"data:/trades": 4})
    with SimulatorServer(config) as sim, httpx.Client(base_url=sim.base_url) as http:
        wallet = sim.model.wallets[0]
        statuses = [http.get("/data/trades", params={"user": wallet}).status_code for _ in range(4)]
        assert statuses == [200] * 4
        v1 = http.get("/data/trades", params={"user": wallet})
        assert v1.status_code == 429
        assert set(v1.json()) == {"error"}
        assert 1 <= int(v1.headers["retry-after"]) <= 10
        v2 = http.get("/data/v2/trades", params={"user": wallet})
        assert v2.status_code == 429
        assert v2.json()["code"] == "rate_limited"
        assert int(v2.headers["retry-after"]) >= 1
        assert http.get("/data/positions", params={"user": wallet}).status_code == 200
        sim.admin.set_limits(enforce=False)
        assert http.get("/data/trades", params={"user": wallet}).status_code == 200
