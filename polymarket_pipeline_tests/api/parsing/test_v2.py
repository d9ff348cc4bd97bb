"""v2 (snake_case envelopes) parsing, and v1/v2 parity: the same fill parses to the same record."""

from __future__ import annotations

from datetime import date

import pytest

from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.parsing import v1, v2
from polymarket_pipeline.api.parsing.common import ParseContext
from polymarket_pipeline_tests.api import payloads as p

CTX = ParseContext("GET /v2/trades", p.WALLET)


def test_trades_page_and_cursor() -> None:
    page = v2.parse_trades(p.v2_envelope([p.v2_trade(extra="x")], next_cursor="abc"), CTX)
    assert page.next_cursor == "abc"
    assert page.has_more is True
    (fill,) = page.items
    assert fill.asset == p.ASSET
    assert fill.transaction_hash == p.TX  # lower-cased
    last = v2.parse_trades(p.v2_envelope([]), CTX)
    assert last.items == []
    assert last.next_cursor is None
    assert last.has_more is False


def test_pagination_may_be_missing() -> None:
    page = v2.parse_trades({"data": [p.v2_trade()]}, CTX)
    assert page.next_cursor is None
    assert page.has_more is False


def test_same_fill_v1_and_v2_give_equal_records_and_trade_ids() -> None:
    (a,) = v1.parse_trades([p.v1_trade()], ParseContext("GET /trades", p.WALLET))
    (b,) = v2.parse_trades(p.v2_envelope([p.v2_trade()]), CTX).items
    assert a == b
    assert a.trade_id() == b.trade_id()
    assert a.natural_key == b.natural_key


def test_same_position_v1_and_v2_give_equal_records() -> None:
    (a,) = v1.parse_positions([p.v1_position()], ParseContext("GET /positions", p.WALLET))
    (b,) = v2.parse_positions(p.v2_envelope([p.v2_position()]), ParseContext("GET /v2/positions")).items
    assert a == b


def test_same_redeem_v1_and_v2_give_equal_records() -> None:
    (a,) = v1.parse_activity([p.v1_activity_redeem()], ParseContext("GET /activity"))
    (b,) = v2.parse_activity(p.v2_envelope([p.v2_activity_redeem()]), ParseContext("GET /v2/activity")).items
    assert a == b
    assert b.side is None
    assert b.price == 0.0


def test_position_mapping_and_unknown_end_date() -> None:
    ctx = ParseContext("GET /v2/positions", p.WALLET)
    row = p.v2_position(end_date="1970-01-01", current_size=5.5, total_size=20.0, realized_pnl=1.25)
    (pos,) = v2.parse_positions(p.v2_envelope([row]), ctx).items
    assert pos.size == 5.5
    assert pos.total_bought == 20.0  # lifetime bought, not the balance
    assert pos.realized_pnl == 1.25
    assert pos.end_date is None
    (pos2,) = v2.parse_positions(p.v2_envelope([p.v2_position()]), ctx).items
    assert pos2.end_date == date(2026, 7, 1)


def test_null_optionals() -> None:
    ctx = ParseContext("GET /v2/positions", p.WALLET)
    row = p.v2_position(avg_price=None, current_price=None, unrealized_pnl=None, title=None, end_date=None)
    del row["current_value"], row["redeemable"]
    (pos,) = v2.parse_positions(p.v2_envelope([row]), ctx).items
    assert (pos.avg_price, pos.cur_price, pos.cash_pnl, pos.current_value) == (None, None, None, None)
    assert pos.title is None
    assert pos.redeemable is False


def test_missing_required_field_message() -> None:
    rows = [p.v2_trade() for _ in range(4)]
    del rows[3]["token_id"]
    with pytest.raises(PayloadError) as info:
        v2.parse_trades(p.v2_envelope(rows), CTX)
    assert info.value.field == "token_id"
    assert str(info.value) == (
        f"GET /v2/trades for wallet {p.WALLET}: data: row 3: missing required field 'token_id'"
    )


def test_missing_data_envelope() -> None:
    with pytest.raises(PayloadError, match="missing required field 'data'") as info:
        v2.parse_positions({"pagination": {}}, ParseContext("GET /v2/positions", p.WALLET))
    assert info.value.field == "data"
    with pytest.raises(PayloadError, match="expected a JSON object, got array"):
        v2.parse_positions([p.v2_position()], ParseContext("GET /v2/positions", p.WALLET))


def test_value_object_list_and_null() -> None:
    ctx = ParseContext("GET /v2/value", p.WALLET)
    assert v2.parse_value(p.v2_value(10.0), ctx, p.WALLET).value == 10.0
    assert v2.parse_value({"data": [{"user": p.WALLET, "value": 7}]}, ctx, p.WALLET).value == 7.0
    assert v2.parse_value({"data": None}, ctx, p.WALLET).value is None
    assert v2.parse_value(p.v2_value(None), ctx, p.WALLET).value is None
    assert v1.parse_value(p.v1_value(10.0), ctx, p.WALLET) == v2.parse_value(p.v2_value(10.0), ctx, p.WALLET)
