"""Gamma parsing: JSON-encoded string arrays, tag objects or strings, lenient dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.parsing import gamma
from polymarket_pipeline.api.parsing.common import ParseContext
from polymarket_pipeline_tests.api import payloads as p

CTX = ParseContext("GET /markets")


def test_json_string_fields_are_decoded() -> None:
    (m,) = gamma.parse_markets([p.gamma_market()], CTX)
    assert m.condition_id == p.CLOB_CONDITION
    assert m.outcomes == ("Yes", "No")
    assert m.outcome_prices == (0.0, 1.0)
    assert m.clob_token_ids == (p.CLOB_YES, p.CLOB_NO)
    assert m.tags == ("Crypto", "FDV")
    assert m.category == "Crypto"  # from the event, since the market's own is null
    assert m.closed is True
    assert m.uma_resolution_status == "resolved"
    assert m.end_date == datetime(2028, 1, 1, tzinfo=UTC)


def test_real_arrays_and_string_tags_are_accepted() -> None:
    row = p.gamma_market(
        outcomes=["Yes", "No"],
        outcomePrices=[0.25, "0.75"],
        clobTokenIds=[p.CLOB_YES, p.CLOB_NO],
        tags=["Politics", "Elections"],
        category="Politics",
        endDate="2026-03-19 23:20:15+00",
    )
    (m,) = gamma.parse_markets([row], CTX)
    assert m.outcomes == ("Yes", "No")
    assert m.outcome_prices == (0.25, 0.75)
    assert m.tags == ("Politics", "Elections")
    assert m.category == "Politics"
    assert m.end_date == datetime(2026, 3, 19, 23, 20, 15, tzinfo=UTC)


def test_everything_optional_but_condition_id() -> None:
    (m,) = gamma.parse_markets([{"conditionId": p.CLOB_CONDITION, "outcomes": None, "tags": None}], CTX)
    assert m.outcomes == ()
    assert m.tags == ()
    assert m.end_date is None
    assert m.category is None
    with pytest.raises(PayloadError, match="row 0: missing required field 'conditionId'"):
        gamma.parse_markets([{"question": "?"}], CTX)


def test_broken_json_string() -> None:
    with pytest.raises(PayloadError, match="invalid field 'outcomes'") as info:
        gamma.parse_markets([p.gamma_market(outcomes='["Yes", ')], CTX)
    assert info.value.field == "outcomes"
    assert info.value.route == "GET /markets"
    assert info.value.wallet is None
