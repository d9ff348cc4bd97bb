from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from polymarket_pipeline.domain.fills import (
    FULL_HISTORY_START,
    key_fills,
    label_outcomes,
    newest_fill_time,
    poll_start,
    union_pages,
)
from polymarket_pipeline.domain.records import Fill, MarketMetadata

BASE = Fill(
    wallet_address="0x" + "a" * 40,
    side="BUY",
    asset="123",
    condition_id="0x" + "1" * 64,
    size=40000,
    price=0.48,
    timestamp=1784326906,
    transaction_hash="0x" + "8d" * 32,
)


def test_trade_id_is_stable_and_sensitive_to_every_natural_key_field() -> None:
    assert BASE.trade_id() == replace(BASE, title="enriched later").trade_id()
    assert BASE.trade_id() == replace(BASE, size=40000.0).trade_id()  # 40000 and 40000.0 are one fill
    assert BASE.trade_id() == replace(BASE, transaction_hash=BASE.transaction_hash.upper()).trade_id()
    variants = [
        replace(BASE, wallet_address="0x" + "b" * 40),
        replace(BASE, transaction_hash="0x" + "00" * 32),
        replace(BASE, asset="124"),
        replace(BASE, side="SELL"),
        replace(BASE, size=40000.5),
        replace(BASE, price=0.4899999951),
        replace(BASE, timestamp=BASE.timestamp + 1),
    ]
    ids = {v.trade_id() for v in variants} | {BASE.trade_id()}
    assert len(ids) == len(variants) + 1


def test_identical_fills_get_distinct_ids_in_a_stable_order() -> None:
    other = replace(BASE, asset="999")
    first = key_fills([BASE, other, BASE])
    second = key_fills([BASE, BASE, other])  # same response, different order
    assert sorted(k.trade_id for k in first) == sorted(k.trade_id for k in second)
    assert len({k.trade_id for k in first}) == 3
    assert sorted(k.occurrence for k in first if k.fill == BASE) == [0, 1]


def test_poll_start_overlaps_the_watermark_second() -> None:
    assert poll_start(None, 60) == FULL_HISTORY_START
    watermark = datetime.fromtimestamp(1_784_000_000, tz=UTC)
    assert poll_start(watermark, 0) == 1_784_000_000  # inclusive: the watermark second is re-read
    assert poll_start(watermark, 60) == 1_784_000_000 - 60
    assert newest_fill_time([BASE, replace(BASE, timestamp=5)]) == datetime.fromtimestamp(
        BASE.timestamp, tz=UTC
    )
    assert newest_fill_time([]) is None


def test_a_row_served_on_two_pages_is_one_row_but_repeats_within_a_page_are_kept() -> None:
    a, b, c = BASE, replace(BASE, asset="124"), replace(BASE, asset="125")
    # an offset shift re-serves `b`; a cursor boundary repeats `c`; `a` is two identical legs
    pages = [[a, a, b], [b, c], [c]]
    merged = union_pages(pages)
    assert sorted(f.asset for f in merged) == ["123", "123", "124", "125"]
    assert len({k.trade_id for k in key_fills(merged)}) == 4


def test_a_page_served_four_times_is_stored_once() -> None:
    page = [replace(BASE, timestamp=BASE.timestamp - i) for i in range(1000)]
    assert len(union_pages([page, page, page, page])) == 1000


def test_identical_legs_split_across_pages_count_once_until_seen_together() -> None:
    """The documented limit: identical legs never seen on one page count once."""
    assert len(union_pages([[BASE], [BASE]])) == 1
    assert len(union_pages([[BASE], [BASE], [BASE, BASE]])) == 2


def test_outcome_is_taken_from_the_market_token_list_where_the_feed_lacks_it() -> None:
    market = MarketMetadata(
        condition_id=BASE.condition_id, outcomes=("Yes", "No"), clob_token_ids=("122", "123")
    )
    unknown = replace(BASE, outcome_index=None, outcome=None)
    known = replace(BASE, asset="122", outcome_index=0, outcome="Yes")
    stray = replace(BASE, asset="777", outcome_index=None)
    labeled = label_outcomes([unknown, known, stray], {BASE.condition_id: market})
    assert (labeled[0].outcome_index, labeled[0].outcome) == (1, "No")
    assert labeled[1] == known
    assert labeled[2].outcome_index is None  # not a token of the market: left unknown
