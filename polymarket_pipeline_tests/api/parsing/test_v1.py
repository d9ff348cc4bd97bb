"""v1 (camelCase arrays) parsing: normalization, optional fields, and errors that name the culprit."""

from __future__ import annotations

from datetime import date

import pytest

from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.parsing import v1
from polymarket_pipeline.api.parsing.common import ParseContext
from polymarket_pipeline_tests.api import payloads as p

CTX = ParseContext("GET /trades", p.WALLET)


def test_trade_is_normalized() -> None:
    (fill,) = v1.parse_trades([p.v1_trade(unknownField={"nested": 1})], CTX)
    assert fill.wallet_address == p.WALLET  # lower-cased
    assert fill.condition_id == p.CONDITION
    assert fill.asset == p.ASSET
    assert fill.side == "BUY"
    assert fill.size == 40000.0
    assert isinstance(fill.size, float)
    assert fill.price == 0.4899999951  # long float tail kept as sent
    assert fill.timestamp == p.TIMESTAMP
    assert isinstance(fill.timestamp, int)
    assert fill.transaction_hash == p.TX
    assert fill.outcome_index == 0
    assert fill.event_slug == "mlb-stl-ari-2026-07-17"


def test_trade_optional_fields_missing_or_null_or_empty() -> None:
    row = p.v1_trade(title=None, eventSlug="", outcomeIndex=999)
    del row["slug"], row["outcome"], row["name"], row["icon"]
    (fill,) = v1.parse_trades([row], CTX)
    assert fill.title is None
    assert fill.slug is None
    assert fill.event_slug is None  # "" on the global feed means unknown
    assert fill.outcome is None
    assert fill.outcome_index == 999  # unlabelable, kept


def test_trade_timestamp_in_milliseconds_becomes_seconds() -> None:
    (fill,) = v1.parse_trades([p.v1_trade(timestamp=p.TIMESTAMP * 1000 + 123)], CTX)
    assert fill.timestamp == p.TIMESTAMP


def test_lower_case_side_accepted() -> None:
    (fill,) = v1.parse_trades([p.v1_trade(side="sell")], CTX)
    assert fill.side == "SELL"


def test_missing_required_field_names_route_wallet_row_and_field() -> None:
    rows = [p.v1_trade(), p.v1_trade(), p.v1_trade()]
    del rows[2]["transactionHash"]
    with pytest.raises(PayloadError) as info:
        v1.parse_trades(rows, CTX)
    err = info.value
    assert err.route == "GET /trades"
    assert err.wallet == p.WALLET
    assert err.field == "transactionHash"
    assert str(err) == (f"GET /trades for wallet {p.WALLET}: row 2: missing required field 'transactionHash'")


@pytest.mark.parametrize(
    ("field", "value"),
    [("side", "HOLD"), ("size", "lots"), ("proxyWallet", "0x123"), ("asset", ""), ("timestamp", None)],
)
def test_invalid_required_field(field: str, value: object) -> None:
    with pytest.raises(PayloadError) as info:
        v1.parse_trades([p.v1_trade(**{field: value})], CTX)
    assert info.value.field == field
    assert f"invalid field '{field}'" in str(info.value)
    assert "row 0" in str(info.value)


def test_not_an_array() -> None:
    with pytest.raises(PayloadError, match=r"expected a JSON array, got object \(error: 'bad user'\)"):
        v1.parse_trades({"error": "bad user"}, CTX)


def test_position() -> None:
    ctx = ParseContext("GET /positions", p.WALLET)
    (pos,) = v1.parse_positions([p.v1_position()], ctx)
    assert pos.wallet_address == p.WALLET
    assert pos.asset == p.ASSET
    assert pos.size == 241141.2997
    assert pos.avg_price == 0.3769
    assert pos.cur_price == 0.525
    assert pos.initial_value == 90890.7375
    assert pos.cash_pnl == 35708.4447
    assert pos.realized_pnl == 0.0
    assert pos.total_bought == 241141.2997
    assert pos.end_date == date(2026, 7, 1)
    assert pos.negative_risk is True
    assert pos.redeemable is False


def test_position_nulls_and_iso_end_date() -> None:
    ctx = ParseContext("GET /positions", p.WALLET)
    row = p.v1_position(avgPrice=None, redeemable=None, endDate="2026-01-20T00:00:00Z", negativeRisk=None)
    del row["curPrice"]
    (pos,) = v1.parse_positions([row], ctx)
    assert pos.avg_price is None
    assert pos.cur_price is None
    assert pos.redeemable is False
    assert pos.end_date == date(2026, 1, 20)
    assert pos.negative_risk is None


def test_redeem_activity() -> None:
    ctx = ParseContext("GET /activity", p.WALLET)
    (act,) = v1.parse_activity([p.v1_activity_redeem()], ctx)
    assert act.type == "REDEEM"
    assert act.side is None  # "" means no side
    assert act.price == 0.0
    assert act.usdc_size == 0.0
    assert act.size == 100.0
    assert act.asset is None
    assert act.outcome_index == 999
    assert act.transaction_hash == p.REDEEM_TX


def test_value_array_object_and_empty() -> None:
    ctx = ParseContext("GET /value", p.WALLET)
    assert v1.parse_value(p.v1_value(12.5), ctx, p.WALLET).value == 12.5
    assert v1.parse_value({"user": p.WALLET, "value": 3}, ctx, p.WALLET).value == 3.0
    assert v1.parse_value([], ctx, p.WALLET).value is None
    assert v1.parse_value(p.v1_value(None), ctx, p.WALLET).value is None
    with pytest.raises(PayloadError, match="GET /value for wallet"):
        v1.parse_value({"error": "nope"}, ctx, p.WALLET)
    with pytest.raises(PayloadError, match="invalid field 'value'"):
        v1.parse_value([{"user": p.WALLET, "value": "abc"}], ctx, p.WALLET)
