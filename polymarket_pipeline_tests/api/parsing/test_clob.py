"""CLOB market parsing: resolution is ``closed`` plus a winner token, whatever ``active`` says."""

from __future__ import annotations

import pytest

from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.api.parsing import clob
from polymarket_pipeline.api.parsing.common import ParseContext
from polymarket_pipeline_tests.api import payloads as p

CTX = ParseContext("GET /markets/{condition_id}")


def test_resolved_market_with_active_true() -> None:
    market = clob.parse_market(p.clob_resolved_market(), CTX)
    assert market.active is True
    assert market.closed is True
    assert market.resolved is True
    assert market.winner_asset == p.CLOB_NO
    assert market.tags == ("Crypto", "FDV", "Pre-Market", "Katana")
    assert [t.price for t in market.tokens] == [0.0, 1.0]


def test_open_market_and_null_lists() -> None:
    body = p.clob_resolved_market(closed=False, tags=None)
    body["tokens"] = [{"token_id": p.CLOB_YES, "outcome": "Yes", "price": 0.5, "winner": None}]
    market = clob.parse_market(body, CTX)
    assert market.resolved is False
    assert market.winner_asset is None
    assert market.tags == ()


def test_closed_without_winner_is_not_resolved() -> None:
    body = p.clob_resolved_market()
    for token in body["tokens"]:
        token["winner"] = False
    assert clob.parse_market(body, CTX).resolved is False


def test_missing_closed_and_bad_token() -> None:
    body = p.clob_resolved_market()
    del body["closed"]
    with pytest.raises(PayloadError, match="missing required field 'closed'"):
        clob.parse_market(body, CTX)
    body = p.clob_resolved_market()
    del body["tokens"][1]["token_id"]
    with pytest.raises(PayloadError, match=r"missing required field 'tokens\[1\]\.token_id'"):
        clob.parse_market(body, CTX)
