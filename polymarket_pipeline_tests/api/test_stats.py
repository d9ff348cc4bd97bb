"""ApiStats counting, snapshots and merging."""

from __future__ import annotations

import pytest

from polymarket_pipeline.api.stats import ApiStats


def _stats(route: str, *statuses: int) -> ApiStats:
    stats = ApiStats()
    for status in statuses:
        stats.record_request(route)
        stats.record_response(status)
    return stats


def test_snapshot_counts() -> None:
    stats = _stats("GET /v2/trades", 200, 429, 503, 200)
    stats.record_transport_error()
    stats.record_retry()
    snap = stats.snapshot()
    assert snap["requests"] == 4
    assert snap["rate_limited"] == 1
    assert snap["server_errors"] == 1
    assert snap["transport_errors"] == 1
    assert snap["retries"] == 1
    assert snap["responses_200"] == 2
    assert snap["route GET /v2/trades"] == 4
    assert all(isinstance(v, int) for v in snap.values())


def test_merge() -> None:
    a = _stats("GET /v2/trades", 200)
    b = _stats("GET /v2/positions", 200, 429)
    b.record_rejected_row()
    b.record_rejected_row()
    b.record_incomplete_walk()
    assert a.merge(b) is a
    snap = a.snapshot()
    assert snap["rows_rejected"] == 2
    assert snap["incomplete_walks"] == 1
    assert snap["requests"] == 3
    assert snap["responses_200"] == 2
    assert snap["rate_limited"] == 1
    assert snap["route GET /v2/positions"] == 2
    assert b.snapshot()["requests"] == 2  # the source is unchanged
    with pytest.raises(ValueError, match="itself"):
        a.merge(a)
