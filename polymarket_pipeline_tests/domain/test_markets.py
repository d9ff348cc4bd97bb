from __future__ import annotations

from dataclasses import replace

from polymarket_pipeline.domain.markets import market_category, market_tags
from polymarket_pipeline.domain.records import MarketMetadata, MarketResolution, MarketToken

C = "0x" + "1" * 64


def test_category_falls_back_to_event_then_tags_and_is_never_null_when_anything_classifies() -> None:
    assert market_category(MarketMetadata(C, category="Sports", event_category="Soccer")) == "Sports"
    assert market_category(MarketMetadata(C, category=" ", event_category="Soccer")) == "Soccer"
    assert market_category(MarketMetadata(C, tags=("Crypto", "Bitcoin"), event_tags=("Finance",))) == "Crypto"
    assert market_category(MarketMetadata(C, event_tags=("Finance",))) == "Finance"
    assert market_category(None, ("Politics",)) == "Politics"
    assert market_category(MarketMetadata(C)) is None
    assert market_tags(MarketMetadata(C, tags=("Crypto",), event_tags=("Crypto", "Finance")), ("X",)) == [
        "Crypto",
        "Finance",
        "X",
    ]


def test_a_closed_market_without_winner_flags_is_resolved_by_its_settled_prices() -> None:
    yes, no = MarketToken("1", "Yes", price=0.0), MarketToken("2", "No", price=1.0)
    assert MarketResolution(C, closed=True, tokens=(yes, no)).winner_asset == "2"
    assert MarketResolution(C, closed=False, tokens=(yes, no)).winner_asset is None  # prices alone: open
    half = (MarketToken("1", "Yes", price=0.5), MarketToken("2", "No", price=0.5))
    assert MarketResolution(C, closed=True, tokens=half).winner_asset is None  # closed but not settled
    flagged = (MarketToken("1", "Yes", price=0.3, winner=True), no)
    assert MarketResolution(C, closed=True, tokens=flagged).winner_asset == "1"  # a flag wins


def test_gamma_resolution_needs_closed_and_a_settled_uma_status() -> None:
    base = MarketMetadata(C, clob_token_ids=("1", "2"), outcome_prices=(0.0, 1.0))
    assert replace(base, closed=True, uma_resolution_status="resolved").winner_asset == "2"
    assert replace(base, closed=True).winner_asset == "2"  # legacy: no UMA status
    proposed = replace(base, closed=True, uma_resolution_status="proposed")
    assert proposed.winner_asset is None
    assert replace(base, closed=False).winner_asset is None
