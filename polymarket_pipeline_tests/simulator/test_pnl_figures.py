"""Polymarket's accounting in the simulator: the pnl-subgraph's rules, seen through /positions and /_sim/pnl.

Each test drives fresh wallets with explicit makers (so nobody else's book matters), then reads
what a pipeline would read: v2 and v1 positions over HTTP, and the PnL ground truth.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.markets import SimMarket
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator.conftest import START, small_config


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """Every standalone market charges a taker fee; the neg-risk event (4 markets) is open."""
    with SimulatorServer(small_config(seed=16, fee_market_fraction=1.0)) as server:
        yield server


@pytest.fixture(scope="module")
def fee_markets(sim: SimulatorServer) -> list[SimMarket]:
    """The open standalone markets, listed once (a test below resolves one of them)."""
    return [m for m in sim.model.markets if not m.closed and not m.neg_risk and not m.legacy]


def _v2(http: httpx.Client, wallet: str, status: str = "OPEN") -> dict[str, dict[str, Any]]:
    params = {"user": wallet, "status": status, "limit": 1000, "include_archived": "true"}
    return {r["token_id"]: r for r in http.get("/data/v2/positions", params=params).json()["data"]}


def _v1(http: httpx.Client, wallet: str) -> dict[str, dict[str, Any]]:
    rows = http.get("/data/positions", params={"user": wallet, "limit": 500, "sizeThreshold": 0}).json()
    return {r["asset"]: r for r in rows}


def _truth(sim: SimulatorServer, wallet: str) -> dict[str, Any]:
    return sim.admin.pnl_truth([wallet])[wallet]


def _truth_position(sim: SimulatorServer, wallet: str, asset: str) -> dict[str, Any]:
    return next(p for p in _truth(sim, wallet)["positions"] if p["asset"] == asset)


def test_split_and_merge_are_priced_at_fifty_cents(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[0]
    yes, no = market.token_ids
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.split(wallet, market.condition_id, 10, at=START + 10)
    rows = _v2(http, wallet)
    for token in (yes, no):  # whatever the market trades at, a split costs 0.50 a side
        assert (rows[token]["avg_price"], rows[token]["total_size"], rows[token]["entry_cost_usdc"]) == (
            0.5,
            10.0,
            5.0,
        )
    sim.admin.merge(wallet, market.condition_id, 4, at=START + 11)
    assert _v2(http, wallet)[yes]["realized_pnl"] == 0.0  # sold at 0.50, bought at 0.50
    sim.admin.inject_trade(wallet, yes, "BUY", 6, 0.8, makers=[maker], timestamp=START + 12)
    assert _v2(http, wallet)[yes]["avg_price"] == pytest.approx(0.65)  # (6 x 0.5 + 6 x 0.8) / 12
    sim.admin.merge(wallet, market.condition_id, 6, at=START + 13)
    rows = _v2(http, wallet)
    assert rows[yes]["realized_pnl"] == pytest.approx(6 * (0.5 - 0.65))  # a merge sells at 0.50
    assert rows[yes]["avg_price"] == pytest.approx(0.65)  # and never moves the average
    assert rows[yes]["total_size"] == 16.0
    assert _v2(http, wallet, "CLOSED")[no]["realized_pnl"] == 0.0


def test_buys_average_and_sells_realize_against_the_average(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[1]
    token = market.token_ids[0]
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, token, "BUY", 10, 0.4, makers=[maker], timestamp=START + 20)
    sim.admin.inject_trade(wallet, token, "BUY", 30, 0.6, makers=[maker], timestamp=START + 21)
    sim.admin.inject_trade(wallet, token, "SELL", 20, 0.7, makers=[maker], timestamp=START + 22)
    row = _v2(http, wallet)[token]
    assert row["avg_price"] == pytest.approx(0.55)
    assert row["realized_pnl"] == pytest.approx(20 * (0.7 - 0.55))
    assert row["total_size"] == 40.0  # lifetime bought, not the balance
    assert row["current_size"] == 20.0
    assert row["entry_cost_usdc"] == pytest.approx(20 * 0.55)
    assert row["unrealized_pnl"] == pytest.approx(row["current_value"] - row["entry_cost_usdc"], abs=1e-9)
    assert row["total_pnl"] == pytest.approx(row["realized_pnl"] + row["unrealized_pnl"], abs=1e-9)
    v1 = _v1(http, wallet)[token]
    assert (v1["avgPrice"], v1["totalBought"]) == (0.55, 40.0)
    assert v1["realizedPnl"] == pytest.approx(3.0)
    assert v1["cashPnl"] == pytest.approx(v1["currentValue"] - v1["initialValue"], abs=1e-9)


def test_a_taker_fee_shows_in_usdc_size_only_and_is_kept_apart(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[2]
    assert market.fee_rate > 0
    token = market.token_ids[0]
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    bought = sim.admin.inject_trade(wallet, token, "BUY", 100, 0.3, makers=[maker], timestamp=START + 30)
    sold = sim.admin.inject_trade(wallet, token, "SELL", 50, 0.4, makers=[maker], timestamp=START + 31)
    buy_fee = round(market.fee_rate * 0.3 * 100, 6)
    sell_fee = round(market.fee_rate * 0.4 * 50, 6)
    assert (bought[0]["fee"], sold[0]["fee"]) == (buy_fee, sell_fee)
    assert {f["fee"] for f in bought[1:] + sold[1:]} == {0.0}  # makers pay nothing
    activity = {
        a["side"]: a["usdcSize"]
        for a in http.get("/data/activity", params={"user": wallet, "type": "TRADE"}).json()
    }
    assert activity == {"BUY": round(30 + buy_fee, 6), "SELL": round(20 - sell_fee, 6)}
    trades = http.get("/data/trades", params={"user": wallet}).json()
    assert {(t["side"], t["price"]) for t in trades} == {("BUY", 0.3), ("SELL", 0.4)}
    assert not any("fee" in key.lower() for t in trades for key in t)  # as real rows: no fee field
    row = _v2(http, wallet)[token]
    assert row["avg_price"] == 0.3  # fee-exclusive
    assert row["realized_pnl"] == pytest.approx(50 * 0.1)  # pre-fee
    assert row["entry_cost_usdc"] == pytest.approx(15.0)
    assert row["entry_fees_usdc"] == pytest.approx(buy_fee / 2)  # half the holding sold: half its fees
    assert row["total_cost_usdc"] == pytest.approx(row["entry_cost_usdc"] + row["entry_fees_usdc"])
    truth = _truth(sim, wallet)
    position = next(p for p in truth["positions"] if p["asset"] == token)
    assert Decimal(position["fees_paid"]) == Decimal(str(buy_fee)) + Decimal(str(sell_fee))
    assert Decimal(truth["totals"]["fees_paid"]) == Decimal(str(buy_fee)) + Decimal(str(sell_fee))
    totals = truth["totals"]
    assert Decimal(totals["position_pnl"]) == Decimal(totals["trade_pnl"]) - Decimal(totals["fees_paid"])


def test_redeem_sells_everything_at_the_payout(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[3]
    yes, no = market.token_ids
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, yes, "BUY", 10, 0.4, makers=[maker], timestamp=START + 40)
    sim.admin.inject_trade(wallet, no, "BUY", 5, 0.3, makers=[maker], timestamp=START + 41)
    sim.admin.resolve_market(market.condition_id, 0, at=START + 42)
    rows = _v2(http, wallet)  # resolved, unredeemed: in the OPEN superset, valued at 1 / 0
    assert (rows[yes]["status"], rows[yes]["unrealized_pnl"]) == ("REDEEMABLE", pytest.approx(6.0))
    assert rows[no]["unrealized_pnl"] == pytest.approx(-1.5)
    sim.admin.redeem(wallet, market.condition_id, at=START + 43)
    closed = _v2(http, wallet, "CLOSED")
    assert closed[yes]["realized_pnl"] == pytest.approx(6.0)
    assert closed[no]["realized_pnl"] == pytest.approx(-1.5)  # a loser realizes -avg x amount
    assert {r["current_size"] for r in closed.values()} == {0.0}
    assert {r["unrealized_pnl"] for r in closed.values()} == {0.0}
    v1 = {
        r["asset"]: r for r in http.get("/data/closed-positions", params={"user": wallet, "limit": 50}).json()
    }
    assert v1[yes]["realizedPnl"] == pytest.approx(6.0)
    assert (v1[no]["realizedPnl"], v1[no]["avgPrice"], v1[no]["totalBought"]) == (
        pytest.approx(-1.5),
        0.3,
        5.0,
    )


def test_neg_risk_conversion_uses_the_subgraph_yes_price(sim: SimulatorServer, http: httpx.Client) -> None:
    (event,) = sim.admin.events()
    markets = [sim.model.market(c) for c in event["condition_ids"]]
    assert len(markets) == 4
    first, second, third, fourth = (m for m in markets if m is not None)
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, first.token_ids[1], "BUY", 10, 0.7, makers=[maker], timestamp=START + 50)
    sim.admin.inject_trade(wallet, second.token_ids[1], "BUY", 10, 0.8, makers=[maker], timestamp=START + 51)
    sim.admin.convert(wallet, [first.condition_id, second.condition_id], 10, at=START + 52)
    closed = _v2(http, wallet, "CLOSED")
    assert closed[first.token_ids[1]]["realized_pnl"] == 0.0  # each NO leg sold at its own average
    assert closed[second.token_ids[1]]["realized_pnl"] == 0.0
    rows = _v2(http, wallet)
    no_price = (0.7 + 0.8) / 2
    yes_price = (no_price * 2 - (2 - 1)) / (4 - 2)
    for m in (third, fourth):
        assert rows[m.token_ids[0]]["avg_price"] == pytest.approx(yes_price)
        assert rows[m.token_ids[0]]["total_size"] == 10.0
    other, _ = sim.admin.add_wallets(2, with_history=False)  # one leg: its average spread over N - 1
    sim.admin.inject_trade(other, third.token_ids[1], "BUY", 6, 0.9, makers=[maker], timestamp=START + 53)
    sim.admin.convert(other, third.condition_id, 6, at=START + 54)
    rows = _v2(http, other)
    assert [rows[m.token_ids[0]]["avg_price"] for m in (first, second, fourth)] == [pytest.approx(0.3)] * 3


def test_closed_rows_and_v1_avg_price_rounding(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[4]
    token = market.token_ids[1]
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, token, "BUY", 3, 0.41, makers=[maker], timestamp=START + 60)
    sim.admin.inject_trade(wallet, token, "BUY", 7, 0.4377, makers=[maker], timestamp=START + 61)
    exact = (3 * 0.41 + 7 * 0.4377) / 10  # 0.42939
    assert _v2(http, wallet)[token]["avg_price"] == pytest.approx(exact, abs=1e-9)
    v1 = _v1(http, wallet)[token]
    assert v1["avgPrice"] == 0.4294  # 4 decimals, as recorded
    assert v1["initialValue"] == pytest.approx(10 * exact, abs=1e-6)  # from the exact average
    sim.admin.inject_trade(wallet, token, "SELL", 10, 0.5, makers=[maker], timestamp=START + 62)
    assert token not in _v2(http, wallet)
    row = _v2(http, wallet, "CLOSED")[token]
    assert (row["status"], row["current_size"], row["total_size"]) == ("CLOSED", 0.0, 10.0)
    assert row["realized_pnl"] == pytest.approx(10 * (0.5 - exact), abs=1e-6)
    assert row["total_pnl"] == row["realized_pnl"]
    assert row["avg_price"] == pytest.approx(exact, abs=1e-6)  # the average survives the close


def test_tokens_received_by_transfer_realize_nothing(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[5]
    token = market.token_ids[0]
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, token, "BUY", 10, 0.4, makers=[maker], timestamp=START + 70)
    entry = sim.admin.transfer_tokens(wallet, token, 5, at=START + 71)
    assert (entry["kind"], entry["delta"], entry["asset"]) == ("TRANSFER", 5.0, token)
    row = _v2(http, wallet)[token]
    assert (row["current_size"], row["total_size"], row["avg_price"]) == (15.0, 10.0, 0.4)
    served = http.get("/data/v2/activity", params={"user": wallet}).json()["data"]
    assert [r["type"] for r in served] == ["TRADE"]  # no row shows the transfer
    sim.admin.inject_trade(wallet, token, "SELL", 15, 0.5, makers=[maker], timestamp=START + 72)
    row = _v2(http, wallet, "CLOSED")[token]
    assert row["realized_pnl"] == pytest.approx(10 * 0.1)  # q' = min(q, tracked): not 15 x 0.1
    position = _truth_position(sim, wallet, token)
    assert (position["untracked_sold"], position["tracked_shares"]) == ("5.000000000000", "0.000000000000")
    only, _ = sim.admin.add_wallets(2, with_history=False)  # tokens by transfer alone still show
    sim.admin.transfer_tokens(only, token, 2, at=START + 73)
    row = _v2(http, only)[token]
    assert (row["current_size"], row["total_size"], row["entry_cost_usdc"]) == (2.0, 0.0, 0.0)


def test_a_back_dated_fill_counts_where_its_timestamp_puts_it(
    sim: SimulatorServer, http: httpx.Client, fee_markets: list[SimMarket]
) -> None:
    market = fee_markets[0]
    token = market.token_ids[1]
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, token, "BUY", 10, 0.5, makers=[maker], timestamp=START + 100)
    sim.admin.inject_trade(wallet, token, "SELL", 5, 0.6, makers=[maker], timestamp=START + 200)
    sim.admin.inject_trade(wallet, token, "BUY", 10, 0.3, makers=[maker], timestamp=START + 150)
    row = _v2(http, wallet)[token]  # chain order: buy 0.5, buy 0.3 (avg 0.4), sell 5 at 0.6
    assert row["avg_price"] == pytest.approx(0.4)
    assert row["realized_pnl"] == pytest.approx(5 * (0.6 - 0.4))
    assert row["current_size"] == 15.0


# ---------------------------------------------------------------------- an independent replay
def _exact_replay(truth: dict[str, Any]) -> dict[tuple[str, str], dict[str, Fraction]]:
    """The subgraph's rules over the ground-truth rows, in (timestamp, seq) order, in fractions.

    Written from pnl.md alone (not from the simulator's code): fills at their price, SPLIT and
    MERGE at 1/2 for both outcomes, REDEEM at the payout, CONVERSION with the derived YES price.
    """
    markets = {m["condition_id"]: m for m in truth["markets"]}
    events: list[tuple[int, int, str, Any]] = []
    for f in truth["fills"]:
        events.append((f["timestamp"], f["seq"], "fill", f))
    conversions = {c["transaction_hash"]: c for c in truth["conversions"]}
    first_rows: dict[str, int] = {}
    for a in truth["activity"]:
        if a["type"] in ("SPLIT", "MERGE", "REDEEM"):
            events.append((a["timestamp"], a["seq"], a["type"], a))
        elif a["type"] == "CONVERSION":
            first_rows[a["transaction_hash"]] = min(first_rows.get(a["transaction_hash"], a["seq"]), a["seq"])
    for tx, seq in first_rows.items():
        events.append((conversions[tx]["timestamp"], seq, "CONVERSION", conversions[tx]))
    state: dict[tuple[str, str], dict[str, Fraction]] = defaultdict(
        lambda: {"amount": Fraction(0), "avg": Fraction(0), "realized": Fraction(0), "bought": Fraction(0)}
    )

    def buy(key: tuple[str, str], size: Fraction, price: Fraction) -> None:
        p = state[key]
        p["avg"] = (p["avg"] * p["amount"] + price * size) / (p["amount"] + size)
        p["amount"] += size
        p["bought"] += size

    def sell(key: tuple[str, str], size: Fraction, price: Fraction | None) -> None:
        p = state[key]
        counted = min(size, p["amount"])
        p["realized"] += counted * ((p["avg"] if price is None else price) - p["avg"])
        p["amount"] -= counted

    def frac(x: float) -> Fraction:
        return Fraction(Decimal(repr(x)))

    for _, _, kind, row in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == "fill":
            key = (row["wallet"], row["asset"])
            if row["side"] == "BUY":
                buy(key, frac(row["size"]), frac(row["price"]))
            else:
                sell(key, frac(row["size"]), frac(row["price"]))
        elif kind in ("SPLIT", "MERGE"):
            for token in markets[row["condition_id"]]["token_ids"]:
                key = (row["wallet"], token)
                if kind == "SPLIT":
                    buy(key, frac(row["size"]), Fraction(1, 2))
                else:
                    sell(key, frac(row["size"]), Fraction(1, 2))
        elif kind == "REDEEM":
            market = markets[row["condition_id"]]
            tokens = market["token_ids"] if row["asset"] == "" else [row["asset"]]
            for token in tokens:
                payout = Fraction(1 if token == market["winner_asset"] else 0)
                sell((row["wallet"], token), state[(row["wallet"], token)]["amount"], payout)
        else:
            size = frac(row["size"])
            legs = [(row["wallet"], markets[c]["token_ids"][1]) for c in row["from_condition_ids"]]
            k, n = len(legs), len(legs) + len(row["to_condition_ids"])
            no_price = sum((state[leg]["avg"] for leg in legs), Fraction(0)) / k
            for leg in legs:
                sell(leg, size, None)
            for c in row["to_condition_ids"]:
                buy((row["wallet"], markets[c]["token_ids"][0]), size, (no_price * k - (k - 1)) / (n - k))
    return state


def test_figures_match_an_exact_replay_of_the_rows(sim: SimulatorServer) -> None:
    """The whole seeded history (trades, splits, merges, redeems, conversions) plus this module's changes."""
    truth = sim.model.ground_truth()
    expected = _exact_replay(truth)
    served = sim.admin.pnl_truth()
    compared = 0
    tolerance = Fraction(1, 10**9)
    for wallet, figures in served.items():
        for p in figures["positions"]:
            want = expected[(wallet, p["asset"])]
            assert abs(Fraction(Decimal(p["avg_price"])) - want["avg"]) < tolerance
            assert abs(Fraction(Decimal(p["realized_pnl"])) - want["realized"]) < tolerance
            assert Fraction(Decimal(p["total_bought"])) == want["bought"]
            assert Fraction(Decimal(p["tracked_shares"])) == want["amount"]
            compared += 1
        realized = sum(
            (expected[(wallet, p["asset"])]["realized"] for p in figures["positions"]), Fraction(0)
        )
        assert abs(Fraction(Decimal(figures["totals"]["realized_pnl"])) - realized) < tolerance
    assert compared > 300
