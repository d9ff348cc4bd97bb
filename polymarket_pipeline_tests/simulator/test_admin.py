"""The /_sim control plane through SimulatorAdmin: the same operations a test in another process uses."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.admin import SimulatorAdmin, SimulatorAdminError
from polymarket_pipeline.simulator.server import SimulatorServer


@pytest.fixture(scope="module")
def admin(sim: SimulatorServer) -> SimulatorAdmin:
    return sim.admin


def test_health_wallets_and_markets(sim: SimulatorServer, admin: SimulatorAdmin) -> None:
    health = admin.health()
    assert health["ok"] is True
    assert health["wallets"] == len(sim.model.wallets)
    assert admin.wallets() == sim.model.wallets
    assert [m["condition_id"] for m in admin.markets()] == [m.condition_id for m in sim.model.markets]


def test_inject_trade_is_served_and_errors_surface(
    sim: SimulatorServer, admin: SimulatorAdmin, http: httpx.Client
) -> None:
    taker, maker = admin.add_wallets(2, with_history=False)
    market = next(m for m in admin.markets() if not m["closed"])
    asset = market["token_ids"][0]
    fills = admin.inject_trade(
        taker, asset, "BUY", 12.5, 0.42, makers=[(maker, 10), (maker, 2.5)], timestamp=int(time.time()) - 5
    )
    assert [(f["role"], f["size"]) for f in fills] == [("taker", 12.5), ("maker", 10.0), ("maker", 2.5)]
    rows = http.get("/data/v2/trades", params={"user": taker}).json()["data"]
    assert [(r["transaction_hash"], r["size"], r["side"]) for r in rows] == [
        (fills[0]["transaction_hash"], 12.5, "BUY")
    ]
    with pytest.raises(SimulatorAdminError, match="cannot sell") as info:
        admin.inject_trade(taker, asset, "SELL", 100, 0.5)
    assert info.value.status == 400
    with pytest.raises(SimulatorAdminError, match="unknown asset"):
        admin.inject_trade(taker, "123", "BUY", 1, 0.5)


def test_close_redeem_archive_make_positions_vanish_with_the_right_reasons(
    sim: SimulatorServer, admin: SimulatorAdmin, http: httpx.Client
) -> None:
    open_markets = [m for m in admin.markets() if not m["closed"]]
    m_close, m_resolve = open_markets[-2], open_markets[-1]
    closer, redeemer, keeper, maker = admin.add_wallets(4, with_history=False)
    admin.inject_trade(closer, m_close["token_ids"][1], "BUY", 20, 0.3, makers=[maker])
    admin.inject_trade(redeemer, m_resolve["token_ids"][0], "BUY", 15, 0.6, makers=[maker])
    admin.inject_trade(keeper, m_resolve["token_ids"][1], "BUY", 6, 0.4, makers=[maker])

    def shown(wallet: str, market: dict[str, Any]) -> tuple[set[str], set[str]]:
        """The wallet's visible positions in one market (a random maker may hold others)."""
        tokens = set(market["token_ids"])
        v1 = {r["asset"] for r in http.get("/data/positions", params={"user": wallet}).json()}
        v2 = {r["token_id"] for r in http.get("/data/v2/positions", params={"user": wallet}).json()["data"]}
        return v1 & tokens, v2 & tokens

    assert shown(closer, m_close) == ({m_close["token_ids"][1]}, {m_close["token_ids"][1]})
    sells = admin.close_position(closer, m_close["token_ids"][1])
    assert sells[0]["side"] == "SELL"
    assert sells[0]["size"] == 20
    assert shown(closer, m_close) == (set(), set())

    admin.resolve_market(m_resolve["condition_id"], 0)
    winner = m_resolve["token_ids"][0]
    assert shown(redeemer, m_resolve) == ({winner}, {winner})  # resolved positions stay until redeemed
    redeemed = admin.redeem(redeemer, m_resolve["condition_id"])
    assert [(r["type"], r["usdc_size"]) for r in redeemed] == [("REDEEM", 15.0)]
    assert shown(redeemer, m_resolve) == (set(), set())
    assert shown(keeper, m_resolve) == ({m_resolve["token_ids"][1]}, {m_resolve["token_ids"][1]})
    admin.archive_market(m_resolve["condition_id"])
    assert shown(keeper, m_resolve) == (set(), set())

    closes = {
        (c["wallet"], c["asset"], c["reason"])
        for c in admin.truth()["closes"]
        if c["wallet"] in {closer, redeemer, keeper}
    }
    assert closes == {
        (closer, m_close["token_ids"][1], "manual_close"),
        (redeemer, m_resolve["token_ids"][0], "redeemed"),
        (keeper, m_resolve["token_ids"][1], "market_closed"),
    }
    closed_rows = http.get("/data/closed-positions", params={"user": redeemer}).json()
    assert [(r["asset"], r["curPrice"]) for r in closed_rows] == [(m_resolve["token_ids"][0], 1.0)]
    with pytest.raises(SimulatorAdminError):
        admin.inject_trade(keeper, m_resolve["token_ids"][0], "BUY", 1, 0.5)


def test_faults_over_http(sim: SimulatorServer, admin: SimulatorAdmin, http: httpx.Client) -> None:
    rule_id = admin.add_fault(kind="502", api="gamma", count=1)
    assert [f["id"] for f in admin.faults()] == [rule_id]
    assert http.get("/gamma/markets").status_code == 502
    assert admin.faults() == []  # spent
    admin.add_fault(kind="500", api="gamma")
    admin.clear_faults()
    assert http.get("/gamma/markets").status_code == 200
    with pytest.raises(SimulatorAdminError):
        admin._call("POST", "/faults", {"kind": "teapot"})


def test_generate_and_live_feed(sim: SimulatorServer, admin: SimulatorAdmin) -> None:
    before = admin.health()["fills"]
    made = admin.generate_trades(3)
    assert len({f["transaction_hash"] for f in made}) == 3
    assert admin.health()["fills"] == before + len(made)
    start = time.time()
    admin.set_live_rate(100)
    assert admin.live_rate() == 100
    time.sleep(0.5)
    admin.set_live_rate(0)
    time.sleep(0.1)
    live = [f for f in admin.truth()["fills"] if f["timestamp"] >= int(start) and f["role"] == "taker"]
    assert len(live) >= 20
    settled = admin.health()["fills"]
    time.sleep(0.2)
    assert admin.health()["fills"] == settled  # rate 0 stops the feed


def test_new_wallets_over_http(admin: SimulatorAdmin, http: httpx.Client) -> None:
    new = admin.add_wallets(2)
    assert all(w in admin.wallets() for w in new)
    rows = http.get("/data/trades", params={"user": new[0], "limit": 500}).json()
    assert len(rows) == 20  # trades_per_wallet taker settlements of back-filled history
