"""CLOB market metadata through HTTP: the Market object, 404s, resolution flags and cursor paging."""

from __future__ import annotations

import base64

import httpx
import pytest

from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator import fields
from polymarket_pipeline_tests.simulator.conftest import small_config


def test_market_object_fields(sim: SimulatorServer, http: httpx.Client) -> None:
    market = sim.model.markets[0]
    body = http.get(f"/clob/markets/{market.condition_id}").json()
    assert set(body) == fields.CLOB_MARKET
    assert body["condition_id"] == market.condition_id
    assert [t["token_id"] for t in body["tokens"]] == list(market.token_ids)
    assert all(set(t) == fields.CLOB_TOKEN for t in body["tokens"])
    assert isinstance(body["tags"], list)
    assert all(isinstance(t, str) for t in body["tags"])
    assert set(body["rewards"]) == {"rates", "min_size", "max_spread"}


def test_unknown_market_is_404(http: httpx.Client) -> None:
    response = http.get(f"/clob/markets/0x{'ab' * 32}")
    assert response.status_code == 404
    assert response.json() == {"error": "market not found"}


def test_resolution_keeps_active_and_sets_closed_and_winner(sim: SimulatorServer, http: httpx.Client) -> None:
    market = next(m for m in sim.model.markets if not m.closed)
    before = http.get(f"/clob/markets/{market.condition_id}").json()
    assert (before["active"], before["closed"], before["accepting_orders"]) == (True, False, True)
    assert [t["winner"] for t in before["tokens"]] == [False, False]
    sim.model.resolve_market(market.condition_id, 1)
    after = http.get(f"/clob/markets/{market.condition_id}").json()
    assert (after["active"], after["closed"], after["accepting_orders"]) == (True, True, False)
    assert [(t["winner"], t["price"]) for t in after["tokens"]] == [(False, 0), (True, 1)]


def test_markets_pages_end_with_lte() -> None:
    with (
        SimulatorServer(small_config(seed=14, clob_page_size=5, n_markets=12)) as sim,
        httpx.Client(base_url=sim.base_url) as http,
    ):
        seen: list[str] = []
        cursor = ""
        pages = 0
        while cursor != "LTE=":
            body = http.get("/clob/markets", params={"next_cursor": cursor}).json()
            assert set(body) == fields.CLOB_PAGE
            assert body["count"] == len(body["data"])
            seen += [m["condition_id"] for m in body["data"]]
            cursor = body["next_cursor"]
            pages += 1
        assert pages == 3
        assert seen == [m.condition_id for m in sim.model.markets]
        assert base64.b64decode(http.get("/clob/markets").json()["next_cursor"]) == b"5"
        assert http.get("/clob/markets", params={"next_cursor": "LTE="}).json()["data"] == []
        assert http.get("/clob/markets", params={"next_cursor": "%%%"}).status_code == 400


@pytest.mark.parametrize("path", ["/clob/markets", "/clob/markets/0x00"])
def test_clob_errors_are_error_objects(http: httpx.Client, path: str) -> None:
    response = http.get(path, params={"next_cursor": "!!"})
    assert response.status_code in (400, 404)
    assert set(response.json()) == {"error"}
