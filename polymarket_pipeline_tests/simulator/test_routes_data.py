"""Data API v1 and v2 through real HTTP: fields, paging, caps, windows, errors, and consistency with truth."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator import fields
from polymarket_pipeline_tests.simulator.conftest import small_config

BAD_USER = "0x1234"
V2_ROUTES = ["/data/v2/trades", "/data/v2/positions", "/data/v2/activity", "/data/v2/value"]
V1_ROUTES = ["/data/trades", "/data/positions", "/data/closed-positions", "/data/activity", "/data/value"]


def fill_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """A fill's natural key, from a v1 row, a v2 row or a ground-truth fill."""
    return (
        row.get("proxyWallet") or row.get("proxy_wallet") or row["wallet"],
        row.get("transactionHash") or row.get("transaction_hash"),
        row.get("asset") or row.get("token_id"),
        row["side"],
        row["size"],
        row["price"],
        row["timestamp"],
    )


def truth_fills(
    sim: SimulatorServer, wallet: str | None = None, taker_only: bool = True
) -> list[dict[str, Any]]:
    return [
        f
        for f in sim.model.ground_truth()["fills"]
        if (wallet is None or f["wallet"] == wallet) and (not taker_only or f["role"] == "taker")
    ]


def busiest_wallet(sim: SimulatorServer) -> str:
    return Counter(f["wallet"] for f in sim.model.ground_truth()["fills"]).most_common(1)[0][0]


def walk_v2(http: httpx.Client, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Follow next_cursor to the end, re-sending the same filters; returns rows and page count."""
    rows: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        response = http.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        rows += body["data"]
        cursor = body["pagination"]["next_cursor"]
        assert body["pagination"]["has_more"] is (cursor is not None)
        if cursor is None:
            return rows, pages


# ---------------------------------------------------------------------- trades
def test_v1_trades_fields_order_and_taker_only_default(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    rows = http.get("/data/trades", params={"user": wallet, "limit": 500}).json()
    assert rows
    assert all(set(r) == fields.V1_TRADE for r in rows)
    assert all(r["proxyWallet"] == wallet for r in rows)
    assert [r["timestamp"] for r in rows] == sorted((r["timestamp"] for r in rows), reverse=True)
    assert Counter(map(fill_key, rows)) == Counter(map(fill_key, truth_fills(sim, wallet)))
    everything = http.get("/data/trades", params={"user": wallet, "limit": 500, "takerOnly": "false"}).json()
    assert len(everything) > len(rows)
    assert Counter(map(fill_key, everything)) == Counter(map(fill_key, truth_fills(sim, wallet, False)))


def test_v1_trades_limit_clamp_and_offset_cap(sim: SimulatorServer, http: httpx.Client) -> None:
    total = len(truth_fills(sim, taker_only=False))
    assert total > sim.config.v1_max_page
    rows = http.get("/data/trades", params={"limit": 5000, "takerOnly": "false"}).json()
    assert len(rows) == sim.config.v1_max_page  # silently clamped
    assert http.get("/data/trades", params={"limit": 10_001}).status_code == 400
    at_cap = http.get("/data/trades", params={"offset": sim.config.v1_offset_cap})
    assert at_cap.status_code == 200
    past = http.get("/data/trades", params={"offset": sim.config.v1_offset_cap + 1})
    assert past.status_code == 400
    assert set(past.json()) == {"error"}


def test_v1_trades_offset_paging_is_contiguous(sim: SimulatorServer, http: httpx.Client) -> None:
    first = http.get("/data/trades", params={"limit": 50, "takerOnly": "false"}).json()
    second = http.get("/data/trades", params={"limit": 25, "offset": 25, "takerOnly": "false"}).json()
    assert second == first[25:]


def test_v1_feed_without_user_spans_wallets(sim: SimulatorServer, http: httpx.Client) -> None:
    rows = http.get("/data/trades", params={"limit": 200}).json()
    assert len({r["proxyWallet"] for r in rows}) > 1
    newest = sorted(truth_fills(sim), key=lambda f: (f["timestamp"], f["seq"]), reverse=True)[:200]
    assert [fill_key(r) for r in rows] == [fill_key(f) for f in newest]


def test_unknown_v2_route_is_a_v2_404(http: httpx.Client) -> None:
    response = http.get("/data/v2/holders", params={"condition": f"0x{'1' * 64}"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.headers["x-trace-id"] == response.json()["trace_id"]


def test_v1_filter_type_and_amount_come_together(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    assert http.get("/data/trades", params={"user": wallet, "filterType": "CASH"}).status_code == 400
    assert http.get("/data/trades", params={"user": wallet, "filterAmount": 5}).status_code == 400
    rows = http.get(
        "/data/trades",
        params={"user": wallet, "filterType": "CASH", "filterAmount": 50, "takerOnly": "false", "limit": 500},
    ).json()
    expected = [f for f in truth_fills(sim, wallet, False) if f["size"] * f["price"] >= 50]
    assert Counter(map(fill_key, rows)) == Counter(map(fill_key, expected))


def test_v2_trades_fields_envelope_and_trace_id(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    response = http.get("/data/v2/trades", params={"user": wallet, "limit": 5})
    assert response.status_code == 200
    assert response.headers["x-trace-id"]
    body = response.json()
    assert set(body) == {"data", "pagination"}
    assert set(body["pagination"]) == fields.V2_PAGINATION
    assert len(body["data"]) == 5
    assert all(set(r) == fields.V2_TRADE for r in body["data"])
    assert body["pagination"]["has_more"] is True
    assert isinstance(body["pagination"]["next_cursor"], str)


def test_v2_cursor_walk_returns_every_fill_exactly_once(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    expected = truth_fills(sim, wallet, taker_only=False)
    rows, pages = walk_v2(
        http, "/data/v2/trades", {"user": wallet, "taker_only": "false", "start": 1, "limit": 3}
    )
    assert pages == -(-len(expected) // 3)
    assert pages > 10
    assert Counter(map(fill_key, rows)) == Counter(map(fill_key, expected))
    keys = [(r["timestamp"]) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_v2_cursor_carries_page_size_and_is_stable_under_new_trades(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    wallet = busiest_wallet(sim)
    params: dict[str, Any] = {"user": wallet, "takerOnly": "false", "start": 1, "limit": 4}
    first = http.get("/data/v2/trades", params=params).json()
    market = next(m for m in sim.model.markets if not m.closed)
    sim.model.inject_trade(wallet, market.token_ids[0], "BUY", 3, 0.5)  # newer than the anchor
    second = http.get(
        "/data/v2/trades", params={**params, "limit": 999, "cursor": first["pagination"]["next_cursor"]}
    ).json()
    assert len(second["data"]) == 4  # limit is ignored when a cursor is sent
    assert second["pagination"]["offset"] == 4
    older = sorted(truth_fills(sim, wallet, False), key=lambda f: (f["timestamp"], f["seq"]), reverse=True)
    new_key = fill_key(older[0])
    assert new_key not in {fill_key(r) for r in second["data"]}
    assert [fill_key(r) for r in first["data"] + second["data"]] == [fill_key(f) for f in older[1:9]]


def test_v2_tampered_or_foreign_cursor_is_400(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    cursor = http.get("/data/v2/trades", params={"user": wallet, "limit": 2}).json()["pagination"][
        "next_cursor"
    ]
    tampered = cursor[:-3] + ("AAA" if cursor[-3:] != "AAA" else "BBB")
    response = http.get("/data/v2/trades", params={"user": wallet, "cursor": tampered})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == fields.V2_ERROR
    assert (body["code"], body["parameter"], body["retryable"]) == ("invalid_request", "cursor", False)
    assert body["trace_id"] == response.headers["x-trace-id"]
    activity_cursor = http.get("/data/v2/activity", params={"user": wallet, "limit": 1, "start": 1}).json()
    foreign = activity_cursor["pagination"]["next_cursor"]
    assert http.get("/data/v2/trades", params={"user": wallet, "cursor": foreign}).status_code == 400


@pytest.mark.parametrize("path", V2_ROUTES)
def test_v2_rejects_offset(sim: SimulatorServer, http: httpx.Client, path: str) -> None:
    response = http.get(path, params={"user": sim.model.wallets[0], "offset": 0})
    assert response.status_code == 400
    assert response.json()["parameter"] == "offset"


def test_v2_caps(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = sim.model.wallets[0]
    assert http.get("/data/v2/trades", params={"user": wallet, "limit": 1001}).status_code == 400
    assert http.get("/data/v2/trades", params={"user": wallet, "limit": 1000}).status_code == 200
    assert http.get("/data/v2/activity", params={"user": wallet, "limit": 1001}).status_code == 400
    assert http.get("/data/v2/positions", params={"user": wallet, "limit": 1001}).status_code == 400
    too_many = ",".join(f"0x{i:064x}" for i in range(21))
    response = http.get("/data/v2/trades", params={"user": wallet, "condition": too_many})
    assert response.status_code == 400
    assert response.json()["parameter"] == "condition"
    twenty = ",".join(f"0x{i:064x}" for i in range(20))
    assert http.get("/data/v2/trades", params={"user": wallet, "conditionId": twenty}).status_code == 200


def test_v2_accepts_camel_case_aliases(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    market = truth_fills(sim, wallet)[0]["condition_id"]
    snake = http.get(
        "/data/v2/trades", params={"user": wallet, "taker_only": "false", "condition": market, "start": 1}
    ).json()
    camel = http.get(
        "/data/v2/trades", params={"user": wallet, "takerOnly": "false", "conditionId": market, "start": 1}
    ).json()
    assert snake["data"] == camel["data"]
    assert snake["data"]
    assert {r["condition_id"] for r in snake["data"]} == {market}


@pytest.mark.parametrize("path", V1_ROUTES + V2_ROUTES)
def test_malformed_user_is_400_everywhere(http: httpx.Client, path: str) -> None:
    response = http.get(path, params={"user": BAD_USER})
    assert response.status_code == 400
    assert "error" in response.json()


def test_required_user_and_anchor_rules(sim: SimulatorServer, http: httpx.Client) -> None:
    for path in [
        "/data/positions",
        "/data/closed-positions",
        "/data/activity",
        "/data/value",
        "/data/v2/activity",
        "/data/v2/value",
        "/data/v2/positions",
    ]:
        assert http.get(path).status_code == 400, path
    markets = [m.condition_id for m in sim.model.markets[:2]]
    assert http.get("/data/v2/positions", params={"condition": ",".join(markets)}).status_code == 400
    holders = http.get("/data/v2/positions", params={"condition": markets[0], "limit": 1000}).json()["data"]
    assert holders
    assert {r["condition_id"] for r in holders} == {markets[0]}
    first = http.get("/data/v2/positions", params={"condition": markets[0], "limit": 1}).json()
    cursor = first["pagination"]["next_cursor"]
    assert cursor is not None
    assert http.get("/data/v2/positions", params={"cursor": cursor}).status_code == 400
    assert (
        http.get("/data/v2/positions", params={"cursor": cursor, "condition": markets[1]}).status_code == 400
    )
    assert (
        http.get("/data/v2/positions", params={"cursor": cursor, "condition": markets[0]}).status_code == 200
    )


# ---------------------------------------------------------------------- positions
def _expected_sizes(sim: SimulatorServer) -> dict[tuple[str, str], float]:
    """Replay the ground-truth ledger (fills, redeems, splits, merges, conversions); keep what shows."""
    truth = sim.model.ground_truth()
    held: dict[tuple[str, str], float] = defaultdict(float)
    for e in truth["ledger"]:
        held[(e["wallet"], e["asset"])] += e["delta"]
    archived = {t for m in truth["markets"] if m["archived"] for t in m["token_ids"]}
    return {k: round(v, 6) for k, v in held.items() if round(v, 6) > 0 and k[1] not in archived}


def test_positions_match_sizes_replayed_from_fills(sim: SimulatorServer, http: httpx.Client) -> None:
    expected = _expected_sizes(sim)
    v1: dict[tuple[str, str], float] = {}
    v2: dict[tuple[str, str], float] = {}
    for wallet in sim.model.wallets:
        for r in http.get("/data/positions", params={"user": wallet, "limit": 500}).json():
            assert set(r) == fields.V1_POSITION
            v1[(r["proxyWallet"], r["asset"])] = r["size"]
        for r in http.get("/data/v2/positions", params={"user": wallet, "limit": 1000}).json()["data"]:
            assert set(r) == fields.V2_POSITION
            v2[(r["proxy_wallet"], r["token_id"])] = r["current_size"]
    assert v1 == expected
    assert v2 == expected


def test_position_numbers_obey_their_identities(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    for r in http.get("/data/positions", params={"user": wallet}).json():
        assert r["currentValue"] == pytest.approx(r["size"] * r["curPrice"], abs=1e-5)
        rounding = r["size"] * 5e-5 + 1e-6  # avgPrice is printed to 4 decimals (recorded rows)
        assert r["initialValue"] == pytest.approx(r["size"] * r["avgPrice"], abs=rounding)
        assert r["cashPnl"] == pytest.approx(r["currentValue"] - r["initialValue"], abs=1e-5)
        assert isinstance(r["eventId"], str)
        dt.date.fromisoformat(r["endDate"])  # date-only
        assert r["oppositeAsset"] != r["asset"]
    for r in http.get("/data/v2/positions", params={"user": wallet}).json()["data"]:
        assert r["total_cost_usdc"] == pytest.approx(r["entry_cost_usdc"] + r["entry_fees_usdc"])
        assert r["total_pnl"] == pytest.approx(r["realized_pnl"] + r["unrealized_pnl"], abs=1e-6)
        assert r["unrealized_pnl"] == pytest.approx(r["current_value"] - r["entry_cost_usdc"], abs=1e-6)
        assert r["total_size"] >= r["current_size"] > 0
        dt.date.fromisoformat(r["end_date"])


def test_v1_positions_params(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    rows = http.get("/data/positions", params={"user": wallet, "limit": 500}).json()
    assert [r["size"] for r in rows] == sorted((r["size"] for r in rows), reverse=True)  # TOKENS DESC
    asc = http.get(
        "/data/positions", params={"user": wallet, "sortBy": "CURRENT", "sortDirection": "ASC"}
    ).json()
    assert [r["currentValue"] for r in asc] == sorted(r["currentValue"] for r in asc)
    big = http.get("/data/positions", params={"user": wallet, "sizeThreshold": 100}).json()
    assert {r["asset"] for r in big} == {r["asset"] for r in rows if r["size"] >= 100}
    assert http.get("/data/positions", params={"user": wallet, "limit": 501}).status_code == 400
    assert http.get("/data/positions", params={"user": wallet, "offset": 10_001}).status_code == 400
    market = rows[0]["conditionId"]
    only = http.get("/data/positions", params={"user": wallet, "market": market}).json()
    assert only
    assert {r["conditionId"] for r in only} == {market}
    assert (
        http.get("/data/positions", params={"user": wallet, "market": market, "eventId": 1}).status_code
        == 400
    )


def test_closed_positions(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = next(c["wallet"] for c in sim.model.ground_truth()["closes"] if c["reason"] == "manual_close")
    rows = http.get("/data/closed-positions", params={"user": wallet, "limit": 50}).json()
    assert rows
    assert all(set(r) == fields.V1_CLOSED_POSITION for r in rows)
    assert all(r["endDate"].endswith("T00:00:00Z") for r in rows)
    assert [r["realizedPnl"] for r in rows] == sorted((r["realizedPnl"] for r in rows), reverse=True)
    assert len(http.get("/data/closed-positions", params={"user": wallet}).json()) <= 10
    assert http.get("/data/closed-positions", params={"user": wallet, "limit": 51}).status_code == 400
    v2 = http.get(
        "/data/v2/positions",
        params={"user": wallet, "status": "CLOSED", "limit": 1000, "include_archived": "true"},
    ).json()["data"]
    assert {r["token_id"] for r in v2} == {r["asset"] for r in rows}
    assert all(r["status"] == "CLOSED" and r["current_size"] == 0 for r in v2)


def test_v2_position_statuses(sim: SimulatorServer, http: httpx.Client) -> None:
    truth = sim.model.ground_truth()
    resolved = next(m for m in truth["markets"] if m["closed"] and not m["archived"])
    holders = http.get(
        "/data/v2/positions", params={"condition": resolved["condition_id"], "limit": 1000}
    ).json()["data"]
    assert holders, "someone should still hold the unredeemed resolved market"
    for r in holders:
        assert r["redeemable"] is True
        won = r["token_id"] == resolved["winner_asset"]
        assert r["status"] == ("REDEEMABLE" if won else "REDEEMABLE_LOST")
        assert r["current_price"] == (1.0 if won else 0.0)
    wallet = holders[0]["proxy_wallet"]
    for status in ("REDEEMABLE", "REDEEMABLE_LOST", "CLOSED", "OPEN"):
        rows = http.get(
            "/data/v2/positions", params={"user": wallet, "status": status, "limit": 1000}
        ).json()["data"]
        if status == "OPEN":
            assert {r["status"] for r in rows} <= {"OPEN", "REDEEMABLE", "REDEEMABLE_LOST"}
        else:
            assert {r["status"] for r in rows} <= {status}
    assert http.get("/data/v2/positions", params={"user": wallet, "status": "NOPE"}).status_code == 400


def test_archived_positions_only_with_include_archived(sim: SimulatorServer, http: httpx.Client) -> None:
    truth = sim.model.ground_truth()
    hidden = truth["archived_positions"]
    assert hidden
    wallet = hidden[0]["wallet"]
    assets = {p["asset"] for p in hidden if p["wallet"] == wallet}
    default = http.get("/data/v2/positions", params={"user": wallet, "limit": 1000}).json()["data"]
    assert not assets & {r["token_id"] for r in default}
    v1 = http.get("/data/positions", params={"user": wallet, "limit": 500}).json()
    assert not assets & {r["asset"] for r in v1}
    shown = http.get(
        "/data/v2/positions", params={"user": wallet, "limit": 1000, "include_archived": "true"}
    ).json()["data"]
    archived_rows = [r for r in shown if r["token_id"] in assets]
    assert archived_rows
    assert all(r["archived"] for r in archived_rows)


def test_value_shapes(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    v1 = http.get("/data/value", params={"user": wallet}).json()
    assert isinstance(v1, list)
    assert set(v1[0]) == {"user", "value"}
    assert v1[0]["user"] == wallet
    positions = http.get("/data/positions", params={"user": wallet, "limit": 500, "sizeThreshold": 0}).json()
    assert v1[0]["value"] == pytest.approx(sum(p["currentValue"] for p in positions), abs=1e-4)
    v2 = http.get("/data/v2/value", params={"user": wallet}).json()
    assert v2 == {"data": {"proxy_wallet": wallet, "value": v1[0]["value"]}}


# ---------------------------------------------------------------------- activity
def test_activity_rows_and_redeems(sim: SimulatorServer, http: httpx.Client) -> None:
    truth = sim.model.ground_truth()
    redeem = next(a for a in truth["activity"] if a["type"] == "REDEEM")
    wallet = redeem["wallet"]
    v1 = http.get("/data/activity", params={"user": wallet, "limit": 500}).json()
    assert v1
    assert all(set(r) == fields.V1_ACTIVITY for r in v1)
    v1_redeems = [r for r in v1 if r["type"] == "REDEEM"]
    assert v1_redeems
    assert all(r["price"] == 0 and r["side"] == "" for r in v1_redeems)
    expected = [a for a in truth["activity"] if a["wallet"] == wallet]
    assert len(v1) == len([a for a in expected if a["type"] not in ("SPLIT", "MERGE")])  # ASC only
    only = http.get("/data/activity", params={"user": wallet, "type": "REDEEM"}).json()
    assert {r["type"] for r in only} == {"REDEEM"}
    assert len(only) == len(v1_redeems)
    rows, _ = walk_v2(http, "/data/v2/activity", {"user": wallet, "start": 1, "limit": 7})
    assert rows
    assert all(set(r) == fields.V2_ACTIVITY for r in rows)
    assert Counter((r["transaction_hash"], r["token_id"], r["type"], r["size"]) for r in rows) == Counter(
        (a["transaction_hash"], a["asset"], a["type"], a["size"]) for a in expected
    )


def test_losing_redeem_has_zero_usdc_and_rows_share_a_tx(sim: SimulatorServer, http: httpx.Client) -> None:
    market = next(m for m in sim.model.markets if not m.closed and m.index > 0)
    wallet, maker = sim.model.add_wallets(2, with_history=False)
    sim.model.inject_trade(wallet, market.token_ids[0], "BUY", 10, 0.4, makers=[maker])
    sim.model.inject_trade(wallet, market.token_ids[1], "BUY", 4, 0.6, makers=[maker])
    sim.model.resolve_market(market.condition_id, 1)
    sim.model.redeem(wallet, market.condition_id)
    rows = http.get("/data/v2/activity", params={"user": wallet, "type": "REDEEM"}).json()["data"]
    assert sorted((r["size"], r["usdc_size"]) for r in rows) == [(4.0, 4.0), (10.0, 0.0)]
    assert len({r["transaction_hash"] for r in rows}) == 1
    assert all(r["price"] == 0 and r["side"] == "" for r in rows)


def test_v2_activity_ascending_walk_binds_direction(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    rows, pages = walk_v2(
        http, "/data/v2/activity", {"user": wallet, "start": 1, "limit": 5, "sort_direction": "ASC"}
    )
    assert pages > 2
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps)
    first = http.get(
        "/data/v2/activity", params={"user": wallet, "start": 1, "limit": 5, "sort_direction": "ASC"}
    ).json()
    flipped = http.get(
        "/data/v2/activity",
        params={
            "user": wallet,
            "start": 1,
            "sort_direction": "DESC",
            "cursor": first["pagination"]["next_cursor"],
        },
    ).json()
    assert flipped["data"] == rows[5:10]


# ---------------------------------------------------------------------- time windows
@pytest.fixture(scope="module")
def old_sim() -> Iterator[SimulatorServer]:
    """History that ended four years ago, plus nothing recent until a test injects it."""
    four_years_ago = int(time.time()) - 4 * 365 * 86_400
    with SimulatorServer(small_config(seed=12, start_time=four_years_ago, history_days=60)) as server:
        yield server


def test_start_one_means_full_history(old_sim: SimulatorServer) -> None:
    wallet = busiest_wallet(old_sim)
    market = next(m for m in old_sim.model.markets if not m.closed)
    recent = old_sim.model.inject_trade(wallet, market.token_ids[0], "BUY", 2, 0.5)[0]
    with httpx.Client(base_url=old_sim.base_url) as http:
        default = http.get("/data/v2/trades", params={"user": wallet, "limit": 1000}).json()["data"]
        assert [fill_key(r) for r in default] == [fill_key(recent)]
        zero = http.get("/data/v2/trades", params={"user": wallet, "limit": 1000, "start": 0}).json()["data"]
        assert zero == default
        full = http.get("/data/v2/trades", params={"user": wallet, "limit": 1000, "start": 1}).json()["data"]
        assert Counter(map(fill_key, full)) == Counter(map(fill_key, truth_fills(old_sim, wallet)))
        target = full[len(full) // 2]["timestamp"]
        exact = http.get("/data/v2/trades", params={"user": wallet, "start": target, "end": target}).json()
        assert exact["data"]
        assert {r["timestamp"] for r in exact["data"]} == {target}
        v1 = http.get("/data/trades", params={"user": wallet, "limit": 1000, "start": 10**10}).json()
        assert len(v1) == len(full)  # v1 has no start/end: ignored
        feed = http.get("/data/v2/trades", params={"limit": 1000, "start": 1}).json()["data"]
        assert [fill_key(r) for r in feed] == [fill_key(recent)]  # start/end ignored without user


def test_bare_feed_serves_current_and_previous_month(http: httpx.Client) -> None:
    with (
        SimulatorServer(small_config(seed=13, history_days=75, start_time=None)) as long_sim,
        httpx.Client(base_url=long_sim.base_url) as client,
    ):
        rows, _ = walk_v2(client, "/data/v2/trades", {"limit": 1000})
        today = dt.datetime.now(dt.UTC)
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        floor = int(dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp())
        expected = [f for f in truth_fills(long_sim) if f["timestamp"] >= floor]
        assert len(expected) < len(truth_fills(long_sim))
        assert Counter(map(fill_key, rows)) == Counter(map(fill_key, expected))


def test_start_and_end_window_on_v2_activity(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = busiest_wallet(sim)
    everything = http.get("/data/v2/activity", params={"user": wallet, "start": 1, "limit": 1000}).json()[
        "data"
    ]
    lo, hi = everything[-1]["timestamp"], everything[len(everything) // 2]["timestamp"]
    window = http.get(
        "/data/v2/activity", params={"user": wallet, "start": lo, "end": hi, "limit": 1000}
    ).json()["data"]
    assert window == [r for r in everything if lo <= r["timestamp"] <= hi]


def test_config_sets_offset_cap() -> None:
    config = SimulatorConfig(seed=1, n_wallets=3, n_markets=3, trades_per_wallet=2, v1_offset_cap=10)
    with SimulatorServer(config) as small, httpx.Client(base_url=small.base_url) as client:
        assert client.get("/data/trades", params={"offset": 10}).status_code == 200
        assert client.get("/data/trades", params={"offset": 11}).status_code == 400
