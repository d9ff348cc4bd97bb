"""``/v2/user-pnl`` over HTTP: the capture's shape and identities, daily points, validation, the skew
switch, limits and faults, and the same series after a restart on a state file."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator import fields
from polymarket_pipeline_tests.simulator.conftest import START, small_config

DAY = 86_400
MONEY_FIELDS = fields.V2_USER_PNL_POINT - {
    "timestamp",
    "source_block",
    "trade_count",
    "deposits",
    "withdrawals",
    "cashflow_net",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(small_config(seed=12, fee_market_fraction=0.8)) as server:
        yield server


def _pnl(http: httpx.Client, wallet: str, **params: str) -> dict[str, Any]:
    response = http.get("/data/v2/user-pnl", params={"user": wallet, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"}
    data: dict[str, Any] = body["data"]
    return data


def _d(value: float) -> Decimal:
    return Decimal(repr(value))


def _check_identities(point: dict[str, Any]) -> None:
    """The capture's identities, exact to the printed 6 decimals."""
    p = {k: _d(v) for k, v in point.items() if k in MONEY_FIELDS}
    assert p["realized_pnl"] == p["realized_market_pnl"] + p["realized_lp_pnl"] + p["realized_combo_pnl"]
    assert p["position_pnl"] == p["realized_pnl"] + p["unrealized_pnl"]
    income = p["maker_rebate"] + p["taker_rebate"] + p["reward_income"] + p["yield_income"]
    assert p["wallet_income"] == income + p["referral_income"]
    assert p["economic_pnl"] == p["position_pnl"] + p["wallet_income"]
    assert p["settled_pnl"] == p["realized_pnl"] + p["wallet_income"]
    charged = -p["fees_paid"]
    assert p["trade_pnl"] == p["position_pnl"] - p["realized_lp_pnl"] + charged - p["fees_refunded"]
    assert p["trade_pnl"] == p["position_pnl"] - p["fees"]  # no LP part: trade = position + fees
    assert p["fees_paid"] <= 0


def _busiest(sim: SimulatorServer) -> str:
    counts: dict[str, int] = {}
    for f in sim.model.ground_truth()["fills"]:
        counts[f["wallet"]] = counts.get(f["wallet"], 0) + 1
    return max(counts, key=lambda w: counts[w])


def test_shape_follows_the_live_capture(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = _busiest(sim)
    data = _pnl(http, wallet, interval="1w", fidelity="1d")
    assert set(data) == fields.V2_USER_PNL
    assert (data["proxy_wallet"], data["interval"], data["fidelity"], data["source_fidelity"]) == (
        wallet,
        "1w",
        "1d",
        "1d",
    )
    points = data["points"]
    assert len(points) == 8  # seven day ends and now (the history is 30 days long)
    for point in points:
        assert set(point) == fields.V2_USER_PNL_POINT
        assert all(isinstance(point[k], float) for k in MONEY_FIELDS)  # numbers, never strings
        assert all(type(point[k]) is int for k in ("timestamp", "source_block", "trade_count"))
        assert (point["deposits"], point["withdrawals"], point["cashflow_net"]) == (None, None, None)
        assert all(_d(point[k]) == _d(point[k]).quantize(Decimal("0.000001")) for k in MONEY_FIELDS)
        _check_identities(point)
    stamps = [p["timestamp"] for p in points]
    assert stamps == sorted(stamps)
    assert all(ts % DAY == 0 for ts in stamps[:-1])  # historical points at 00:00 UTC
    assert abs(stamps[-1] - time.time()) < 60  # the last point is now
    blocks = [p["source_block"] for p in points]
    assert blocks == sorted(blocks)
    counts = [p["trade_count"] for p in points]
    assert counts == sorted(counts)  # cumulative


def test_every_wallet_obeys_the_identities_and_the_now_point_matches_positions(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    for wallet in sim.model.wallets[:12]:
        points = _pnl(http, wallet)["points"]
        for point in points:
            _check_identities(point)
        now = points[-1]
        rows = http.get(
            "/data/v2/positions",
            params={"user": wallet, "limit": 1000, "include_archived": "true"},
        ).json()["data"]
        closed = http.get(
            "/data/v2/positions",
            params={"user": wallet, "limit": 1000, "include_archived": "true", "status": "CLOSED"},
        ).json()["data"]
        slack = 1e-6 * (len(rows) + len(closed) + 2)
        assert now["unrealized_pnl"] == pytest.approx(sum(r["unrealized_pnl"] for r in rows), abs=slack)
        realized = sum(r["realized_pnl"] for r in rows + closed)
        assert now["realized_market_pnl"] == pytest.approx(realized + now["fees_paid"], abs=slack)
        fills = [f for f in sim.model.ground_truth()["fills"] if f["wallet"] == wallet]
        assert now["trade_count"] == len(fills)
        assert now["volume"] == pytest.approx(sum(f["size"] for f in fills), abs=1e-6)
        assert now["fees_paid"] == pytest.approx(-sum(f["fee"] for f in fills), abs=1e-6)


def test_trade_pnl_is_position_pnl_plus_fees_and_income_is_apart(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    market = next(m for m in sim.model.markets if not m.closed and m.fee_rate > 0)
    token = market.token_ids[0]
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, token, "BUY", 100, 0.25, makers=[maker], timestamp=START + 5)
    sim.admin.reward(wallet, 3.5, kind="REWARD", at=START + 6)
    sim.admin.reward(wallet, 1.25, kind="TAKER_REBATE", at=START + 7)
    now = _pnl(http, wallet)["points"][-1]
    fee = round(market.fee_rate * 0.25 * 100, 6)
    price = market.price_of(0)
    assert now["fees_paid"] == -fee
    assert now["realized_market_pnl"] == -fee  # nothing sold: only the fee is realized
    assert now["unrealized_pnl"] == pytest.approx(100 * (price - 0.25), abs=1e-6)
    assert now["trade_pnl"] == pytest.approx(100 * (price - 0.25), abs=1e-6)  # pre-fee
    assert (now["reward_income"], now["sponsored_income"], now["taker_rebate"]) == (3.5, 3.5, 1.25)
    assert now["wallet_income"] == 4.75
    assert now["economic_pnl"] == pytest.approx(now["position_pnl"] + 4.75, abs=1e-9)
    assert (now["volume"], now["volume_usdc"], now["trade_count"]) == (100.0, 25.0, 1)


def test_day_ends_are_valued_at_the_prices_of_the_time(sim: SimulatorServer, http: httpx.Client) -> None:
    market = next(m for m in sim.model.markets if not m.closed and not m.neg_risk and m.fee_rate == 0)
    token = market.token_ids[0]
    wallet, maker, other = sim.admin.add_wallets(3, with_history=False)
    midnight = START // DAY * DAY
    bought_at = midnight - 3 * DAY + 3600
    sim.admin.inject_trade(wallet, token, "BUY", 10, 0.4, makers=[maker], timestamp=bought_at)
    sim.admin.inject_trade(other, token, "BUY", 5, 0.55, makers=[maker], timestamp=midnight - 2 * DAY + 60)
    points = _pnl(http, wallet, interval="all", fidelity="1h")["points"]
    days = points[:-1]  # daily even on an hourly grid
    assert [p["timestamp"] for p in days] == list(range(midnight - 2 * DAY, points[-1]["timestamp"], DAY))
    for p in days:
        price = market.price_before(0, p["timestamp"])
        assert p["unrealized_pnl"] == pytest.approx(10 * (price - 0.4), abs=1e-6)
    assert days[0]["trade_count"] == 1
    assert points[-1]["unrealized_pnl"] == pytest.approx(10 * (market.price_of(0) - 0.4), abs=1e-6)
    day = dt.datetime.fromtimestamp(days[0]["timestamp"], tz=dt.UTC)
    assert (day.hour, day.minute, day.second) == (0, 0, 0)


def test_intervals_reach_back_as_far_as_they_say(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = _busiest(sim)
    every = _pnl(http, wallet, interval="all")["points"]
    assert _pnl(http, wallet, interval="max")["points"][:-1] == every[:-1]
    first_day = min(f["timestamp"] for f in sim.model.ground_truth()["fills"] if f["wallet"] == wallet)
    assert every[0]["timestamp"] == (first_day // DAY + 1) * DAY
    now = time.time()
    for interval, reach in (
        ("1m", 30 * DAY),
        ("1w", 7 * DAY),
        ("1d", DAY),
        ("12h", 12 * 3600),
        ("6h", 6 * 3600),
    ):
        points = _pnl(http, wallet, interval=interval)["points"]
        assert all(p["timestamp"] >= now - reach - 5 for p in points), interval
        assert points[:-1] == [p for p in every[:-1] if p["timestamp"] >= points[0]["timestamp"]]
    (fresh,) = sim.admin.add_wallets(1, with_history=False)
    assert _pnl(http, fresh)["points"] == []  # nothing to cover
    assert _pnl(http, "0x" + "ab" * 20)["points"] == []  # an address the simulator never saw


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"interval": "2w"}, "interval"),
        ({"interval": "1M"}, "interval"),
        ({"interval": "ALL"}, "interval"),
        ({"fidelity": "5m"}, "fidelity"),
        ({"fidelity": "1D"}, "fidelity"),
        ({"user": "0x123"}, "user"),
        ({"user": ""}, "user"),
    ],
)
def test_bad_parameters_get_the_v2_error_body(
    sim: SimulatorServer, http: httpx.Client, params: dict[str, str], parameter: str
) -> None:
    query = {"user": sim.model.wallets[0], **params}
    response = http.get("/data/v2/user-pnl", params=query)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == fields.V2_ERROR
    assert (body["code"], body["parameter"], body["retryable"]) == ("invalid_request", parameter, False)
    assert response.headers["x-trace-id"] == body["trace_id"]


def test_skew_makes_one_wallet_disagree(sim: SimulatorServer, http: httpx.Client) -> None:
    liar, honest = sim.model.wallets[3], sim.model.wallets[4]
    before = {w: _pnl(http, w, interval="1w")["points"] for w in (liar, honest)}
    sim.admin.skew_official_pnl(liar, 125.5)
    skewed = _pnl(http, liar, interval="1w")["points"]
    assert len(skewed) == len(before[liar])
    for old, new in zip(before[liar], skewed, strict=True):
        for key in ("realized_market_pnl", "realized_pnl", "position_pnl", "economic_pnl", "trade_pnl"):
            assert _d(new[key]) - _d(old[key]) == Decimal("125.5"), key
        assert (new["unrealized_pnl"], new["fees_paid"]) == (old["unrealized_pnl"], old["fees_paid"])
        _check_identities(new)
    assert _pnl(http, honest, interval="1w")["points"][:-1] == before[honest][:-1]
    truth = sim.admin.pnl_truth([liar])[liar]
    assert truth["totals"]["skew_usdc"] == "125.500000000000"
    assert truth["series"][-1]["realized_market_pnl"] == pytest.approx(
        before[liar][-1]["realized_market_pnl"]
    )
    sim.admin.skew_official_pnl(liar, 0)
    assert _pnl(http, liar, interval="1w")["points"][:-1] == before[liar][:-1]


def test_ground_truth_holds_positions_totals_and_the_series(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = _busiest(sim)
    truth = sim.admin.pnl_truth([wallet])
    assert set(truth) == {wallet}
    figures = truth[wallet]
    assert set(figures) == {"wallet", "positions", "totals", "series"}
    assert {
        "shares",
        "avg_price",
        "total_bought",
        "realized_pnl",
        "unrealized_pnl",
        "entry_fees",
        "fees_paid",
    } <= set(figures["positions"][0])
    totals = figures["totals"]
    assert Decimal(totals["trade_pnl"]) == Decimal(totals["realized_pnl"]) + Decimal(totals["unrealized_pnl"])
    assert Decimal(totals["economic_pnl"]) == Decimal(totals["position_pnl"]) + Decimal(totals["income_usdc"])
    served = _pnl(http, wallet)["points"]
    assert figures["series"][:-1] == served[:-1]
    unrealized = sum(Decimal(p["unrealized_pnl"]) for p in figures["positions"])
    assert abs(unrealized - Decimal(totals["unrealized_pnl"])) < Decimal("1e-9")  # 12-place texts
    assert set(sim.admin.pnl_truth()) == set(sim.model.wallets)


def test_limits_faults_and_the_edge_cache_apply(sim: SimulatorServer, http: httpx.Client) -> None:
    wallet = sim.model.wallets[0]
    sim.faults.add(FaultRule(kind="503", route="/v2/user-pnl", wallet=wallet, count=1, retry_after=2))
    failed = http.get("/data/v2/user-pnl", params={"user": wallet})
    assert (failed.status_code, failed.headers["Retry-After"], failed.json()["code"]) == (
        503,
        "2",
        "request_timeout",
    )
    assert http.get("/data/v2/user-pnl", params={"user": wallet}).status_code == 200
    assert sim.ctx.limiter.keys_for("data", "/v2/user-pnl") == ["all", "data", "data:/v2/user-pnl"]
    assert sim.ctx.limiter.limits["data:/v2/user-pnl"] == 200
    sim.admin.set_limits(enforce=True, limits={"data:/v2/user-pnl": 2})
    try:
        statuses = [http.get("/data/v2/user-pnl", params={"user": wallet}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert http.get("/data/v2/value", params={"user": wallet}).status_code == 200  # its own window
    finally:
        sim.admin.set_limits(enforce=False, limits={"data:/v2/user-pnl": 200})
    sim.admin.set_edge_cache(seconds=60, routes=["/v2/user-pnl"])
    try:
        url = {"user": wallet, "interval": "1d"}
        first = http.get("/data/v2/user-pnl", params=url)
        second = http.get("/data/v2/user-pnl", params=url)
        assert (first.headers["cf-cache-status"], second.headers["cf-cache-status"]) == ("MISS", "HIT")
        assert second.content == first.content
    finally:
        sim.admin.set_edge_cache(seconds=0, routes=["/trades", "/v2/trades"])


def _without_now(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The series minus the clock: the last point's time moves, its figures must not."""
    return [
        {k: v for k, v in p.items() if i < len(points) - 1 or k not in ("timestamp", "source_block")}
        for i, p in enumerate(points)
    ]


def test_a_restart_on_the_state_file_serves_the_same_series(tmp_path: Path) -> None:
    config = small_config(seed=61, start_time=None, state_file=str(tmp_path / "state.jsonl"))
    with SimulatorServer(config) as first:
        admin = first.admin
        market = next(m for m in admin.markets() if not m["closed"] and not m["neg_risk"] and not m["legacy"])
        wallets = admin.wallets()
        admin.inject_trade(wallets[0], market["token_ids"][0], "BUY", 12, 0.45, makers=[wallets[1]])
        admin.transfer_tokens(wallets[0], market["token_ids"][0], 3)
        admin.inject_trade(wallets[0], market["token_ids"][0], "SELL", 15, 0.5, makers=[wallets[2]])
        admin.split(wallets[3], market["condition_id"], 20)
        admin.skew_official_pnl(wallets[3], -42)
        admin.generate_trades(10)
        with httpx.Client(base_url=first.base_url) as http:
            before = {w: _without_now(_pnl(http, w)["points"]) for w in wallets[:6]}
        truth = {w: _without_now(t["series"]) for w, t in admin.pnl_truth(wallets[:6]).items()}
    with SimulatorServer(config) as second, httpx.Client(base_url=second.base_url) as http:
        assert {w: _without_now(_pnl(http, w)["points"]) for w in wallets[:6]} == before
        again = second.admin.pnl_truth(wallets[:6])
        assert {w: _without_now(t["series"]) for w, t in again.items()} == truth
        assert again[wallets[3]]["totals"]["skew_usdc"] == "-42.000000000000"
        position = next(p for p in again[wallets[0]]["positions"] if p["asset"] == market["token_ids"][0])
        assert position["untracked_sold"] == "3.000000000000"
