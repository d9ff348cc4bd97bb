"""SPLIT, MERGE and CONVERSION through /_sim and over HTTP: positions move, no /trades row appears."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from polymarket_pipeline.simulator.admin import SimulatorAdminError
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline_tests.simulator import fields
from polymarket_pipeline_tests.simulator.conftest import small_config

UNLABELED = 999


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """A history whose neg-risk event (4 markets) is still open, so conversions are possible."""
    with SimulatorServer(small_config(seed=16)) as server:
        yield server


def _sizes(http: httpx.Client, wallet: str) -> tuple[dict[str, float], dict[str, float]]:
    v1 = {
        r["asset"]: r["size"]
        for r in http.get("/data/positions", params={"user": wallet, "limit": 500}).json()
    }
    v2 = {
        r["token_id"]: r["current_size"]
        for r in http.get("/data/v2/positions", params={"user": wallet, "limit": 1000}).json()["data"]
    }
    return v1, v2


def _closes(sim: SimulatorServer, wallet: str) -> set[tuple[str, str]]:
    return {(c["asset"], c["reason"]) for c in sim.model.ground_truth()["closes"] if c["wallet"] == wallet}


def _standalone(sim: SimulatorServer) -> Any:
    return next(m for m in sim.model.markets if not m.closed and not m.neg_risk and not m.legacy)


def test_split_grows_both_positions_without_a_trade(sim: SimulatorServer, http: httpx.Client) -> None:
    market = _standalone(sim)
    (wallet,) = sim.admin.add_wallets(1, with_history=False)
    rows = sim.admin.split(wallet, market.condition_id, 50)
    assert [
        (r["type"], r["condition_id"], r["asset"], r["outcome_index"], r["size"], r["usdc_size"])
        for r in rows
    ] == [("SPLIT", market.condition_id, "", UNLABELED, 50.0, 50.0)]
    both = {market.token_ids[0]: 50.0, market.token_ids[1]: 50.0}
    assert _sizes(http, wallet) == (both, both)
    positions = http.get("/data/positions", params={"user": wallet}).json()
    assert all(p["mergeable"] for p in positions)
    assert http.get("/data/trades", params={"user": wallet, "takerOnly": "false"}).json() == []
    served = http.get("/data/v2/activity", params={"user": wallet}).json()["data"]
    assert [(r["type"], r["token_id"], r["outcome_index"], r["price"], r["side"]) for r in served] == [
        ("SPLIT", "", UNLABELED, 0, "")
    ]
    assert set(served[0]) == fields.V2_ACTIVITY


def test_merge_shrinks_both_and_a_whole_merge_closes_them(sim: SimulatorServer, http: httpx.Client) -> None:
    market = _standalone(sim)
    (wallet,) = sim.admin.add_wallets(1, with_history=False)
    sim.admin.split(wallet, market.condition_id, 40)
    merged = sim.admin.merge(wallet, market.condition_id, 15)
    assert [(r["type"], r["size"], r["usdc_size"]) for r in merged] == [("MERGE", 15.0, 15.0)]
    both = {market.token_ids[0]: 25.0, market.token_ids[1]: 25.0}
    assert _sizes(http, wallet) == (both, both)
    with pytest.raises(SimulatorAdminError, match="cannot merge"):
        sim.admin.merge(wallet, market.condition_id, 26)
    with pytest.raises(SimulatorAdminError, match="at least one share"):
        sim.admin.merge(wallet, market.condition_id, 24.5)
    sim.admin.merge(wallet, market.condition_id)  # everything it can
    assert _sizes(http, wallet) == ({}, {})
    assert _closes(sim, wallet) == {(market.token_ids[0], "merged"), (market.token_ids[1], "merged")}
    assert http.get("/data/trades", params={"user": wallet, "takerOnly": "false"}).json() == []
    ledger = [e for e in sim.model.ground_truth()["ledger"] if e["wallet"] == wallet]
    assert sorted((e["kind"], e["delta"]) for e in ledger) == sorted(
        [("SPLIT", 40.0)] * 2 + [("MERGE", -15.0)] * 2 + [("MERGE", -25.0)] * 2
    )


def test_a_merge_of_part_of_a_bought_pair_keeps_the_rest(sim: SimulatorServer, http: httpx.Client) -> None:
    market = _standalone(sim)
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    sim.admin.inject_trade(wallet, market.token_ids[0], "BUY", 30, 0.4, makers=[maker])
    sim.admin.inject_trade(wallet, market.token_ids[1], "BUY", 10, 0.6, makers=[maker])
    sim.admin.merge(wallet, market.condition_id)
    assert _sizes(http, wallet)[0] == {market.token_ids[0]: 20.0}
    assert _closes(sim, wallet) == {(market.token_ids[1], "merged")}


def test_conversion_turns_no_tokens_into_yes_of_the_other_markets(
    sim: SimulatorServer, http: httpx.Client
) -> None:
    (event,) = sim.admin.events()
    ids = event["condition_ids"]
    markets = [sim.model.market(c) for c in ids]
    assert all(m is not None and not m.closed for m in markets)
    wallet, maker = sim.admin.add_wallets(2, with_history=False)
    first, second = markets[0], markets[1]
    assert first is not None
    assert second is not None
    sim.admin.inject_trade(wallet, first.token_ids[1], "BUY", 10, 0.7, makers=[maker])
    sim.admin.inject_trade(wallet, second.token_ids[1], "BUY", 10, 0.7, makers=[maker])
    rows = sim.admin.convert(wallet, [first.condition_id, second.condition_id], 10)
    assert sorted(
        (r["type"], r["condition_id"], r["asset"], r["size"], r["usdc_size"]) for r in rows
    ) == sorted(("CONVERSION", m.condition_id, "", 10.0, 0.0) for m in (first, second))
    others = [m for m in markets[2:] if m is not None]
    yes = {m.token_ids[0]: 10.0 for m in others}
    assert _sizes(http, wallet) == (yes, yes)  # the NO positions are gone, YES ones appeared
    assert _closes(sim, wallet) == {(first.token_ids[1], "converted"), (second.token_ids[1], "converted")}
    conversion = next(c for c in sim.model.ground_truth()["conversions"] if c["wallet"] == wallet)
    assert conversion["to_condition_ids"] == [m.condition_id for m in others]
    assert conversion["collateral"] == 10.0  # (k - 1) x size: what the rows do not show
    served = http.get("/data/activity", params={"user": wallet, "type": "CONVERSION"}).json()
    assert {(r["conditionId"], r["asset"], r["outcomeIndex"]) for r in served} == {
        (first.condition_id, "", UNLABELED),
        (second.condition_id, "", UNLABELED),
    }
    with pytest.raises(SimulatorAdminError, match="neg-risk"):
        sim.admin.convert(wallet, _standalone(sim).condition_id, 1)
    with pytest.raises(SimulatorAdminError, match="cannot convert"):
        sim.admin.convert(wallet, ids[3], 1)


def test_split_and_reward_validation(sim: SimulatorServer) -> None:
    closed = next(m for m in sim.model.markets if m.closed)
    wallet = sim.model.wallets[0]
    with pytest.raises(SimulatorAdminError, match="resolved"):
        sim.admin.split(wallet, closed.condition_id, 5)
    with pytest.raises(SimulatorAdminError, match="at least one share"):
        sim.admin.split(wallet, _standalone(sim).condition_id, 0.5)
    with pytest.raises(SimulatorAdminError, match="kind"):
        sim.admin.reward(wallet, 5, kind="TIP")
    with pytest.raises(SimulatorAdminError, match="positive"):
        sim.admin.reward(wallet, 0)
