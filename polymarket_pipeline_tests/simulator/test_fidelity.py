"""What the simulator serves, checked against responses recorded from the live APIs.

Each test loads the real file (``real.load``) and compares key sets and JSON value types with
what comes over HTTP, then checks the values the real rows show: degraded feed rows, neg-risk
redeems, rewards and rebates, winnerless and blank-token markets, categories, tails and fees.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator import fields
from polymarket_pipeline_tests.simulator.conftest import small_config
from polymarket_pipeline_tests.simulator.real import assert_same_shape, load, shape
from polymarket_pipeline_tests.simulator.test_routes_data import busiest_wallet

UNLABELED = 999


def _truth(sim: SimulatorServer) -> dict[str, Any]:
    return sim.model.ground_truth()


def _open_standalone(sim: SimulatorServer) -> list[Any]:
    return [m for m in sim.model.markets if not m.closed and not m.neg_risk and not m.legacy]


# ---------------------------------------------------------------------- trades
def test_v1_trade_rows_have_the_real_shape(sim: SimulatorServer, http: httpx.Client) -> None:
    real = load("smart_money/trades.json")
    wallet = busiest_wallet(sim)
    scoped = http.get("/data/trades", params={"user": wallet, "limit": 20}).json()
    feed = http.get("/data/trades", params={"limit": 20}).json()
    assert scoped
    assert feed
    for row in scoped + feed:
        assert_same_shape(row, real[0])


def test_v2_trades_envelope_has_the_captured_shape(sim: SimulatorServer, http: httpx.Client) -> None:
    real = load("nautilus/v2_data_api_trades_captured_response.json")
    body = http.get("/data/v2/trades", params={"user": busiest_wallet(sim), "limit": 3}).json()
    assert set(body) == set(real)
    assert set(body["pagination"]) == set(real["pagination"])
    for row in body["data"]:
        assert_same_shape(row, real["data"][0])


def test_unscoped_feeds_serve_999_and_empty_event_slugs(sim: SimulatorServer, http: httpx.Client) -> None:
    """Both feeds without ``user`` degrade every row by default; per-wallet reads and /activity do not."""
    market = _open_standalone(sim)[0]
    wallet = sim.model.wallets[0]
    fill = sim.model.inject_trade(wallet, market.token_ids[1], "BUY", 3, 0.5)[0]
    assert fill["feed_degraded"] is True
    v1 = http.get("/data/trades", params={"limit": 50}).json()
    v2 = http.get("/data/v2/trades", params={"limit": 50}).json()["data"]
    assert v1[0]["transactionHash"] == v2[0]["transaction_hash"] == fill["transaction_hash"]
    assert {(r["outcomeIndex"], r["eventSlug"]) for r in v1} == {(UNLABELED, "")}
    assert {(r["outcome_index"], r["event_slug"]) for r in v2} == {(UNLABELED, "")}
    scoped_v1 = http.get("/data/trades", params={"user": wallet, "limit": 1}).json()[0]
    scoped_v2 = http.get("/data/v2/trades", params={"user": wallet, "limit": 1}).json()["data"][0]
    activity = http.get("/data/v2/activity", params={"user": wallet, "limit": 1}).json()["data"][0]
    assert (scoped_v1["outcomeIndex"], scoped_v1["eventSlug"]) == (1, market.event_slug)
    assert (scoped_v2["outcome_index"], scoped_v2["event_slug"]) == (1, market.event_slug)
    assert (activity["outcome_index"], activity["event_slug"]) == (1, market.event_slug)


def test_a_partly_degraded_feed_matches_the_truth_flags() -> None:
    with (
        SimulatorServer(small_config(seed=31, feed_degraded_fraction=0.5)) as sim,
        httpx.Client(base_url=sim.base_url) as http,
    ):
        fills = sorted(
            sim.model.ground_truth()["fills"], key=lambda f: (f["timestamp"], f["seq"]), reverse=True
        )
        rows = http.get("/data/trades", params={"limit": 1000, "takerOnly": "false"}).json()
        assert len(rows) == 1000
        served = [(r["transactionHash"], r["size"], r["outcomeIndex"] == UNLABELED) for r in rows]
        expected = [(f["transaction_hash"], f["size"], f["feed_degraded"]) for f in fills[:1000]]
        assert served == expected
        assert 0 < sum(d for _, _, d in served) < len(served)
        assert all(r["eventSlug"] == "" for r in rows if r["outcomeIndex"] == UNLABELED)
        assert all(r["eventSlug"] for r in rows if r["outcomeIndex"] != UNLABELED)


def test_prices_keep_their_float_tails(sim: SimulatorServer, http: httpx.Client) -> None:
    tailed = [f for f in _truth(sim)["fills"] if round(f["price"], 4) != f["price"]]
    assert tailed, "some fills should carry a price tail like 0.4899999951"
    fill = tailed[0]
    rows = http.get(
        "/data/trades", params={"user": fill["wallet"], "limit": 1000, "takerOnly": "false"}
    ).json()
    served = next(
        r for r in rows if r["transactionHash"] == fill["transaction_hash"] and r["size"] == fill["size"]
    )
    assert served["price"] == fill["price"]  # bit for bit
    assert len(repr(served["price"])) > 6


# ---------------------------------------------------------------------- activity
def test_trade_activity_rows_have_the_real_shape_and_fees(sim: SimulatorServer, http: httpx.Client) -> None:
    real = next(r for r in load("smart_money/activity_all.json") if r["type"] == "TRADE")
    fill = next(f for f in _truth(sim)["fills"] if f["fee"] > 0)
    rows = http.get("/data/activity", params={"user": fill["wallet"], "type": "TRADE", "limit": 500}).json()
    for row in rows:
        assert_same_shape(row, real)
    served = next(
        r for r in rows if r["transactionHash"] == fill["transaction_hash"] and r["size"] == fill["size"]
    )
    assert served["usdcSize"] == fill["usdc_size"]
    assert served["usdcSize"] != round(served["size"] * served["price"], 6)  # fees: never recompute


@pytest.mark.parametrize("kind", ["REWARD", "MAKER_REBATE", "TAKER_REBATE"])
def test_rewards_and_rebates_have_no_market(sim: SimulatorServer, http: httpx.Client, kind: str) -> None:
    real = next(r for r in load("smart_money/activity_all.json") if r["type"] == kind)
    wallet = sim.model.wallets[2]
    made = sim.admin.reward(wallet, 12.3456, kind=kind)
    assert [(a["type"], a["condition_id"], a["asset"], a["outcome_index"]) for a in made] == [
        (kind, "", "", UNLABELED)
    ]
    v1 = http.get("/data/activity", params={"user": wallet, "type": kind}).json()
    assert v1
    for row in v1:
        assert_same_shape(row, real)
        blank = {
            k: row[k]
            for k in ("conditionId", "asset", "outcome", "title", "slug", "icon", "eventSlug", "side")
        }
        assert set(blank.values()) == {""}
        assert (row["price"], row["outcomeIndex"], row["size"]) == (0, UNLABELED, row["usdcSize"])
    v2 = http.get("/data/v2/activity", params={"user": wallet, "type": kind}).json()["data"]
    assert {(r["condition_id"], r["token_id"], r["outcome_index"]) for r in v2} == {("", "", UNLABELED)}
    assert set(v2[0]) == fields.V2_ACTIVITY


@pytest.fixture(scope="module")
def open_event_sim() -> Iterator[SimulatorServer]:
    """A history whose neg-risk event (4 markets) is still open."""
    with SimulatorServer(small_config(seed=16)) as server:
        yield server


@pytest.fixture(scope="module")
def open_event_http(open_event_sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=open_event_sim.base_url, timeout=10.0) as client:
        yield client


def test_neg_risk_redeems_are_condition_rows_sharing_a_transaction(
    open_event_sim: SimulatorServer, open_event_http: httpx.Client
) -> None:
    sim, http = open_event_sim, open_event_http
    real = load("smart_money/activity.json")
    event = next(e for e in sim.admin.events() if len(e["condition_ids"]) >= 3)
    won, lost, _ = event["condition_ids"][:3]
    wallet, maker = sim.model.add_wallets(2, with_history=False)
    win_market, lose_market = sim.model.market(won), sim.model.market(lost)
    assert win_market is not None
    assert lose_market is not None
    sim.model.inject_trade(wallet, win_market.token_ids[0], "BUY", 10, 0.4, makers=[maker])
    sim.model.inject_trade(wallet, lose_market.token_ids[0], "BUY", 6, 0.3, makers=[maker])
    sim.admin.resolve_event(event["event_id"], won)
    rows = sim.admin.redeem(wallet, event["condition_ids"])
    assert len(rows) == 2
    assert len({r["transaction_hash"] for r in rows}) == 1
    served = http.get("/data/activity", params={"user": wallet, "type": "REDEEM"}).json()
    assert len(served) == 2
    for row in served:
        assert_same_shape(row, real[0])
        assert (row["asset"], row["outcome"], row["outcomeIndex"], row["price"], row["side"]) == (
            "",
            "",
            UNLABELED,
            0,
            "",
        )
        assert row["title"]
        assert row["eventSlug"] == win_market.event_slug
    assert sorted((r["conditionId"], r["size"], r["usdcSize"]) for r in served) == sorted(
        [(won, 10.0, 10.0), (lost, 0.0, 0.0)]
    )
    closes = {(c["asset"], c["reason"]) for c in _truth(sim)["closes"] if c["wallet"] == wallet}
    assert closes == {(win_market.token_ids[0], "redeemed"), (lose_market.token_ids[0], "redeemed")}


def test_history_redeems_of_neg_risk_markets_are_condition_rows(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    truth = _truth(sim)
    neg_risk = set(truth["neg_risk_markets"])
    redeems = [a for a in truth["activity"] if a["type"] == "REDEEM" and a["condition_id"] in neg_risk]
    assert redeems, "the seeded history resolves its neg-risk event and some holders redeem"
    assert {(a["asset"], a["outcome_index"], a["size"] == a["usdc_size"]) for a in redeems} == {
        ("", 999, True)
    }
    wallet = redeems[0]["wallet"]
    served = http.get("/data/v2/activity", params={"user": wallet, "type": "REDEEM", "start": 1}).json()[
        "data"
    ]
    mine = [a for a in truth["activity"] if a["wallet"] == wallet and a["type"] == "REDEEM"]
    assert sorted(
        (r["transaction_hash"], r["condition_id"], r["token_id"], r["size"]) for r in served
    ) == sorted((a["transaction_hash"], a["condition_id"], a["asset"], a["size"]) for a in mine)


def test_neg_risk_markets_are_flagged_everywhere(sim: SimulatorServer, http: httpx.Client) -> None:
    truth = _truth(sim)
    event = truth["events"][0]
    assert event["neg_risk"]
    assert len(event["condition_ids"]) >= 3
    assert set(event["condition_ids"]) <= set(truth["neg_risk_markets"])
    clob = [http.get(f"/clob/markets/{cid}").json() for cid in event["condition_ids"]]
    assert all(m["neg_risk"] for m in clob)
    assert {m["neg_risk_market_id"] for m in clob} == {event["neg_risk_market_id"]}
    assert len({m["neg_risk_request_id"] for m in clob}) == len(clob)
    gamma = http.get(
        "/gamma/markets", params={"condition_ids": ",".join(event["condition_ids"]), "closed": "false"}
    ).json()
    gamma += http.get(
        "/gamma/markets", params={"condition_ids": ",".join(event["condition_ids"]), "closed": "true"}
    ).json()
    assert len(gamma) == len(event["condition_ids"])
    assert all(g["negRisk"] and g["events"][0]["slug"] == event["slug"] for g in gamma)
    holder = next(p for p in truth["positions"] if p["condition_id"] in event["condition_ids"])
    v1 = http.get(
        "/data/positions", params={"user": holder["wallet"], "market": holder["condition_id"]}
    ).json()
    assert v1
    assert all(r["negativeRisk"] for r in v1)
    others = http.get("/data/positions", params={"user": holder["wallet"], "limit": 500}).json()
    assert all(not r["negativeRisk"] for r in others if r["conditionId"] not in event["condition_ids"])


# ---------------------------------------------------------------------- positions and value
def test_v1_positions_and_closed_positions_have_the_real_shape(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    real = load("pscanner/positions.json")
    real_closed = load("pscanner/closed_positions.json")
    truth = _truth(sim)
    wallet = busiest_wallet(sim)
    rows = http.get("/data/positions", params={"user": wallet, "limit": 500}).json()
    assert rows
    for row in rows:
        assert_same_shape(row, real[0])
    closed = http.get("/data/closed-positions", params={"user": wallet, "limit": 50}).json()
    assert closed
    for row in closed:
        assert_same_shape(row, real_closed[0])
        assert row["endDate"].endswith("T00:00:00Z")
    loser = next(
        p for p in truth["positions"] if p["status"] == "REDEEMABLE_LOST" and p["size"] >= 1
    )  # a resolved loser stays listed (smart_money/positions.json)
    real_loser = load("smart_money/positions.json")[0]
    row = next(
        r
        for r in http.get("/data/positions", params={"user": loser["wallet"], "limit": 500}).json()
        if r["asset"] == loser["asset"]
    )
    assert_same_shape(row, real_loser)
    assert (row["curPrice"], row["currentValue"], row["redeemable"]) == (
        real_loser["curPrice"],
        real_loser["currentValue"],
        real_loser["redeemable"],
    )


def test_v2_positions_cover_the_documented_example(sim: SimulatorServer, http: httpx.Client) -> None:
    real = load("docs/v2_docs_overview_positions_example.json")
    body = http.get("/data/v2/positions", params={"user": busiest_wallet(sim), "limit": 5}).json()
    assert set(body["pagination"]) == set(real["pagination"])
    trimmed = real["data"][0]  # the docs trim row fields: ours must include theirs, same types
    for row in body["data"]:
        assert {k: shape(row)[k] for k in trimmed} == shape(trimmed)
        assert row["total_cost_usdc"] == pytest.approx(
            row["entry_cost_usdc"] + row["entry_fees_usdc"], abs=1e-6
        )


def test_value_bodies_match_the_docs(sim: SimulatorServer, http: httpx.Client) -> None:
    real_v1 = load("docs/v1_value_docs_example.json")
    real_v2 = load("docs/v2_value_docs_example.json")
    wallet = busiest_wallet(sim)
    v1 = http.get("/data/value", params={"user": wallet}).json()
    v2 = http.get("/data/v2/value", params={"user": wallet}).json()
    assert [shape(r) for r in v1] == [shape(r) for r in real_v1]
    assert set(v2) == set(real_v2)
    assert shape(v2["data"]) == shape(real_v2["data"])
    assert v2["data"] == {"proxy_wallet": wallet, "value": v1[0]["value"]}


# ---------------------------------------------------------------------- markets
def _clob_pages(http: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = ""
    while cursor != "LTE=":
        body = http.get("/clob/markets", params={"next_cursor": cursor}).json()
        rows += body["data"]
        cursor = body["next_cursor"]
    return rows


def test_clob_market_has_the_real_shape(sim: SimulatorServer, http: httpx.Client) -> None:
    real = load("nautilus/clob_market_closed_binary_accepting_false.json")
    for market in sim.model.markets[:3]:
        body = http.get(f"/clob/markets/{market.condition_id}").json()
        assert_same_shape(body, real)
        assert set(body["tokens"][0]) == set(real["tokens"][0])
        assert set(body["rewards"]) == set(real["rewards"])


def test_winnerless_resolutions_settle_prices_without_a_winner_flag(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    truth = _truth(sim)
    assert truth["winnerless_markets"], "legacy resolutions mostly carry no winner flag"
    for cid in truth["winnerless_markets"]:
        market = sim.model.market(cid)
        assert market is not None
        assert market.winner_index is not None
        body = http.get(f"/clob/markets/{cid}").json()
        assert (body["closed"], body["active"]) == (True, True)
        assert [t["winner"] for t in body["tokens"]] == [False, False]
        assert [t["price"] for t in body["tokens"]] == [int(i == market.winner_index) for i in (0, 1)]
        gamma = http.get("/gamma/markets", params={"condition_ids": cid, "closed": "true"}).json()[0]
        assert json.loads(gamma["outcomePrices"]) == [str(int(i == market.winner_index)) for i in (0, 1)]
    # the same quirk on demand, on a current market
    current = _open_standalone(sim)[-1]
    sim.admin.resolve_market(current.condition_id, 1, flag_winner=False)
    body = http.get(f"/clob/markets/{current.condition_id}").json()
    assert [(t["winner"], t["price"]) for t in body["tokens"]] == [(False, 0), (False, 1)]
    gamma = http.get(
        "/gamma/markets", params={"condition_ids": current.condition_id, "closed": "true"}
    ).json()[0]
    assert (gamma["closed"], gamma["umaResolutionStatus"], gamma["outcomePrices"]) == (
        True,
        "resolved",
        '["0", "1"]',
    )
    assert current.condition_id in _truth(sim)["winnerless_markets"]


def test_a_legacy_token_id_is_blank_on_the_clob_only(sim: SimulatorServer, http: httpx.Client) -> None:
    truth = _truth(sim)
    (cid,) = truth["blank_token_markets"]
    market = sim.model.market(cid)
    assert market is not None
    assert market.legacy
    by_id = http.get(f"/clob/markets/{cid}").json()
    listed = next(m for m in _clob_pages(http) if m["condition_id"] == cid)
    for body in (by_id, listed):
        assert [t["token_id"] for t in body["tokens"]] == [market.token_ids[0], ""]
    gamma = http.get("/gamma/markets", params={"condition_ids": cid, "closed": "true"}).json()[0]
    assert json.loads(gamma["clobTokenIds"]) == list(market.token_ids)  # the real ids elsewhere


def test_gamma_current_and_legacy_markets_have_the_real_shapes(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    real = load("pscanner/market.json")
    real_legacy = load("nautilus/gamma_market_closed_nonbinary_legacy.json")
    real_tags = load("pscanner/event.json")["tags"]
    market = _open_standalone(sim)[0]
    row = http.get("/gamma/markets", params={"id": market.gamma_id, "include_tag": "true"}).json()[0]
    assert "category" not in row
    assert "category" not in real
    assert set(row) - set(real) <= fields.GAMMA_MARKET_DOCUMENTED
    for key in set(row) & set(real):
        if row[key] is not None and real[key] is not None:
            assert shape({key: row[key]}) == shape({key: real[key]}), key
    assert set(row["events"][0]) <= set(real["events"][0]) | {"category"}
    tag_keys = set().union(*(set(t) for t in real_tags))
    for tag in row["tags"]:
        assert {"id", "label", "slug"} <= set(tag) <= tag_keys
        assert all(
            shape({k: v}) == shape({k: next(t[k] for t in real_tags if k in t)}) for k, v in tag.items()
        )
    legacy = [m for m in sim.model.markets if m.legacy]
    rows = http.get(
        "/gamma/markets", params={"condition_ids": ",".join(m.condition_id for m in legacy), "closed": "true"}
    ).json()
    assert len(rows) == len(legacy)
    for row in rows:
        assert row["category"]
        assert row["events"][0]["category"] == row["category"]
        assert row["umaResolutionStatuses"] == real_legacy["umaResolutionStatuses"] == "[]"
        assert "umaResolutionStatus" not in row
        assert "umaResolutionStatus" not in real_legacy
        assert "negRisk" not in row
        assert "negRisk" not in real_legacy
        assert row["endDate"] < "2024"


def test_catalogue_sizes_follow_the_config() -> None:
    """``n_markets`` current markets (a neg-risk event among them) plus ``legacy_markets`` old ones."""
    config = SimulatorConfig(seed=3, n_wallets=6, n_markets=12, legacy_markets=2, trades_per_wallet=3)
    with SimulatorServer(config) as sim, httpx.Client(base_url=sim.base_url) as http:
        truth = sim.model.ground_truth()
        assert len(truth["markets"]) == 12 + 2
        assert len(truth["legacy_markets"]) == 2
        (event,) = truth["events"]
        assert 3 <= len(event["condition_ids"]) <= 4
        assert len(_clob_pages(http)) == 14
