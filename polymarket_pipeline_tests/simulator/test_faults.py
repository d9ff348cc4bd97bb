"""Every fault kind, as a client sees it over HTTP, and how rules match routes, APIs and wallets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator.conftest import small_config


@pytest.fixture(autouse=True)
def _clean_faults(sim: SimulatorServer) -> Iterator[None]:
    sim.faults.clear()
    yield
    sim.faults.clear()


def test_429_json_then_recovers(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = sim.model.wallets[0]
    sim.faults.add(FaultRule(kind="429", route="/trades", count=2, retry_after=2))
    statuses = []
    for _ in range(3):
        response = http.get("/data/trades", params={"user": wallet})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["retry-after"] == "2"
            assert set(response.json()) == {"error"}
    assert statuses == [429, 429, 200]


def test_429_on_v2_has_the_v2_error_shape(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="429", route="/v2/trades", retry_after=0.25))
    response = http.get("/data/v2/trades", params={"user": sim.model.wallets[0]})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0.25"
    body = response.json()
    assert (body["code"], body["retryable"], body["trace_id"]) == (
        "rate_limited",
        True,
        response.headers["x-trace-id"],
    )
    assert http.get("/data/trades", params={"user": sim.model.wallets[0]}).status_code == 200  # other route


def test_429_html_is_a_cloudflare_page(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="429_html", api="data", retry_after=3))
    response = http.get("/data/positions", params={"user": sim.model.wallets[0]})
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["retry-after"] == "3"
    assert "Cloudflare" in response.text
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/data/trades", "v1"),
        ("/data/v2/trades", "v2"),
        ("/clob/markets", "clob"),
        ("/gamma/markets", "gamma"),
    ],
)
def test_500_uses_each_api_error_shape(
    sim: SimulatorServer, http: httpx.Client, path: str, family: str
) -> None:
    sim.faults.add(FaultRule(kind="500"))
    response = http.get(path)
    assert response.status_code == 500
    body = response.json()
    if family == "v2":
        assert body["code"] == "internal"
        assert body["retryable"] is True
    else:
        assert set(body) == {"error"}


def test_502_is_html_from_the_edge(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="502", api="clob"))
    response = http.get(f"/clob/markets/{sim.model.markets[0].condition_id}")
    assert response.status_code == 502
    assert "502 Bad Gateway" in response.text
    assert http.get("/gamma/markets").status_code == 200  # api-scoped


def test_503_is_request_timeout_with_retry_after(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="503", retry_after=5))
    v2 = http.get("/data/v2/activity", params={"user": sim.model.wallets[0]})
    assert v2.status_code == 503
    assert v2.headers["retry-after"] == "5"
    assert v2.json()["code"] == "request_timeout"
    assert v2.json()["retryable"] is True
    v1 = http.get("/data/activity", params={"user": sim.model.wallets[0]})
    assert v1.status_code == 503
    assert v1.headers["retry-after"] == "5"
    assert set(v1.json()) == {"error"}


def test_hang_holds_the_connection_until_the_client_gives_up(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    sim.faults.add(FaultRule(kind="hang", route="/v2/positions", count=1, hang_seconds=60))
    since = time.time()
    with pytest.raises(httpx.ReadTimeout):
        http.get("/data/v2/positions", params={"user": sim.model.wallets[0]}, timeout=0.3)
    assert http.get("/data/v2/positions", params={"user": sim.model.wallets[0]}).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hung = [r for r in sim.log.records(since) if r.route == "/v2/positions"]
        if hung and hung[0].status == 499:
            break
        time.sleep(0.02)
    assert hung[0].status == 499  # the server noticed the client hanging up


def test_short_hang_ends_in_a_524(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="hang", api="gamma", hang_seconds=0.2))
    started = time.perf_counter()
    response = http.get("/gamma/markets")
    assert response.status_code == 524
    assert time.perf_counter() - started >= 0.2


def test_malformed_is_a_200_with_broken_json(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="malformed", route="/v2/trades", count=1))
    response = http.get("/data/v2/trades", params={"user": sim.model.wallets[0]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert http.get("/data/v2/trades", params={"user": sim.model.wallets[0]}).json()["data"] is not None


def test_latency_rule_delays_and_combines_with_a_failure(sim: SimulatorServer, http: httpx.Client) -> None:
    sim.faults.add(FaultRule(kind="latency", route="/markets/{condition_id}", latency_ms=250))
    sim.faults.add(FaultRule(kind="500", route="/markets/{condition_id}", count=1))
    url = f"/clob/markets/{sim.model.markets[0].condition_id}"
    started = time.perf_counter()
    assert http.get(url).status_code == 500
    assert http.get(url).status_code == 200
    assert time.perf_counter() - started >= 0.5
    quick = time.perf_counter()
    assert http.get("/clob/markets").status_code == 200  # template match only
    assert time.perf_counter() - quick < 0.25


def test_wallet_probability_and_count_matching(sim: SimulatorServer, http: httpx.Client) -> None:
    target, other = sim.model.wallets[:2]
    sim.faults.add(FaultRule(kind="500", wallet=target.upper().replace("0X", "0x")))
    assert http.get("/data/trades", params={"user": target}).status_code == 500
    assert http.get("/data/trades", params={"user": other}).status_code == 200
    sim.faults.clear()
    sim.faults.add(FaultRule(kind="500", probability=0.0))
    assert all(http.get("/data/value", params={"user": other}).status_code == 200 for _ in range(5))
    sim.faults.clear()
    sim.faults.add(FaultRule(kind="500", count=None, route="/value"))
    assert all(http.get("/data/value", params={"user": other}).status_code == 500 for _ in range(5))
    assert sim.faults.rules()[0]["fired"] == 5


def test_fault_rule_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultRule(kind="404")
    with pytest.raises(ValueError, match="api"):
        FaultRule(kind="500", api="nope")
    with pytest.raises(ValueError, match="probability"):
        FaultRule(kind="500", probability=2)


def test_global_latency_applies_to_every_api_request() -> None:
    with (
        SimulatorServer(small_config(seed=15, latency_ms=150)) as slow,
        httpx.Client(base_url=slow.base_url) as client,
    ):
        for path in ("/gamma/markets", "/clob/markets"):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            assert time.perf_counter() - started >= 0.15
        started = time.perf_counter()
        client.get("/_sim/health")
        assert time.perf_counter() - started < 0.15  # the admin plane is not slowed down
