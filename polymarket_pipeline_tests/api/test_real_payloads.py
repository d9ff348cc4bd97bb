"""Fidelity: every response recorded from the live APIs (``shared/real_payloads``) goes through the
project's parsing, with the values a user relies on checked.

The files outrank the simulator and any reading of the docs. Files of routes the pipeline does not
call are still read here: through the parser that applies (Gamma ``/events`` listings), or shown to
be out of scope (leaderboards, a websocket message), where the test states what happens to them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from polymarket_pipeline.api import clob, gamma
from polymarket_pipeline.api.data import v1, v2
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.validation import ParseContext, Rejections
from polymarket_pipeline.domain.fills import union_pages
from polymarket_pipeline.domain.records import Activity, Fill, MarketMetadata, MarketResolution, Position

NOW = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())
"""The recordings are older than this; pinned so the tests do not depend on the machine's clock."""


def _payload_dir() -> Path | None:
    env = os.environ.get("POLYMARKET_REAL_PAYLOADS")
    here = Path(__file__).resolve().parents[2]  # the repository root
    for candidate in (env, here.parent / "shared" / "real_payloads", "/work/shared/real_payloads"):
        if candidate and Path(candidate, "README.md").is_file():
            return Path(candidate)
    return None


DIR = _payload_dir()
if DIR is None:  # pragma: no cover - depends on the machine
    if os.environ.get("CI") == "true":
        raise RuntimeError("shared/real_payloads not found (set POLYMARKET_REAL_PAYLOADS)")
    pytest.skip("shared/real_payloads not found", allow_module_level=True)


def load(name: str) -> Any:
    assert DIR is not None
    return json.loads((DIR / name).read_text())


def every_file() -> list[str]:
    assert DIR is not None
    return sorted(str(p.relative_to(DIR)) for p in DIR.glob("*/*.json"))


def parse_v1(name: str, model: Any, wallet: str | None, route: str) -> tuple[list[Any], Rejections]:
    rejections = Rejections(ApiStats())
    return v1.parse_page(ParseContext(route, wallet, NOW), model, load(name), rejections), rejections


def parse_v2(
    name: str, model: Any, wallet: str | None, route: str
) -> tuple[list[Any], str | None, Rejections]:
    rejections = Rejections(ApiStats())
    records, cursor = v2.parse_page(ParseContext(route, wallet, NOW), model, load(name), rejections)
    return records, cursor, rejections


def clob_market(name: str, body: Any = None) -> tuple[MarketResolution | None, Rejections]:
    rejections = Rejections(ApiStats())
    ctx = ParseContext(clob.ROUTE, None, NOW)
    return clob.parse_market(load(name) if body is None else body, ctx, rejections), rejections


def gamma_markets(name: str) -> tuple[list[MarketMetadata], Rejections]:
    rejections = Rejections(ApiStats())
    return gamma.parse_markets(load(name), ParseContext(gamma.ROUTE, None, NOW), rejections), rejections


def gamma_events(name: str) -> tuple[list[MarketMetadata], Rejections]:
    rejections = Rejections(ApiStats())
    return gamma.parse_events(load(name), ParseContext("GET /events", None, NOW), rejections), rejections


# --- the inventory: a new file must get a test -----------------------------------------------------

COVERED = {
    "docs/v1_value_docs_example.json",
    "docs/v2_docs_overview_positions_example.json",
    "docs/v2_value_docs_example.json",
    "nautilus/clob_market_closed_binary_accepting_false.json",
    "nautilus/clob_market_closed_binary_accepting_true.json",
    "nautilus/data_api_positions_response.json",
    "nautilus/data_api_trades_response.json",
    "nautilus/gamma_event.json",
    "nautilus/gamma_market.json",
    "nautilus/gamma_market_closed_binary_accepting_false.json",
    "nautilus/gamma_market_closed_binary_accepting_true.json",
    "nautilus/gamma_market_closed_nonbinary_legacy.json",
    "nautilus/gamma_market_closed_zero_zero_legacy.json",
    "nautilus/gamma_market_sports_market_map_handicap.json",
    "nautilus/gamma_market_sports_market_money_line.json",
    "nautilus/py_event.json",
    "nautilus/py_events_list.json",
    "nautilus/py_market.json",
    "nautilus/py_market_slug.json",
    "nautilus/py_markets_list.json",
    "nautilus/py_trades.json",
    "nautilus/v2_data_api_positions_response_SYNTHETIC.json",
    "nautilus/v2_data_api_trades_captured_response.json",
    "pscanner/activity.json",
    "pscanner/closed_positions.json",
    "pscanner/event.json",
    "pscanner/leaderboard.json",
    "pscanner/market.json",
    "pscanner/positions.json",
    "pscanner/ws_trade.json",
    "smart_money/activity.json",
    "smart_money/activity_all.json",
    "smart_money/leaderboard.json",
    "smart_money/positions.json",
    "smart_money/trades.json",
}


def test_every_recorded_file_has_a_test() -> None:
    assert set(every_file()) == COVERED


# --- Data API: trades ------------------------------------------------------------------------------


def test_smart_money_v1_trades() -> None:
    fills, rejections = parse_v1("smart_money/trades.json", v1.V1Trade, None, "GET /trades")
    assert rejections.count == 0
    assert len(fills) == 5
    first = fills[0]
    assert first == Fill(
        wallet_address="0xac482f27ac3d1144ca4f778af405eb5cac5d2feb",
        side="BUY",
        asset="36187795093008220558219256261729424135850137511571634448544248306719357578130",
        condition_id="0xace3c72c24fccb6731433483ece41c780432d84850edccd5a6bf3147ccea62a9",
        size=30974.624038,
        price=0.968534758,  # the float tail, bit for bit
        timestamp=1784327295,
        transaction_hash="0x08ca97f515b68442551056509ad20022fe2442986d971a6f9321d286bd39dd8f",
        title="Will the US confirm that aliens exist by September 30?",
        slug="will-the-us-confirm-that-aliens-exist-by-september-30-396",
        event_slug="will-the-us-confirm-that-aliens-exist-before-2027",
        outcome="No",
        outcome_index=1,
    )
    raw = load("smart_money/trades.json")
    assert [f.price for f in fills] == [r["price"] for r in raw]
    assert [f.size for f in fills] == [float(r["size"]) for r in raw]


def test_nautilus_v1_trades_with_missing_display_fields() -> None:
    fills, rejections = parse_v1("nautilus/data_api_trades_response.json", v1.V1Trade, None, "GET /trades")
    assert rejections.count == 0
    assert [(f.side, f.price, f.size) for f in fills] == [
        ("BUY", 0.55, 100.0),
        ("SELL", 0.53, 50.0),
        ("BUY", 0.45, 75.0),
    ]
    assert fills[2].title is None  # absent on the wire
    assert fills[2].outcome_index is None


def test_nautilus_python_v1_trades() -> None:
    fills, rejections = parse_v1("nautilus/py_trades.json", v1.V1Trade, None, "GET /trades")
    raw = load("nautilus/py_trades.json")
    assert rejections.count == 0
    assert len(fills) == len(raw)
    assert [f.outcome_index for f in fills] == [r["outcomeIndex"] for r in raw]
    assert all(f.event_slug == "presidential-election-winner-2024" for f in fills)


def test_v2_trades_capture() -> None:
    fills, cursor, rejections = parse_v2(
        "nautilus/v2_data_api_trades_captured_response.json", v2.V2Trade, None, "GET /v2/trades"
    )
    assert rejections.count == 0
    assert cursor is None  # has_more false, next_cursor null
    assert [f.price for f in fills] == [0.7, 0.709999959, 0.2972581967]
    assert [f.size for f in fills] == [92.59, 1.464786, 244.0]
    assert [f.outcome_index for f in fills] == [0, 0, 1]
    assert fills[2].asset == "10000000000000000000000000000000000000000000000000000000000000000000000000002"
    assert fills[0].outcome == "T1"
    # the same fill through v1's spelling is the same record
    row = load("nautilus/v2_data_api_trades_captured_response.json")["data"][0]
    camel = {
        "proxyWallet": row["proxy_wallet"],
        "side": row["side"],
        "asset": row["token_id"],
        "conditionId": row["condition_id"],
        "size": row["size"],
        "price": row["price"],
        "timestamp": row["timestamp"],
        "title": row["title"],
        "slug": row["slug"],
        "eventSlug": row["event_slug"],
        "outcome": row["outcome"],
        "outcomeIndex": row["outcome_index"],
        "transactionHash": row["transaction_hash"],
    }
    rejections = Rejections()
    (same,) = v1.parse_page(ParseContext("GET /trades", None, NOW), v1.V1Trade, [camel], rejections)
    assert same == fills[0]


# --- Data API: positions ---------------------------------------------------------------------------


def test_pscanner_positions_redeemable_winners_and_losers() -> None:
    wallet = "0x6a72f61820b26b1fe4d956e17b6dc2a1ea3033ee"
    positions, rejections = parse_v1("pscanner/positions.json", v1.V1Position, wallet, "GET /positions")
    assert rejections.count == 0
    assert [(p.cur_price, p.redeemable) for p in positions] == [
        (0.9145, False),
        (0.525, False),
        (1.0, True),  # a resolved winner stays listed until redeemed
        (0.0, True),  # a resolved loser too, worth 0
        (0.0, True),
    ]
    first = positions[0]
    assert first.size == 271790.1
    assert first.avg_price == 0.8611
    assert first.cash_pnl == 14507.3401
    assert first.end_date == date(2026, 6, 30)
    assert first.negative_risk is True
    assert first.outcome == "No"
    assert first.outcome_index == 1
    assert first.event_slug == "2026-nhl-stanley-cup-champion"


def test_smart_money_positions_losers() -> None:
    wallet = "0x09b428f7c2b469786286214aa5c90dd9015f7320"
    positions, rejections = parse_v1("smart_money/positions.json", v1.V1Position, wallet, "GET /positions")
    assert rejections.count == 0
    assert [(p.size, p.current_value, p.cash_pnl, p.redeemable) for p in positions] == [
        (2251963.1237, 0.0, -1145352.9486, True),
        (440000.0, 0.0, -226519.48, True),
    ]


def test_nautilus_v1_positions_reject_the_row_with_a_forged_condition_id() -> None:
    wallet = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
    positions, rejections = parse_v1(
        "nautilus/data_api_positions_response.json", v1.V1Position, wallet, "GET /positions"
    )
    assert [p.asset for p in positions][1:] == ["9999999999999999999", "8888888888888888888"]
    assert positions[0].condition_id == "0xc8f1cf5d4f26e0fd9c8fe89f2a7b3263b902cf14fde7bfccef525753bb492e47"
    assert rejections.count == 1  # conditionId "0xdust000…" is not 64 hex digits
    assert "row 3" in rejections.samples[0]
    assert "'conditionId'" in rejections.samples[0]
    assert positions[1].size == 0.0


def test_v2_positions_docs_example() -> None:
    positions, cursor, rejections = parse_v2(
        "docs/v2_docs_overview_positions_example.json",
        v2.V2Position,
        "0x983eedfbd75803602e4a6e6ea9aab6dc6b9c6748",
        "GET /v2/positions",
    )
    assert rejections.count == 0
    assert cursor is not None
    assert cursor.startswith("eyJkYXRh")
    (pos,) = positions
    assert pos == Position(
        wallet_address="0x983eedfbd75803602e4a6e6ea9aab6dc6b9c6748",
        asset="31974447302330162086995746309500877260929998201718217388109724292047967921664",
        condition_id="0xd9b06e2fd9ddb7ab61c9e3d5d8e074c555802478bbf75145804ff709a4246f79",
        size=86780.64,
        avg_price=0.5203,
        current_value=0.0,
        initial_value=45159.4653,
        cash_pnl=-45159.4653,  # unrealized
        realized_pnl=-1082.5533,
        title="Will ŠK Slovan Bratislava win on 2026-08-19?",
        outcome="Yes",
    )


def test_v2_positions_synthetic_shape() -> None:
    wallet = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
    positions, cursor, rejections = parse_v2(
        "nautilus/v2_data_api_positions_response_SYNTHETIC.json", v2.V2Position, wallet, "GET /v2/positions"
    )
    assert rejections.count == 0
    assert cursor is None
    assert [(p.size, p.total_bought, p.redeemable) for p in positions] == [
        (150.5, 150.5, False),
        (0.0, 100.0, False),
        (42.0, 42.0, True),
    ]
    assert positions[2].end_date == date(2028, 11, 5)


def test_closed_positions_are_out_of_scope() -> None:
    """v1 ``/closed-positions`` is not called: the pipeline derives closes from snapshots. Its rows
    have no ``size``, so read as ``/positions`` every row is rejected instead of becoming a position."""
    wallet = "0x6a72f61820b26b1fe4d956e17b6dc2a1ea3033ee"
    positions, rejections = parse_v1(
        "pscanner/closed_positions.json", v1.V1Position, wallet, "GET /positions"
    )
    assert positions == []
    assert rejections.count == len(load("pscanner/closed_positions.json"))
    assert "missing required field 'size'" in rejections.samples[0]


def test_closed_positions_carry_polymarkets_own_figures() -> None:
    """Read as ``/closed-positions`` rows, each is a position with no shares and the API's avg,
    lifetime bought and realized PnL (what the PnL check compares with the replay)."""
    wallet = "0x6a72f61820b26b1fe4d956e17b6dc2a1ea3033ee"
    closed, rejections = parse_v1(
        "pscanner/closed_positions.json", v1.V1ClosedPosition, wallet, "GET /closed-positions"
    )
    rows = load("pscanner/closed_positions.json")
    assert rejections.count == 0
    assert len(closed) == len(rows)
    first = closed[0]
    assert first.size == 0.0
    assert (first.avg_price, first.total_bought, first.realized_pnl) == (0.27, 1_500_000, 1_095_000)
    assert first.cur_price == 1
    assert first.outcome_index == 1
    assert [p.asset for p in closed] == [r["asset"] for r in rows]


# --- Data API: activity ----------------------------------------------------------------------------


def test_smart_money_redeems_of_neg_risk_markets() -> None:
    wallet = "0x09b428f7c2b469786286214aa5c90dd9015f7320"
    items, rejections = parse_v1("smart_money/activity.json", v1.V1Activity, wallet, "GET /activity")
    assert rejections.count == 0
    assert len(items) == 15
    assert all(a.type == "REDEEM" for a in items)
    assert all(a.condition_id is not None and a.asset is None and a.outcome is None for a in items)
    assert all(a.outcome_index is None and a.side is None and a.price == 0.0 for a in items)
    assert all(a.size == a.usdc_size for a in items)  # the USDC paid; 0 for losers
    shared = Counter(a.transaction_hash for a in items).most_common(1)[0]
    assert shared[1] == 5  # one redeem transaction covers five markets
    same_tx = [a for a in items if a.transaction_hash == shared[0]]
    assert len({a.activity_id() for a in same_tx}) == 5  # five rows, five identities
    assert items[0].event_slug == "fifwc-fra-esp-2026-07-14-more-markets"


def test_smart_money_rewards_rebates_and_trades() -> None:
    wallet = "0x09b428f7c2b469786286214aa5c90dd9015f7320"
    items, rejections = parse_v1("smart_money/activity_all.json", v1.V1Activity, wallet, "GET /activity")
    raw = load("smart_money/activity_all.json")
    assert rejections.count == 0
    assert len(items) == len(raw) == 50
    by_type = Counter(a.type for a in items)
    assert by_type == Counter(r["type"] for r in raw)
    for item in items:
        if item.type in ("REWARD", "MAKER_REBATE", "TAKER_REBATE"):
            assert (item.condition_id, item.asset, item.title, item.side) == (None, None, None, None)
            assert item.size == item.usdc_size
        if item.type == "TRADE":
            assert item.asset is not None
            assert item.side == "BUY"
            assert item.outcome_index in (0, 1)
    # usdcSize is stored as sent, never recomputed from size x price
    trade = next(a for a in items if a.type == "TRADE")
    assert (trade.size, trade.usdc_size, trade.price) == (402482.85, 267876.215535, 0.6542489661)
    assert union_pages([items]) == items  # one page: repeated rows are distinct rows


def test_pscanner_trade_activity_keeps_long_price_tails() -> None:
    wallet = "0x6a72f61820b26b1fe4d956e17b6dc2a1ea3033ee"
    items, rejections = parse_v1("pscanner/activity.json", v1.V1Activity, wallet, "GET /activity")
    raw = load("pscanner/activity.json")
    assert rejections.count == 0
    assert [a.price for a in items] == [r["price"] for r in raw]
    assert items[2].price == 0.7671607282693813
    assert items[3].size == 2538.2661200000002
    assert all(isinstance(a, Activity) and a.type == "TRADE" for a in items)


# --- Data API: value -------------------------------------------------------------------------------


def test_v1_value_array() -> None:
    wallet = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
    ctx = ParseContext("GET /value", wallet, NOW)
    value = v1.parse_value(ctx, load("docs/v1_value_docs_example.json"), Rejections())
    assert value.value == 123.0
    rejections = Rejections()
    other = v1.parse_value(
        ParseContext("GET /value", "0x" + "1" * 40, NOW), load("docs/v1_value_docs_example.json"), rejections
    )
    assert other.value is None  # another wallet's value is not ours
    assert rejections.count == 1


def test_v2_value_real_body_with_proxy_wallet() -> None:
    wallet = "0x56687bf447db6ffa42ffe2204a05edaa20f55839"
    value = v2.parse_value(
        ParseContext("GET /v2/value", wallet, NOW), load("docs/v2_value_docs_example.json"), Rejections()
    )
    assert value.value == 0.0
    assert value.wallet_address == wallet
    rejections = Rejections()
    other = v2.parse_value(
        ParseContext("GET /v2/value", "0x" + "1" * 40, NOW),
        load("docs/v2_value_docs_example.json"),
        rejections,
    )
    assert other.value is None
    assert "belongs to wallet 0x56687bf447db6ffa42ffe2204a05edaa20f55839" in rejections.samples[0]


# --- CLOB ------------------------------------------------------------------------------------------

KATANA = "0x8ccc3f4951ff02c1d34b87988752b4444ad17228732780a6cf22afefe8478bb6"
KATANA_NO = "89711174926330519158043401581181146613785179104141808554061413232025882707365"
CEASEFIRE = "0xd57eed0d44f5b8ca54925d8d6ff440b146b3e6e071da18136ee3ee572d34479e"
CEASEFIRE_YES = "22978793223071892222859460592277435458011604214087068523744633723809814935807"


@pytest.mark.parametrize(
    ("name", "condition_id", "winner"),
    [
        ("nautilus/clob_market_closed_binary_accepting_false.json", KATANA, KATANA_NO),
        ("nautilus/clob_market_closed_binary_accepting_true.json", CEASEFIRE, CEASEFIRE_YES),
    ],
)
def test_clob_resolved_markets_with_and_without_winner_flags(
    name: str, condition_id: str, winner: str
) -> None:
    market, rejections = clob_market(name)
    assert rejections.count == 0
    assert market is not None
    assert market.condition_id == condition_id
    assert market.active is True  # still "active" after resolution
    assert market.closed is True
    assert market.winner_asset == winner
    assert market.resolved
    # like 74 of 98 real closed markets: no winner flag, prices 1/0 -> the same winner
    body = load(name)
    for token in body["tokens"]:
        token["winner"] = False
    unflagged, _ = clob_market(name, body)
    assert unflagged is not None
    assert unflagged.winner_asset == winner


def test_clob_token_with_empty_id_is_dropped_and_the_market_still_parses() -> None:
    body = load("nautilus/clob_market_closed_binary_accepting_false.json")
    body["tokens"].append({"outcome": "Legacy", "price": 0, "token_id": "", "winner": False})
    market, rejections = clob_market("", body)
    assert market is not None
    assert [t.token_id for t in market.tokens] == [t["token_id"] for t in body["tokens"][:2]]
    assert market.winner_asset == KATANA_NO
    assert rejections.count == 1
    assert "empty token_id; dropped" in rejections.samples[0]


def test_clob_market_without_a_usable_token_is_skipped() -> None:
    body = load("nautilus/clob_market_closed_binary_accepting_false.json")
    for token in body["tokens"]:
        token["token_id"] = ""
    market, rejections = clob_market("", body)
    assert market is None
    assert "no usable token list; market skipped" in rejections.samples[-1]


def test_clob_open_neg_risk_market() -> None:
    market, rejections = clob_market("nautilus/py_market.json")
    assert rejections.count == 0
    assert market is not None
    assert market.closed is False
    assert market.winner_asset is None
    assert [t.price for t in market.tokens] == [0.4865, 0.5135]
    assert "Politics" in market.tags


# --- Gamma -----------------------------------------------------------------------------------------


def test_gamma_resolved_markets_agree_with_clob() -> None:
    for accepting in ("false", "true"):
        gamma_name = f"nautilus/gamma_market_closed_binary_accepting_{accepting}.json"
        clob_name = f"nautilus/clob_market_closed_binary_accepting_{accepting}.json"
        (meta,), rejections = gamma_markets(gamma_name)
        resolution, _ = clob_market(clob_name)
        assert rejections.count == 0
        assert resolution is not None
        assert meta.condition_id == resolution.condition_id
        assert meta.clob_token_ids == tuple(t.token_id for t in resolution.tokens)
        assert meta.closed is True
        assert meta.winner_asset == resolution.winner_asset
    (katana,), _ = gamma_markets("nautilus/gamma_market_closed_binary_accepting_false.json")
    assert katana.uma_resolution_status == "resolved"
    assert katana.outcomes == ("Yes", "No")
    assert katana.outcome_prices == (0.0, 1.0)
    assert katana.end_date == datetime(2028, 1, 1, 5, tzinfo=UTC)


def test_gamma_legacy_markets_without_a_winner() -> None:
    (nonbinary,), _ = gamma_markets("nautilus/gamma_market_closed_nonbinary_legacy.json")
    assert nonbinary.closed is True
    assert nonbinary.outcome_prices == (0.5843311669077693, 0.4156688330922307)  # decimal strings
    assert nonbinary.winner_asset is None  # closed, but not settled at 1/0
    assert nonbinary.category == "Crypto"  # legacy markets carry their own category
    (zero,), _ = gamma_markets("nautilus/gamma_market_closed_zero_zero_legacy.json")
    assert zero.outcome_prices == (0.0, 0.0)
    assert zero.winner_asset is None
    assert zero.category == "US-current-affairs"


@pytest.mark.parametrize(
    "name",
    [
        "nautilus/gamma_market_sports_market_money_line.json",
        "nautilus/gamma_market_sports_market_map_handicap.json",
    ],
)
def test_gamma_sports_markets_event_and_winner(name: str) -> None:
    (meta,), rejections = gamma_markets(name)
    raw = load(name)
    assert rejections.count == 0
    assert meta.category is None  # empty on current markets
    assert meta.closed is True
    assert meta.uma_resolution_status == "resolved"
    assert meta.outcome_prices == (1.0, 0.0)
    assert meta.winner_asset == json.loads(raw["clobTokenIds"])[0]
    assert meta.outcomes == tuple(json.loads(raw["outcomes"]))
    assert meta.event_category is None
    assert meta.event_tags == ()


def test_gamma_open_markets_with_events() -> None:
    (updown,), _ = gamma_markets("nautilus/gamma_market.json")
    assert updown.closed is False
    assert updown.outcomes == ("Up", "Down")
    assert updown.winner_asset is None
    (ceasefire,), _ = gamma_markets("pscanner/market.json")
    assert ceasefire.outcome_prices == (0.525, 0.475)
    assert (
        ceasefire.clob_token_ids[0]
        == "8501497159083948713316135768103773293754490207922884688769443031624417212426"
    )


def test_gamma_market_by_slug_with_real_arrays() -> None:
    (meta,), rejections = gamma_markets("nautilus/py_market_slug.json")
    assert rejections.count == 0
    assert len(meta.clob_token_ids) == 2
    assert meta.outcomes == ()


def test_gamma_markets_list_rejects_rows_with_forged_condition_ids() -> None:
    markets, rejections = gamma_markets("nautilus/py_markets_list.json")
    assert [m.condition_id for m in markets] == [
        "0x4319532e181605cb15b1bd677759a3bc7f7394b2fdf145195b700eeaedfd5221"
    ]
    assert rejections.count == 2  # "0xabc123", "0xdef456"


def test_gamma_events_classify_their_markets() -> None:
    """``/events`` is not called by the pipeline; its markets read like ``/markets`` rows, and the
    event's tags fill ``event_tags`` (the classification current markets lack)."""
    markets, rejections = gamma_events("nautilus/gamma_event.json")
    assert rejections.count == 0
    assert len(markets) == 2
    assert "Politics" in markets[0].event_tags
    assert markets[0].event_tags[:2] == ("World Elections", "Global Elections")
    markets, rejections = gamma_events("pscanner/event.json")
    assert rejections.count == 0
    assert markets[0].event_tags == (
        "Finance",
        "Economy",
        "Business",
        "2025 Predictions",
        "Crypto",
        "MicroStrategy",
        "Stocks",
    )
    resolved = [m for m in markets if m.closed]
    assert resolved
    assert all(m.winner_asset == m.clob_token_ids[1] for m in resolved if m.outcome_prices == (0.0, 1.0))


@pytest.mark.parametrize("name", ["nautilus/py_event.json", "nautilus/py_events_list.json"])
def test_gamma_minimal_events(name: str) -> None:
    """Minimal event listings: the markets carry only an id, so they parse with no outcomes or tags."""
    markets, rejections = gamma_events(name)
    assert rejections.count == 0
    assert markets
    assert all(m.outcomes == () and m.event_tags == () for m in markets)


# --- out of scope ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pscanner/leaderboard.json", "smart_money/leaderboard.json"])
def test_leaderboards_are_out_of_scope(name: str) -> None:
    """``/v1/leaderboard`` is not called (wallets are registered by hand). Fed to the trade parser by
    mistake, every row is rejected rather than stored as a fill."""
    fills, rejections = parse_v1(name, v1.V1Trade, None, "GET /trades")
    assert fills == []
    assert rejections.count == len(load(name))


def test_websocket_trade_is_out_of_scope() -> None:
    """The CLOB websocket is not used (it carries no wallet for other traders; this sample is
    hand-made). Its shape is not a Data API row: the v2 trade parser rejects it."""
    rejections = Rejections()
    records, _ = v2.parse_page(
        ParseContext("GET /v2/trades", None, NOW),
        v2.V2Trade,
        {"data": [load("pscanner/ws_trade.json")]},
        rejections,
    )
    assert records == []
    assert "missing required field 'proxy_wallet'" in rejections.samples[0]
