"""CLOB and Gamma parsing on hand-written payloads: resolution whatever ``active`` says, winners
from flags or settled prices, JSON-encoded Gamma arrays, tags as objects or strings, and bad
rows or tokens dropped one by one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from polymarket_pipeline.api import clob, gamma
from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.validation import ParseContext, Rejections
from polymarket_pipeline.domain.records import MarketMetadata, MarketResolution
from polymarket_pipeline_tests.api import payloads as p

NOW = 1_790_000_000
CLOB = ParseContext(clob.ROUTE, None, NOW)
GAMMA = ParseContext(gamma.ROUTE, None, NOW)


def market(body: Any) -> tuple[MarketResolution | None, Rejections]:
    rejections = Rejections()
    return clob.parse_market(body, CLOB, rejections), rejections


def markets(rows: Any) -> tuple[list[MarketMetadata], Rejections]:
    rejections = Rejections()
    return gamma.parse_markets(rows, GAMMA, rejections), rejections


# --- CLOB ----------------------------------------------------------------------------------------


def test_resolved_market_with_active_true() -> None:
    resolution, _ = market(p.clob_resolved_market())
    assert resolution is not None
    assert resolution.active is True
    assert resolution.closed is True
    assert resolution.resolved is True
    assert resolution.winner_asset == p.CLOB_NO
    assert resolution.tags == ("Crypto", "FDV", "Pre-Market", "Katana")
    assert [t.price for t in resolution.tokens] == [0.0, 1.0]


def test_open_market_and_null_lists() -> None:
    body = p.clob_resolved_market(closed=False, tags=None)
    body["tokens"] = [{"token_id": p.CLOB_YES, "outcome": "Yes", "price": 0.5, "winner": None}]
    resolution, _ = market(body)
    assert resolution is not None
    assert resolution.resolved is False
    assert resolution.winner_asset is None
    assert resolution.tags == ()


def test_closed_without_winner_flags_resolves_from_settled_prices() -> None:
    body = p.clob_resolved_market()
    for token in body["tokens"]:
        token["winner"] = False
    resolution, _ = market(body)
    assert resolution is not None
    assert resolution.winner_asset == p.CLOB_NO  # priced 1 against 0
    body["tokens"][1]["price"] = 0.6
    body["tokens"][0]["price"] = 0.4
    unsettled, _ = market(body)
    assert unsettled is not None
    assert unsettled.resolved is False


def test_missing_closed_is_a_structural_error() -> None:
    body = p.clob_resolved_market()
    del body["closed"]
    with pytest.raises(PayloadError, match="missing required field 'closed'"):
        market(body)


def test_bad_tokens_are_dropped_one_by_one() -> None:
    body = p.clob_resolved_market()
    body["tokens"].append({"token_id": "1" * 150, "outcome": "Junk", "price": 0, "winner": False})
    body["tokens"].append({"token_id": "42", "outcome": "Junk", "price": 9, "winner": False})
    resolution, rejections = market(body)
    assert resolution is not None
    assert [t.token_id for t in resolution.tokens] == [p.CLOB_YES, p.CLOB_NO]
    assert rejections.count == 2


def test_repeated_token_ids_make_the_market_unusable() -> None:
    body = p.clob_resolved_market()
    body["tokens"][1]["token_id"] = p.CLOB_YES
    resolution, rejections = market(body)
    assert resolution is None
    assert "no usable token list" in rejections.samples[-1]


# --- Gamma ---------------------------------------------------------------------------------------


def test_json_string_fields_are_decoded() -> None:
    (m,), rejections = markets([p.gamma_market()])
    assert rejections.count == 0
    assert m.condition_id == p.CLOB_CONDITION
    assert m.outcomes == ("Yes", "No")
    assert m.outcome_prices == (0.0, 1.0)
    assert m.clob_token_ids == (p.CLOB_YES, p.CLOB_NO)
    assert m.tags == ("Crypto", "FDV")
    assert m.category is None  # the market's own; its event's is event_category
    assert m.event_category == "Crypto"
    assert m.closed is True
    assert m.uma_resolution_status == "resolved"
    assert m.end_date == datetime(2028, 1, 1, tzinfo=UTC)
    assert m.winner_asset == p.CLOB_NO


def test_real_arrays_and_string_tags_are_accepted() -> None:
    row = p.gamma_market(
        outcomes=["Yes", "No"],
        outcomePrices=[0.25, "0.75"],
        clobTokenIds=[p.CLOB_YES, p.CLOB_NO],
        tags=["Politics", "Elections", "Politics"],
        category="Politics",
        endDate="2026-03-19 23:20:15+00",
    )
    (m,), _ = markets([row])
    assert m.outcomes == ("Yes", "No")
    assert m.outcome_prices == (0.25, 0.75)
    assert m.tags == ("Politics", "Elections")  # distinct, in order
    assert m.category == "Politics"
    assert m.end_date == datetime(2026, 3, 19, 23, 20, 15, tzinfo=UTC)


def test_everything_optional_but_condition_id() -> None:
    (m,), _ = markets([{"conditionId": p.CLOB_CONDITION, "outcomes": None, "tags": None}])
    assert m.outcomes == ()
    assert m.tags == ()
    assert m.end_date is None
    assert m.category is None
    found, rejections = markets([{"question": "?"}])
    assert found == []
    assert "row 0: row rejected: missing required field 'conditionId'" in rejections.samples[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("outcomes", '["Yes", '),
        ("outcomePrices", '["1e3", "0"]'),  # a number as an exponent string
        ("outcomePrices", '["1.5", "0"]'),
        ("clobTokenIds", '["0x12", "34"]'),
        ("outcomes", [""] * 2),
        ("tags", [{"label": 7}]),
        ("closed", "yes"),
    ],
)
def test_bad_market_rows_are_rejected_alone(field: str, value: Any) -> None:
    found, rejections = markets(
        [p.gamma_market(**{field: value}), p.gamma_market(conditionId="0x" + "1" * 64)]
    )
    assert [m.condition_id for m in found] == ["0x" + "1" * 64]
    assert rejections.count == 1
    assert f"'{field}" in rejections.samples[0]


def test_not_an_array_is_a_structural_error() -> None:
    with pytest.raises(PayloadError, match="expected a JSON array, got string"):
        markets("nope")


def test_gamma_event_membership_and_resolution_time() -> None:
    """What the PnL replay needs of a market: its neg-risk flag, its event (a conversion's YES legs
    are the event's other markets) and when it closed (a day-end mark sees the payout after it)."""
    (row,), _ = markets([p.gamma_market()])
    assert row.neg_risk is False
    assert row.event_id == "1"
    assert row.closed_time == datetime(2026, 3, 19, 23, 20, 15, tzinfo=UTC)
    body = p.gamma_market(events=[{"id": 903193, "negRisk": True}], closedTime=None)
    del body["negRisk"]
    (event_only,), _ = markets([body])
    assert event_only.neg_risk is True  # the event's flag when the market gives none
    assert event_only.event_id == "903193"  # a JSON integer id reads as its decimal string
    assert event_only.closed_time is None
    (unknown,), rejected = markets([p.gamma_market(events=[{"id": "not an id"}], negRisk=None)])
    assert unknown.event_id is None
    assert unknown.neg_risk is None
    assert rejected.count == 0  # a junk event id is unknown, not a reason to drop the market
