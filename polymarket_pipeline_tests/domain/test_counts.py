"""Run statistics are added field by field: nothing a dataclass gains can be forgotten in a merge."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.db.history import HistorySummary
from polymarket_pipeline.domain.counts import merge_counts
from polymarket_pipeline.sync.hot import HotCycleStats
from polymarket_pipeline.sync.sweep import MAX_LISTED_FAILURES, SweepStats


@dataclass(frozen=True)
class Summary:
    value: int


@dataclass
class Inner:
    n: int = 0


@dataclass
class Tally:
    n: int = 0
    seconds: float = 0.0
    flag: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)
    listed: dict[str, str] = field(default_factory=dict)
    inner: Inner = field(default_factory=Inner)
    latest: Summary | None = None
    first_error: str | None = None
    _private: int = 0


def test_each_field_is_added_the_way_its_type_says() -> None:
    a = Tally(1, 1.5, False, Counter(x=1), {"a"}, {"w1": "e1"}, Inner(2), None, "first", 7)
    b = Tally(
        2, 0.5, True, Counter(x=2, y=1), {"b"}, {"w2": "e2", "w3": "e3"}, Inner(3), Summary(9), "later", 5
    )
    merge_counts(a, b, caps={"listed": 2})
    assert (a.n, a.seconds, a.flag) == (3, 2.0, True)
    assert a.counts == Counter(x=3, y=1)
    assert a.seen == {"a", "b"}
    assert a.listed == {"w1": "e1", "w2": "e2"}  # capped like the collection it mirrors
    assert a.inner == Inner(5)
    assert a.latest == Summary(9)  # a summary as of the later end
    assert a.first_error == "first"
    assert a._private == 7


def test_merging_different_types_is_refused() -> None:
    with pytest.raises(TypeError, match="Inner"):
        merge_counts(Tally(), Inner())


def test_a_sweep_merge_adds_every_public_field() -> None:
    """The hand-kept lists SweepStats.merge and HotCycleStats.merge had disagreed (durations)."""
    other = SweepStats(wallets_total=3, wallets_polled=2, trades_inserted=5, duration_seconds=1.5)
    other.closes["redeemed"] = 2
    other.failures.update({f"0x{i:040x}": "boom" for i in range(MAX_LISTED_FAILURES + 5)})
    other.history.pages = 4
    other.histories = HistorySummary(1, 1, 0, 100, 0)
    mine = SweepStats(wallets_total=1, duration_seconds=0.5)
    mine.merge(other)
    assert (mine.wallets_total, mine.wallets_polled, mine.trades_inserted) == (4, 2, 5)
    assert mine.duration_seconds == 2.0
    assert mine.closes == Counter(redeemed=2)
    assert len(mine.failures) == MAX_LISTED_FAILURES
    assert mine.history.pages == 4
    assert mine.histories == other.histories

    tick = HotCycleStats(cycles=4, feed_fills=10, sweep=other, wallets_touched={"0xa"})
    total = HotCycleStats(cycles=1, wallets_touched={"0xb"})
    total.merge(tick)
    assert (total.cycles, total.feed_fills, total.sweep.trades_inserted) == (5, 10, 5)
    assert total.wallets_touched == {"0xa", "0xb"}


def test_api_stats_merge_copies_under_the_other_side_lock() -> None:
    a, b = ApiStats(), ApiStats()
    b.record_request("GET /v2/trades")
    b.record_response(429)
    b.record_retry()
    a.merge(b)
    a.merge(b)
    assert (a.requests, a.rate_limited, a.retries) == (2, 2, 2)
    assert a.routes == Counter({"GET /v2/trades": 2})
    assert b.routes == Counter({"GET /v2/trades": 1})
    with pytest.raises(ValueError, match="itself"):
        a.merge(a)
