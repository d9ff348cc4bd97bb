"""The market model's invariants, checked on its ground truth (no HTTP here)."""

from __future__ import annotations

import re
import threading
from collections import Counter, defaultdict
from typing import Any

import pytest

from polymarket_pipeline.simulator.model import MarketModel, SimMarket, SimulatorConfig
from polymarket_pipeline.simulator.positions import CLOSE_REASONS
from polymarket_pipeline_tests.simulator.conftest import START, small_config


@pytest.fixture(scope="module")
def model() -> MarketModel:
    return MarketModel(
        small_config(seed=5, n_wallets=30, trades_per_wallet=30, duplicate_leg_probability=0.3)
    )


def _open_market(model: MarketModel) -> SimMarket:
    return next(m for m in model.markets if not m.closed)


def _running_sizes(truth: dict[str, Any]) -> dict[tuple[str, str], float]:
    """Replay the ledger in (timestamp, seq) order; assert no position ever goes negative or dusty.

    The ledger must agree with the fills: every fill is one TRADE entry of the same size.
    """
    trades = Counter(
        (f["wallet"], f["asset"], f["seq"], f["size"] if f["side"] == "BUY" else -f["size"])
        for f in truth["fills"]
    )
    ledger = truth["ledger"]
    traded = Counter((e["wallet"], e["asset"], e["seq"], e["delta"]) for e in ledger if e["kind"] == "TRADE")
    assert traded == trades
    held: dict[tuple[str, str], float] = defaultdict(float)
    for e in sorted(ledger, key=lambda e: (e["timestamp"], e["seq"])):
        key = (e["wallet"], e["asset"])
        held[key] = round(held[key] + e["delta"], 6)
        left = held[key]
        assert left >= 0, f"{e['wallet']} went negative on {e['asset']}"
        assert left == 0 or left >= 1 or e["delta"] > 0, f"a {e['kind']} left dust ({left}) for {e['wallet']}"
    return held


def test_identifiers_look_like_polymarket(model: MarketModel) -> None:
    assert all(re.fullmatch(r"0x[0-9a-f]{40}", w) for w in model.wallets)
    assert len(set(model.wallets)) == len(model.wallets) == 30
    for m in model.markets:
        assert re.fullmatch(r"0x[0-9a-f]{64}", m.condition_id)
        assert len(m.token_ids) == 2
        assert m.token_ids[0] != m.token_ids[1]
        assert all(t.isdigit() and 76 <= len(t) <= 78 for t in m.token_ids)
        if m.legacy:  # only legacy markets still carry a category a client can read
            assert m.category in {"Crypto", "US-current-affairs", "Sports", "Coronavirus"}
        else:
            assert m.category is None
            assert m.theme in {"Sports", "Politics", "Crypto", "Pop Culture", "Economics", "Tech"}


def test_same_seed_same_data_and_different_seed_differs() -> None:
    a = MarketModel(small_config(seed=3)).ground_truth()
    b = MarketModel(small_config(seed=3)).ground_truth()
    c = MarketModel(small_config(seed=4)).ground_truth()
    assert a == b
    assert a["wallets"] != c["wallets"]
    assert a["fills"] != c["fills"]


def test_same_seed_without_start_time_keeps_identities() -> None:
    a = MarketModel(SimulatorConfig(seed=9, n_wallets=5, n_markets=4, trades_per_wallet=5))
    b = MarketModel(SimulatorConfig(seed=9, n_wallets=5, n_markets=4, trades_per_wallet=5))
    assert a.wallets == b.wallets
    assert [m.condition_id for m in a.markets] == [m.condition_id for m in b.markets]
    assert [f["transaction_hash"] for f in a.ground_truth()["fills"]] == [
        f["transaction_hash"] for f in b.ground_truth()["fills"]
    ]


def test_history_has_resolutions_archives_redeems_and_closes(model: MarketModel) -> None:
    truth = model.ground_truth()
    assert any(m["closed"] for m in truth["markets"])
    assert any(m["archived"] for m in truth["markets"])
    assert all(m["closed"] for m in truth["markets"] if m["archived"])
    assert all(m["winner_asset"] in m["token_ids"] for m in truth["markets"] if m["closed"])
    reasons = Counter(c["reason"] for c in truth["closes"])
    assert {"manual_close", "redeemed", "market_closed"} <= set(reasons) <= set(CLOSE_REASONS)
    legacy = set(truth["legacy_markets"])
    assert legacy
    for f in truth["fills"]:
        if f["condition_id"] in legacy:  # 2022-23 markets, traded long before the window
            assert f["timestamp"] < START - 365 * 86_400
        else:
            assert START - 31 * 86_400 <= f["timestamp"] <= START


def test_every_taker_row_equals_its_maker_legs(model: MarketModel) -> None:
    by_tx: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in model.ground_truth()["fills"]:
        by_tx[f["transaction_hash"]].append(f)
    for rows in by_tx.values():
        takers = [r for r in rows if r["role"] == "taker"]
        makers = [r for r in rows if r["role"] == "maker"]
        assert len(takers) == 1
        assert 1 <= len(makers) <= 17
        taker = takers[0]
        assert round(sum(m["size"] for m in makers), 6) == taker["size"]
        assert {r["timestamp"] for r in rows} == {taker["timestamp"]}
        for m in makers:
            assert m["wallet"] != taker["wallet"]
            assert m["condition_id"] == taker["condition_id"]
            same_token = m["asset"] == taker["asset"]
            if same_token:  # direct match: the maker takes the other side of the same token
                assert m["side"] != taker["side"]
                assert m["price"] == taker["price"]
            else:  # CTF mint (both buy) or merge (both sell) of the complementary token at 1 - p
                assert m["side"] == taker["side"]
                assert m["price"] == pytest.approx(1 - taker["price"])


def test_identical_legs_stay_two_rows(model: MarketModel) -> None:
    def key(f: dict[str, Any]) -> tuple[Any, ...]:
        return (
            f["wallet"],
            f["transaction_hash"],
            f["asset"],
            f["side"],
            f["size"],
            f["price"],
            f["timestamp"],
        )

    dupes = [k for k, n in Counter(map(key, model.ground_truth()["fills"])).items() if n > 1]
    assert dupes, "the history should contain identical fills in one transaction"


def test_positions_never_negative_and_match_replayed_fills(model: MarketModel) -> None:
    truth = model.ground_truth()
    held = _running_sizes(truth)
    shown = {(p["wallet"], p["asset"]): p["size"] for p in truth["positions"] + truth["archived_positions"]}
    assert shown == {k: v for k, v in held.items() if v > 0}


def test_no_trades_on_resolved_markets(model: MarketModel) -> None:
    truth = model.ground_truth()
    closed_at = {m["condition_id"]: m["closed_at"] for m in truth["markets"] if m["closed"]}
    assert all(f["timestamp"] < closed_at.get(f["condition_id"], 10**12) for f in truth["fills"])
    market = next(m for m in model.markets if m.closed)
    with pytest.raises(ValueError, match="resolved"):
        model.inject_trade(model.wallets[0], market.token_ids[0], "BUY", 5, 0.5)


def test_cannot_sell_more_than_held_or_leave_dust() -> None:
    model = MarketModel(small_config(seed=21))
    market = _open_market(model)
    fresh = model.add_wallets(1, with_history=False)[0]
    with pytest.raises(ValueError, match="cannot sell"):
        model.inject_trade(fresh, market.token_ids[0], "SELL", 1, 0.5)
    model.inject_trade(fresh, market.token_ids[0], "BUY", 10, 0.5)
    with pytest.raises(ValueError, match="at least one share"):
        model.inject_trade(fresh, market.token_ids[0], "SELL", 9.5, 0.5)


def test_explicit_identical_maker_legs_are_kept() -> None:
    model = MarketModel(small_config(seed=22))
    market = _open_market(model)
    taker, maker = model.add_wallets(2, with_history=False)
    fills = model.inject_trade(
        taker, market.token_ids[1], "BUY", 10, 0.4, makers=[(maker, 5), (maker, 5)], timestamp=START + 10
    )
    assert [f["role"] for f in fills] == ["taker", "maker", "maker"]
    legs = [{k: v for k, v in f.items() if k != "seq"} for f in fills[1:]]
    assert legs[0] == legs[1]
    assert legs[0]["side"] == "BUY"
    assert legs[0]["asset"] == market.token_ids[0]
    assert legs[0]["price"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="sum of the maker legs"):
        model.inject_trade(taker, market.token_ids[1], "BUY", 11, 0.4, makers=[(maker, 5), (maker, 5)])


def test_maker_holding_the_token_sells_it() -> None:
    model = MarketModel(small_config(seed=23))
    market = _open_market(model)
    a, b, c = model.add_wallets(3, with_history=False)
    model.inject_trade(a, market.token_ids[0], "BUY", 20, 0.3, makers=[c])
    fills = model.inject_trade(b, market.token_ids[0], "BUY", 20, 0.35, makers=[a])
    assert (fills[1]["wallet"], fills[1]["side"], fills[1]["asset"]) == (a, "SELL", market.token_ids[0])
    closes = [x for x in model.ground_truth()["closes"] if x["wallet"] == a]
    assert closes == [
        {
            "wallet": a,
            "asset": market.token_ids[0],
            "condition_id": market.condition_id,
            "reason": "manual_close",
            "at": fills[0]["timestamp"],
        }
    ]


def _position_keys(model: MarketModel, wallet: str) -> set[str]:
    return {p["asset"] for p in model.ground_truth()["positions"] if p["wallet"] == wallet}


def test_close_redeem_and_archive_each_record_one_close() -> None:
    model = MarketModel(small_config(seed=24))
    m1, m2 = [m for m in model.markets if not m.closed][:2]
    closer, redeemer, holder, maker = model.add_wallets(4, with_history=False)
    model.inject_trade(closer, m1.token_ids[0], "BUY", 10, 0.5, makers=[maker])
    model.inject_trade(redeemer, m2.token_ids[0], "BUY", 10, 0.5, makers=[maker])
    model.inject_trade(holder, m2.token_ids[1], "BUY", 7, 0.5, makers=[maker])

    model.close_position(closer, m1.token_ids[0])
    assert _position_keys(model, closer) == set()

    model.resolve_market(m2.condition_id, 0)
    assert m2.closed
    assert m2.winner_index == 0
    assert m2.active
    assert not m2.accepting_orders
    assert _position_keys(model, redeemer) == {m2.token_ids[0]}  # resolved positions stay until redeemed
    rows = model.redeem(redeemer, m2.condition_id)
    assert [(r["type"], r["price"], r["side"], r["usdc_size"]) for r in rows] == [("REDEEM", 0.0, "", 10.0)]
    model.archive_market(m2.condition_id)
    assert _position_keys(model, holder) == set()
    maker_lost = model.redeem(maker, m2.condition_id)  # the maker kept 3 shares of the losing side
    assert len({r["transaction_hash"] for r in maker_lost}) == 1
    assert [(r["size"], r["usdc_size"]) for r in maker_lost] == [(3.0, 0.0)]

    reasons = {
        (c["wallet"], c["reason"])
        for c in model.ground_truth()["closes"]
        if c["wallet"] in {closer, redeemer, holder}
    }
    assert reasons == {(closer, "manual_close"), (redeemer, "redeemed"), (holder, "market_closed")}


def test_resolution_and_archive_rules() -> None:
    model = MarketModel(small_config(seed=25))
    market = _open_market(model)
    with pytest.raises(ValueError, match="resolved before"):
        model.archive_market(market.condition_id)
    model.resolve_market(market.condition_id, 1)
    model.resolve_market(market.condition_id, 1)  # idempotent
    with pytest.raises(ValueError, match="already resolved"):
        model.resolve_market(market.condition_id, 0)
    assert market.price_of(1) == 1.0
    assert market.price_of(0) == 0.0


def test_add_wallets_backfills_without_touching_existing_wallets() -> None:
    model = MarketModel(small_config(seed=26, trades_per_wallet=8))
    before = model.ground_truth()["fills"]
    new = model.add_wallets(3)
    after = model.ground_truth()["fills"]
    old_wallets = set(model.wallets) - set(new)
    assert [f for f in after if f["wallet"] in old_wallets] == before
    takers = Counter(f["wallet"] for f in after if f["role"] == "taker" and f["wallet"] in new)
    assert takers == dict.fromkeys(new, 8)
    assert all(f["timestamp"] <= START for f in after if f["wallet"] in new)


def test_concurrent_mutations_keep_the_books_consistent() -> None:
    model = MarketModel(small_config(seed=27))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(25):
                model.generate_trades(2)
                model.position_views(model.wallets[0])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    truth = model.ground_truth()
    _running_sizes(truth)
    assert len({f["seq"] for f in truth["fills"]}) == len(truth["fills"])


PINNED_START = 1_790_000_000
"""A history anchor whose seed-5 history holds every kind of change (a conversion included).

The seeded history depends on the anchor as well as the seed (some draws span absolute dates),
so with the wall-clock ``START`` some hours gave a history without a conversion."""


def test_ground_truth_exports_every_kind_of_change() -> None:
    """The keys pipeline tests compare against; each list holds what the API serves or cannot show."""
    model = MarketModel(
        small_config(
            seed=5, n_wallets=30, trades_per_wallet=30, duplicate_leg_probability=0.3, start_time=PINNED_START
        )
    )
    truth = model.ground_truth()
    assert set(truth) == {
        "wallets",
        "fills",
        "positions",
        "archived_positions",
        "closes",
        "markets",
        "events",
        "activity",
        "ledger",
        "conversions",
        "winnerless_markets",
        "neg_risk_markets",
        "legacy_markets",
        "blank_token_markets",
    }
    assert {a["type"] for a in truth["activity"]} == {
        "TRADE",
        "REDEEM",
        "SPLIT",
        "MERGE",
        "CONVERSION",
        "REWARD",
        "MAKER_REBATE",
        "TAKER_REBATE",
    }
    assert {"feed_degraded", "usdc_size", "fee", "role", "seq"} <= set(truth["fills"][0])
    assert {"condition_id", "asset", "outcome_index", "usdc_size"} <= set(truth["activity"][0])
    assert set(truth["closes"][0]) == {"wallet", "asset", "condition_id", "reason", "at"}
    assert {"winner_flagged", "winnerless", "neg_risk", "legacy", "served_token_ids", "category"} <= set(
        truth["markets"][0]
    )
    assert set(truth["ledger"][0]) == {
        "wallet",
        "asset",
        "condition_id",
        "delta",
        "kind",
        "timestamp",
        "transaction_hash",
        "seq",
    }
    assert {c["collateral"] >= 0 for c in truth["conversions"]} == {True}
    flagged = {m["condition_id"] for m in truth["markets"] if m["closed"] and not m["winner_flagged"]}
    assert flagged == set(truth["winnerless_markets"])
    assert set(truth["blank_token_markets"]) <= set(truth["legacy_markets"])
    assert {e["event_id"] for e in truth["events"]} == {
        m["event_id"] for m in truth["markets"] if m["condition_id"] in truth["neg_risk_markets"]
    }
