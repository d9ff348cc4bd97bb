"""The v1 routes' measured quirks: ASC-only MERGE/SPLIT rows, per-route offset caps, shifting offsets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator.conftest import small_config


def test_merge_and_split_rows_come_only_with_ascending_sort(sim: SimulatorServer, http: httpx.Client) -> None:
    market = next(m for m in sim.model.markets if not m.closed)
    (wallet,) = sim.model.add_wallets(1, with_history=False)
    sim.model.split(wallet, market.condition_id, 20)
    sim.model.merge(wallet, market.condition_id, 5)
    sim.model.reward(wallet, 3.5)

    def types(**params: str) -> list[str]:
        rows = http.get("/data/activity", params={"user": wallet, **params}).json()
        return sorted(r["type"] for r in rows)

    assert types() == ["REWARD"]
    assert types(sortDirection="DESC") == ["REWARD"]
    assert types(type="MERGE") == []
    assert types(type="SPLIT,MERGE") == []
    assert types(sortDirection="ASC") == ["MERGE", "REWARD", "SPLIT"]
    assert types(type="MERGE", sortDirection="ASC") == ["MERGE"]
    assert types(sortBy="CASH", sortDirection="ASC") == ["MERGE", "REWARD", "SPLIT"]
    v2 = http.get("/data/v2/activity", params={"user": wallet}).json()["data"]
    assert sorted(r["type"] for r in v2) == ["MERGE", "REWARD", "SPLIT"]  # v2 has no such quirk


@pytest.mark.parametrize(
    ("path", "cap", "limit_cap"),
    [("/data/activity", 5_000, 500), ("/data/positions", 10_000, 500), ("/data/trades", 3_000, 10_000)],
)
def test_offset_and_limit_caps_per_route(
    sim: SimulatorServer, http: httpx.Client, path: str, cap: int, limit_cap: int
) -> None:
    wallet = sim.model.wallets[0]
    assert http.get(path, params={"user": wallet, "offset": cap, "limit": 500}).status_code == 200
    past = http.get(path, params={"user": wallet, "offset": cap + 1})
    assert past.status_code == 400
    assert set(past.json()) == {"error"}
    assert "offset" in past.json()["error"]
    assert http.get(path, params={"user": wallet, "limit": limit_cap}).status_code == 200
    assert http.get(path, params={"user": wallet, "limit": limit_cap + 1}).status_code == 400


def test_an_offset_walk_sees_a_row_twice_when_a_fill_arrives(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    """v1 pages are cut at request time from a newest-first list: a new fill shifts every offset."""
    wallet = sim.model.wallets[1]
    params: dict[str, Any] = {"user": wallet, "limit": 5, "takerOnly": "false"}
    first = http.get("/data/trades", params={**params, "offset": 0}).json()
    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(wallet, market.token_ids[0], "BUY", 2, 0.5)
    second = http.get("/data/trades", params={**params, "offset": 5}).json()
    assert len(first) == len(second) == 5
    assert second[0] == first[-1]  # the walk saw this row twice
    feed_first = http.get("/data/trades", params={"limit": 3}).json()
    sim.model.generate_trades(1)
    feed_second = http.get("/data/trades", params={"limit": 3, "offset": 3}).json()
    assert feed_first[-1] in feed_second


def test_v1_trades_can_repeat_one_page_past_an_offset() -> None:
    """The themis report: past offset 10,000 the same transactions came back page after page."""
    config = small_config(seed=17, v1_trades_repeat_offset=200)
    with SimulatorServer(config) as sim, httpx.Client(base_url=sim.base_url) as http:
        params: dict[str, Any] = {"limit": 100, "takerOnly": "false"}
        at = http.get("/data/trades", params={**params, "offset": 200}).json()
        past = [http.get("/data/trades", params={**params, "offset": o}).json() for o in (300, 400, 1_000)]
        before = http.get("/data/trades", params={**params, "offset": 100}).json()
        assert len(at) == 100
        assert all(page == at for page in past)
        assert before != at
