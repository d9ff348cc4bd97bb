"""Data API row parsing, v1 (camelCase arrays) and v2 (snake_case envelopes): normalization, the
same fill/position/activity read through either version is the same record, and structural
errors (wrong envelope, not an array) still raise naming the route and wallet."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from polymarket_pipeline.api.data import v1, v2
from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.validation import ParseContext, Rejections
from polymarket_pipeline_tests.api import payloads as p

NOW = 1_790_000_000


def ctx(route: str, wallet: str | None = p.WALLET) -> ParseContext:
    return ParseContext(route, wallet, NOW)


def v1_page(model: Any, rows: Any, route: str = "GET /trades", wallet: str | None = p.WALLET) -> list[Any]:
    rejections = Rejections(ApiStats())
    records = v1.parse_page(ctx(route, wallet), model, rows, rejections)
    assert rejections.count == 0, rejections.samples
    return records


def v2_page(model: Any, body: Any, route: str = "GET /v2/trades", wallet: str | None = p.WALLET) -> Any:
    rejections = Rejections(ApiStats())
    records, cursor = v2.parse_page(ctx(route, wallet), model, body, rejections)
    assert rejections.count == 0, rejections.samples
    return records, cursor


def test_v1_trade_is_normalized() -> None:
    (fill,) = v1_page(v1.V1Trade, [p.v1_trade(unknownField={"nested": 1})])
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


def test_v1_trade_optional_fields_missing_null_or_empty() -> None:
    row = p.v1_trade(title=None, eventSlug="", outcomeIndex=999)
    del row["slug"], row["outcome"], row["name"], row["icon"]
    (fill,) = v1_page(v1.V1Trade, [row])
    assert fill.title is None
    assert fill.slug is None
    assert fill.event_slug is None  # "" on the global feed means unknown
    assert fill.outcome is None
    assert fill.outcome_index is None  # 999: "could not be labeled"


def test_timestamp_in_milliseconds_becomes_seconds() -> None:
    (fill,) = v1_page(v1.V1Trade, [p.v1_trade(timestamp=p.TIMESTAMP * 1000 + 123)])
    assert fill.timestamp == p.TIMESTAMP


def test_lower_case_side_accepted() -> None:
    (fill,) = v1_page(v1.V1Trade, [p.v1_trade(side="sell")])
    assert fill.side == "SELL"


def test_token_id_as_json_integer_is_kept_exact() -> None:
    (fill,) = v1_page(v1.V1Trade, [p.v1_trade(asset=int(p.ASSET))])
    assert fill.asset == p.ASSET


def test_v1_not_an_array_raises_naming_route_and_wallet() -> None:
    with pytest.raises(
        PayloadError, match=r"expected a JSON array, got object \(error: 'bad user'\)"
    ) as info:
        v1.parse_page(ctx("GET /trades"), v1.V1Trade, {"error": "bad user"}, Rejections())
    assert info.value.route == "GET /trades"
    assert info.value.wallet == p.WALLET


def test_v1_position() -> None:
    (pos,) = v1_page(v1.V1Position, [p.v1_position()], "GET /positions")
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


def test_v1_position_nulls_and_iso_end_date() -> None:
    row = p.v1_position(avgPrice=None, redeemable=None, endDate="2026-01-20T00:00:00Z", negativeRisk=None)
    del row["curPrice"]
    (pos,) = v1_page(v1.V1Position, [row], "GET /positions")
    assert pos.avg_price is None
    assert pos.cur_price is None
    assert pos.redeemable is False
    assert pos.end_date == date(2026, 1, 20)
    assert pos.negative_risk is None


def test_v1_redeem_activity_has_no_side_asset_or_outcome() -> None:
    (act,) = v1_page(v1.V1Activity, [p.v1_activity_redeem()], "GET /activity")
    assert act.type == "REDEEM"
    assert act.side is None  # "" means no side
    assert act.price == 0.0
    assert act.usdc_size == 0.0
    assert act.size == 100.0
    assert act.asset is None
    assert act.outcome is None
    assert act.outcome_index is None
    assert act.transaction_hash == p.REDEEM_TX
    assert act.event_slug == "of-views-of-next-mrbeast-video-on-day-1-20260905"


def test_v2_trades_page_and_cursor() -> None:
    (fill,), cursor = v2_page(v2.V2Trade, p.v2_envelope([p.v2_trade(extra="x")], next_cursor="abc"))
    assert cursor == "abc"
    assert fill.asset == p.ASSET
    assert fill.transaction_hash == p.TX  # lower-cased
    records, cursor = v2_page(v2.V2Trade, p.v2_envelope([]))
    assert records == []
    assert cursor is None


def test_v2_pagination_may_be_missing_and_has_more_false_ends() -> None:
    _, cursor = v2_page(v2.V2Trade, {"data": [p.v2_trade()]})
    assert cursor is None
    body = p.v2_envelope([p.v2_trade()], next_cursor="abc")
    body["pagination"]["has_more"] = False
    assert v2_page(v2.V2Trade, body)[1] is None


@pytest.mark.parametrize(
    "cursor", ["a" * 5000, "has space", "new\nline", 42], ids=["too-long", "space", "newline", "number"]
)
def test_v2_unusable_cursor_is_a_structural_error(cursor: Any) -> None:
    body = p.v2_envelope([p.v2_trade()], next_cursor="x")
    body["pagination"]["next_cursor"] = cursor
    with pytest.raises(PayloadError, match=r"pagination\.next_cursor"):
        v2.parse_page(ctx("GET /v2/trades"), v2.V2Trade, body, Rejections())


def test_v2_missing_or_wrong_envelope_raises() -> None:
    with pytest.raises(PayloadError, match="missing required field 'data'") as info:
        v2.parse_page(ctx("GET /v2/positions"), v2.V2Position, {"pagination": {}}, Rejections())
    assert info.value.field == "data"
    with pytest.raises(PayloadError, match="expected a JSON object, got array"):
        v2.parse_page(ctx("GET /v2/positions"), v2.V2Position, [p.v2_position()], Rejections())
    with pytest.raises(PayloadError, match="data: expected a JSON array, got object"):
        v2.parse_page(ctx("GET /v2/positions"), v2.V2Position, {"data": {"x": 1}}, Rejections())


def test_same_fill_v1_and_v2_give_equal_records_and_trade_ids() -> None:
    (a,) = v1_page(v1.V1Trade, [p.v1_trade()])
    (b,), _ = v2_page(v2.V2Trade, p.v2_envelope([p.v2_trade()]))
    assert a == b
    assert a.trade_id() == b.trade_id()


def test_same_position_v1_and_v2_give_equal_records() -> None:
    (a,) = v1_page(v1.V1Position, [p.v1_position()], "GET /positions")
    (b,), _ = v2_page(v2.V2Position, p.v2_envelope([p.v2_position()]), "GET /v2/positions")
    assert a == b


def test_same_redeem_v1_and_v2_give_equal_records() -> None:
    (a,) = v1_page(v1.V1Activity, [p.v1_activity_redeem()], "GET /activity")
    (b,), _ = v2_page(v2.V2Activity, p.v2_envelope([p.v2_activity_redeem()]), "GET /v2/activity")
    assert a == b
    assert a.activity_id() == b.activity_id()


def test_v2_position_mapping_and_unknown_end_date() -> None:
    row = p.v2_position(end_date="1970-01-01", current_size=5.5, total_size=20.0, realized_pnl=-1.25)
    (pos,), _ = v2_page(v2.V2Position, p.v2_envelope([row]), "GET /v2/positions")
    assert pos.size == 5.5
    assert pos.total_bought == 20.0  # lifetime bought, not the balance
    assert pos.realized_pnl == -1.25  # PnL may be negative
    assert pos.end_date is None


def test_v2_null_optionals() -> None:
    row = p.v2_position(avg_price=None, current_price=None, unrealized_pnl=None, title=None, end_date=None)
    del row["current_value"], row["redeemable"]
    (pos,), _ = v2_page(v2.V2Position, p.v2_envelope([row]), "GET /v2/positions")
    assert (pos.avg_price, pos.cur_price, pos.cash_pnl, pos.current_value) == (None, None, None, None)
    assert pos.title is None
    assert pos.redeemable is False


def test_unscoped_feed_rows_of_any_wallet_are_kept() -> None:
    other = p.v2_trade(proxy_wallet="0x" + "1" * 40)
    records, _ = v2_page(v2.V2Trade, p.v2_envelope([p.v2_trade(), other]), wallet=None)
    assert {r.wallet_address for r in records} == {p.WALLET, "0x" + "1" * 40}
