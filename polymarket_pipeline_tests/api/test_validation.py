"""Validation at the boundary, row by row: every hostile value the issues list is rejected (or
made safe) without failing the page, the rejection is counted and logged once, escaped, naming
the route, wallet, page, row and field."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from polymarket_pipeline.api.data import v1, v2
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.validation import LOGGED_REJECTIONS_PER_CALL, ParseContext, Rejections
from polymarket_pipeline_tests.api import payloads as p

NOW = 1_790_000_000
OTHER_WALLET = "0x" + "9" * 40


def parse_v1(
    rows: list[Any], model: Any = v1.V1Trade, wallet: str | None = p.WALLET
) -> tuple[list[Any], Rejections]:
    rejections = Rejections(ApiStats())
    ctx = ParseContext("GET /trades", wallet, NOW, page=3)
    return v1.parse_page(ctx, model, rows, rejections), rejections


def parse_v2(
    rows: list[Any], model: Any = v2.V2Trade, wallet: str | None = p.WALLET
) -> tuple[list[Any], Rejections]:
    rejections = Rejections(ApiStats())
    ctx = ParseContext("GET /v2/trades", wallet, NOW, page=0)
    records, _ = v2.parse_page(ctx, model, p.v2_envelope(rows), rejections)
    return records, rejections


# (field, hostile value, field named in the message)
HOSTILE_V1_TRADES: list[tuple[str, Any]] = [
    ("conditionId", "0x" + "ab" * 40),  # 80 hex digits, over 66 chars
    ("conditionId", "0xdust" + "0" * 60),  # not hex
    ("transactionHash", "0x123"),
    ("asset", "1" * 150),  # token id over 100 digits
    ("asset", "12ab"),
    ("asset", ""),
    ("timestamp", 99999999999999999),  # as ms: year 5138
    ("timestamp", 4102444800),  # 2100-01-01
    ("timestamp", 1_500_000_000),  # 2017: before Polymarket
    ("timestamp", "1784326906"),  # a string
    ("timestamp", None),
    ("size", -5),
    ("size", "1e3"),  # a number sent as a string
    ("size", True),
    ("price", 7.5),
    ("price", -0.2),
    ("price", "0.5"),
    ("side", "HOLD"),
    ("proxyWallet", "0x123"),
    ("proxyWallet", OTHER_WALLET),  # another wallet's row on a wallet-scoped call
    ("title", 12),  # text of the wrong type
]


@pytest.mark.parametrize(("field", "value"), HOSTILE_V1_TRADES)
def test_hostile_value_rejects_only_its_row(field: str, value: Any) -> None:
    good = p.v1_trade()
    bad = p.v1_trade(**{field: value})
    records, rejections = parse_v1([good, bad, good])
    assert len(records) == 2  # the page survives; exact repeats within a page are kept
    assert rejections.count == 1
    assert rejections.stats is not None
    assert rejections.stats.rows_rejected == 1
    (message,) = rejections.samples
    assert message.startswith(f"GET /trades for wallet {p.WALLET}: page 3, row 1: row rejected: ")
    named = "belongs to wallet" if value == OTHER_WALLET else repr(field)
    assert named in message


def test_huge_outcome_index_and_999_read_as_unknown_not_rejected() -> None:
    rows = [
        p.v1_trade(outcomeIndex=1e20),
        p.v1_trade(outcomeIndex=999),
        p.v1_trade(outcomeIndex=-1),
        p.v1_trade(outcomeIndex=1.5),
        p.v1_trade(outcomeIndex=1.0),
    ]
    records, rejections = parse_v1(rows)
    assert rejections.count == 0
    assert [r.outcome_index for r in records] == [None, None, None, None, 1]


def test_outcome_index_as_string_is_rejected() -> None:
    _, rejections = parse_v1([p.v1_trade(outcomeIndex="1")])
    assert rejections.count == 1
    assert "'outcomeIndex'" in rejections.samples[0]


def test_control_characters_are_removed_and_text_cut_to_the_schema() -> None:
    row = p.v1_trade(
        title="Will\x00 it\x1b[31m rain?\r\nYes\ud800",
        slug="s" * 600,
        eventSlug="   ",
        outcome="o" * 300,
    )
    (fill,), rejections = parse_v1([row])
    assert rejections.count == 0
    assert fill.title == "Will it[31m rain? Yes"
    assert fill.slug == "s" * 500
    assert fill.event_slug is None  # blank means absent
    assert fill.outcome == "o" * 200
    (fill,), _ = parse_v1([p.v1_trade(title="t" * 5000)])
    assert fill.title == "t" * 1000


def test_activity_rows_without_market_or_asset_are_valid() -> None:
    reward = p.v1_activity_redeem(type="REWARD", conditionId="", asset="", outcome="", title="", slug="")
    neg_risk_redeem = p.v1_activity_redeem(asset="", outcome="", outcomeIndex=999)
    records, rejections = parse_v1([reward, neg_risk_redeem], model=v1.V1Activity)
    assert rejections.count == 0
    assert [(a.type, a.condition_id, a.asset, a.title) for a in records] == [
        ("REWARD", None, None, None),
        ("REDEEM", p.CONDITION, None, "Will MrBeast's next video get at least 40 million views on day 1?"),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [("usdcSize", -1.0), ("type", "RE DEEM"), ("type", "X" * 40), ("side", "OUTWARDLY"), ("price", 2)],
)
def test_hostile_activity_rows_are_rejected(field: str, value: Any) -> None:
    _, rejections = parse_v1([p.v1_activity_redeem(**{field: value})], model=v1.V1Activity)
    assert rejections.count == 1
    assert repr(field) in rejections.samples[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [("current_size", -1), ("current_price", 1.5), ("entry_cost_usdc", -3.0), ("token_id", "1" * 101)],
)
def test_hostile_v2_positions_are_rejected(field: str, value: Any) -> None:
    records, rejections = parse_v2(
        [p.v2_position(**{field: value}), p.v2_position(token_id="7")], v2.V2Position
    )
    assert [r.asset for r in records] == ["7"]
    assert rejections.count == 1
    assert f"row 0: row rejected: invalid field '{field}'" in rejections.samples[0]


def test_row_that_is_not_an_object_is_rejected_alone() -> None:
    records, rejections = parse_v2([p.v2_trade(), 42, None])
    assert len(records) == 1
    assert rejections.count == 2
    assert "expected a JSON object, got number" in rejections.samples[0]


def test_non_finite_numbers_are_rejected() -> None:
    _, rejections = parse_v2(
        [p.v2_trade(size=float("nan")), p.v2_trade(size=float("inf")), p.v2_trade(size=1e400)]
    )
    assert rejections.count == 3


def test_wallet_mismatch_on_v2_position_is_rejected() -> None:
    records, rejections = parse_v2([p.v2_position(proxy_wallet=OTHER_WALLET)], v2.V2Position)
    assert records == []
    assert f"belongs to wallet {OTHER_WALLET}" in rejections.samples[0]


def test_rejections_log_escaped_lines_and_a_summary(caplog: pytest.LogCaptureFixture) -> None:
    rows = [p.v1_trade(title=1, side=f"\x1b[2J\nFAKE {i}") for i in range(LOGGED_REJECTIONS_PER_CALL + 7)]
    rejections = Rejections(ApiStats())
    ctx = ParseContext("GET /trades", p.WALLET, NOW)
    with caplog.at_level(logging.WARNING, logger="polymarket_pipeline.api"):
        v1.parse_page(ctx, v1.V1Trade, rows, rejections)
        rejections.summarize(ctx)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == LOGGED_REJECTIONS_PER_CALL + 1
    assert messages[-1].endswith("7 more rows rejected (not logged one by one)")
    for message in messages:
        assert "\n" not in message
        assert "\x1b" not in message
    assert "\\x1b[2J\\nFAKE 0" in messages[0]
    assert rejections.count == LOGGED_REJECTIONS_PER_CALL + 7
