"""Gamma /markets through HTTP: filters, the closed=false default, JSON-in-string fields, tags, errors."""

from __future__ import annotations

import json
import re

import httpx

from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator import fields


def test_fields_and_json_encoded_strings(sim: SimulatorServer, http: httpx.Client) -> None:
    rows = http.get("/gamma/markets", params={"limit": 100}).json()
    assert rows
    for row in rows:
        assert fields.GAMMA_MARKET_ALWAYS <= set(row) <= fields.GAMMA_MARKET_DOCUMENTED
        assert isinstance(row["outcomes"], str)
        assert len(json.loads(row["outcomes"])) == 2
        assert all(isinstance(p, str) for p in json.loads(row["outcomePrices"]))
        market = sim.model.market(row["conditionId"])
        assert market is not None
        assert json.loads(row["clobTokenIds"]) == list(market.token_ids)
        assert "tags" not in row
    assert any("volume" not in row for row in rows), "some rows carry no volume/liquidity"
    assert any("volume" in row and isinstance(row["volume"], str) for row in rows)


def test_closed_defaults_to_false(sim: SimulatorServer, http: httpx.Client) -> None:
    closed = [m for m in sim.model.markets if m.closed]
    assert closed
    ids = [m.condition_id for m in closed]
    assert http.get("/gamma/markets", params={"condition_ids": ids}).json() == []
    found = http.get("/gamma/markets", params={"condition_ids": ids, "closed": "true"}).json()
    assert sorted(r["conditionId"] for r in found) == sorted(ids)
    for row in found:
        assert row["closed"] is True
        market = sim.model.market(row["conditionId"])
        assert market is not None
        if market.legacy:  # 2022-23 markets predate UMA statuses (nautilus legacy payloads)
            assert "umaResolutionStatus" not in row
            assert row["umaResolutionStatuses"] == "[]"
        else:
            assert row["umaResolutionStatus"] == "resolved"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00", row["closedTime"])
        prices = json.loads(row["outcomePrices"])
        assert prices[market.winner_index or 0] == "1"
        assert sorted(prices) == ["0", "1"]
    open_rows = http.get("/gamma/markets", params={"limit": 100}).json()
    assert all(r["closed"] is False for r in open_rows)
    assert len(open_rows) == len(sim.model.markets) - len(closed)


def test_condition_ids_repeated_and_csv(sim: SimulatorServer, http: httpx.Client) -> None:
    ids = [m.condition_id for m in sim.model.markets if not m.closed][:3]
    repeated = http.get("/gamma/markets", params=[("condition_ids", i) for i in ids]).json()
    csv = http.get("/gamma/markets", params={"condition_ids": ",".join(ids)}).json()
    assert sorted(r["conditionId"] for r in repeated) == sorted(ids)
    assert repeated == csv


def test_other_filters_and_paging(sim: SimulatorServer, http: httpx.Client) -> None:
    market = next(m for m in sim.model.markets if not m.closed)
    by_id = http.get("/gamma/markets", params={"id": market.gamma_id}).json()
    by_slug = http.get("/gamma/markets", params={"slug": market.slug}).json()
    by_token = http.get("/gamma/markets", params={"clob_token_ids": market.token_ids[1]}).json()
    assert [r["conditionId"] for r in by_id + by_slug + by_token] == [market.condition_id] * 3
    assert by_id[0]["id"] == str(market.gamma_id)
    everything = http.get("/gamma/markets", params={"limit": 100}).json()
    page = http.get("/gamma/markets", params={"limit": 2, "offset": 1}).json()
    assert page == everything[1:3]
    assert len(http.get("/gamma/markets").json()) == min(20, len(everything))


def test_tags_only_with_include_tag(sim: SimulatorServer, http: httpx.Client) -> None:
    market = next(m for m in sim.model.markets if not m.closed)
    row = http.get("/gamma/markets", params={"id": market.gamma_id, "include_tag": "true"}).json()[0]
    assert [t["label"] for t in row["tags"]] == list(market.tags)
    assert all({"id", "label", "slug"} <= set(t) for t in row["tags"])
    assert "category" not in row  # current markets classify through events and tags


def test_validation_errors_are_422(http: httpx.Client) -> None:
    for params in (
        {"limit": "ten"},
        {"closed": "maybe"},
        {"id": "abc"},
        {"condition_ids": ",".join(f"0x{i:064x}" for i in range(101))},
    ):
        response = http.get("/gamma/markets", params=params)
        assert response.status_code == 422, params
        body = response.json()
        assert body["type"] == "validation error"
        assert body["error"]
