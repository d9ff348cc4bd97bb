"""Client unit tests over ``httpx.MockTransport``: walks (union, caps, loops, page limit), moving
bounds, per-row rejection, size bounds, error text, retries and ``Retry-After``."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import pytest

from polymarket_pipeline.api import (
    ApiHTTPError,
    ApiStats,
    ApiTransportError,
    ClientSettings,
    IncompleteSnapshotError,
    PayloadError,
    PolymarketClient,
    RateLimitedError,
    WalletCooldown,
)
from polymarket_pipeline.domain.addresses import InvalidAddressError
from polymarket_pipeline_tests.api import payloads as p

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]

BASE = "http://sim.test"
NOW = 1_790_000_000
"""The client's pinned clock (2026-09-21); fixtures are older."""
T0 = 1_780_000_000
"""Base timestamp of generated tapes."""
SKEW = 86_400


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Recorder:
    """A mock server: records requests, answers from a handler; also records the retry waits."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result = self.handler(request)
        if isinstance(result, httpx.Response):
            return result
        return await result

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def params(self, i: int) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in self.requests[i].url.params.multi_items():
            out.setdefault(k, []).append(v)
        return out

    def param(self, i: int, name: str) -> str | None:
        return self.requests[i].url.params.get(name)


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_client(recorder: Recorder, clock: Clock | None = None, **overrides: Any) -> PolymarketClient:
    values: dict[str, Any] = {
        "data_api_url": f"{BASE}/data/",
        "clob_api_url": f"{BASE}/clob",
        "gamma_api_url": f"{BASE}/gamma",
        "rate_limit": 1000.0,
        "burst": 1000,
        "wallet_cooldown_seconds": 0.0,
        "backoff_base_seconds": 0.01,
        "max_retries": 2,
    }
    values.update(overrides)
    client = PolymarketClient(ClientSettings(**values), transport=httpx.MockTransport(recorder))
    client._sleep = recorder.sleep
    client.clock = clock or Clock()
    return client


def ok(body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=body, **kwargs)


def trade_at(ts: int, n: int = 0, **kw: Any) -> dict[str, Any]:
    return p.v2_trade(timestamp=T0 + ts, transaction_hash=f"0x{n:064x}", **kw)


def ts(fills: Any) -> list[int]:
    return [f.timestamp - T0 for f in fills]


# --- v2 walks ------------------------------------------------------------------------------------


def test_v2_trades_cursor_walk_resends_filters_and_a_fixed_end() -> None:
    pages = {
        None: p.v2_envelope([trade_at(300, 1), trade_at(250, 2)], next_cursor="c1"),
        "c1": p.v2_envelope([trade_at(200, 3), trade_at(150, 4)], next_cursor="c2"),
        "c2": p.v2_envelope([trade_at(100, 5)], next_cursor=None),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET_MIXED_CASE, end=T0 + 260)

    history = run(go())
    assert ts(history.fills) == [250, 200, 150, 100]  # 300 > end, filtered
    assert history.complete is True
    assert history.rejected == 0
    assert len(rec.requests) == 3
    assert rec.requests[0].url.path == "/data/v2/trades"
    for i, cursor in enumerate([None, "c1", "c2"]):
        params = rec.params(i)
        assert params["user"] == [p.WALLET]
        assert params["taker_only"] == ["false"]
        assert params["start"] == ["1"]
        assert params["end"] == [str(T0 + 260)]
        assert params.get("cursor") == ([cursor] if cursor else None)


def test_v2_walk_returns_each_row_once_when_pages_overlap() -> None:
    twin = trade_at(200, 3)
    pages = {
        # page 1 holds two identical legs of one transaction (two real fills); page 2 re-serves one
        None: p.v2_envelope([trade_at(300, 1), twin, twin], next_cursor="c1"),
        "c1": p.v2_envelope([twin, trade_at(100, 5)], next_cursor=None),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    assert ts(run(go()).fills) == [300, 200, 200, 100]


def test_v2_repeated_cursor_stops_the_walk_as_incomplete() -> None:
    rec = Recorder(lambda r: ok(p.v2_envelope([trade_at(1, 1)], next_cursor="same")))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET), client.stats

    history, stats = run(go())
    assert history.complete is False
    assert history.incomplete_reason == "pagination.next_cursor repeated"
    assert ts(history.fills) == [1]
    assert len(rec.requests) == 3  # two pages, then the straddling second re-read on its own
    assert f"start={T0 + 1}&end={T0 + 1}" in str(rec.requests[-1].url)
    assert stats.incomplete_walks == 2  # the walk, and the re-read that still had more pages


def test_identical_legs_split_by_the_page_size_are_counted_from_a_one_second_re_read() -> None:
    """Two identical legs, one ending page 1 and one starting page 2: the pages cannot tell a
    repeated row from two fills, so the second is read on its own, where both sit on one page."""
    leg = trade_at(5, 1)

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        if query.get("start") == str(T0 + 5) and query.get("end") == str(T0 + 5):
            return ok(p.v2_envelope([leg, leg]))
        if "cursor" in query:
            return ok(p.v2_envelope([leg, trade_at(4, 2)]))
        return ok(p.v2_envelope([trade_at(6, 3), leg], next_cursor="next"))

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert sorted(ts(history.fills)) == [4, 5, 5, 6]
    assert len(rec.requests) == 3


def test_identical_legs_interleaved_with_another_fill_of_their_second_are_re_read() -> None:
    """Page 1 ends ``[leg, other]`` and page 2 starts ``[leg]``, all in one second: the rows
    touching the boundary differ, but the second holds ``leg`` on both sides, so it is re-read."""
    leg, other = trade_at(5, 1), trade_at(5, 2)

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        if query.get("start") == str(T0 + 5) and query.get("end") == str(T0 + 5):
            return ok(p.v2_envelope([leg, other, leg]))
        if "cursor" in query:
            return ok(p.v2_envelope([leg, trade_at(4, 3)]))
        return ok(p.v2_envelope([trade_at(6, 4), leg, other], next_cursor="next"))

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert sorted(ts(history.fills)) == [4, 5, 5, 5, 6]
    assert len(rec.requests) == 3


def test_a_boundary_inside_one_second_with_no_key_on_both_sides_costs_no_re_read() -> None:
    pages = {
        None: p.v2_envelope([trade_at(6, 1), trade_at(5, 2)], next_cursor="c1"),
        "c1": p.v2_envelope([trade_at(5, 3), trade_at(4, 4)]),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    assert ts(run(go()).fills) == [6, 5, 5, 4]
    assert len(rec.requests) == 2


def test_endless_never_repeating_cursor_stops_at_the_page_limit() -> None:
    counter = iter(range(10**9))

    def handler(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return ok(p.v2_envelope([trade_at(10_000 - n, n)], next_cursor=f"cursor-{n}"))

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec, max_pages_per_walk=7) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert len(rec.requests) == 7
    assert history.complete is False
    assert history.incomplete_reason == "page limit (7) reached with more pages to read"
    assert len(history.fills) == 7


def test_a_bad_row_is_rejected_without_failing_the_page_or_the_walk(caplog: pytest.LogCaptureFixture) -> None:
    pages = {
        None: p.v2_envelope([trade_at(300, 1), trade_at(250, 2, price=7.5)], next_cursor="c1"),
        "c1": p.v2_envelope([trade_at(200, 3, title="a\x00b")], next_cursor=None),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET), client.stats

    with caplog.at_level(logging.WARNING, logger="polymarket_pipeline.api"):
        history, stats = run(go())
    assert ts(history.fills) == [300, 200]
    assert history.fills[1].title == "ab"
    assert history.rejected == 1
    assert history.complete is True  # a trade walk stays complete: the row was junk, not missed
    assert stats.rows_rejected == 1
    (line,) = [r.getMessage() for r in caplog.records]
    assert line == (
        f"GET /v2/trades for wallet {p.WALLET}: page 0, row 1: row rejected: "
        "invalid field 'price': must be between 0 and 1 (got 7.5)"
    )


def test_rows_of_another_wallet_are_rejected_on_wallet_calls() -> None:
    other = "0x" + "7" * 40
    rec = Recorder(lambda r: ok(p.v2_envelope([trade_at(5, 1), trade_at(4, 2, proxy_wallet=other)])))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert [f.wallet_address for f in history.fills] == [p.WALLET]
    assert history.rejected == 1


def test_feed_keeps_every_wallet_and_reads_999_as_unknown() -> None:
    other = "0x" + "7" * 40
    rows = [trade_at(5, 1, outcome_index=999, event_slug=""), trade_at(4, 2, proxy_wallet=other)]
    rec = Recorder(lambda r: ok(p.v2_envelope(rows)))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_trade_feed(since=T0)

    feed = run(go())
    assert {f.wallet_address for f in feed.fills} == {p.WALLET, other}
    assert feed.fills[0].outcome_index is None
    assert feed.fills[0].event_slug is None


def test_trade_feed_v2_stops_at_since_or_max_pages() -> None:
    pages = {
        None: p.v2_envelope([trade_at(500, 1), trade_at(400, 2)], next_cursor="a"),
        "a": p.v2_envelope([trade_at(300, 3), trade_at(200, 4)], next_cursor="b"),
        "b": p.v2_envelope([trade_at(100, 5)], next_cursor="c"),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go(since: int, max_pages: int) -> Any:
        async with make_client(rec) as client:
            return await client.fetch_trade_feed(since=T0 + since, max_pages=max_pages)

    feed = run(go(250, 5))
    assert ts(feed.fills) == [500, 400, 300]
    assert feed.reached_since is True
    assert "user" not in rec.params(0)
    assert rec.params(0)["taker_only"] == ["false"]
    rec.requests.clear()
    feed = run(go(50, 2))
    assert feed.reached_since is False
    assert len(rec.requests) == 2


# --- v1 walks ------------------------------------------------------------------------------------


def _v1_tape(n: int, *, server_cap: int | None = None, offset_cap: int = 3000, path: str = "") -> Recorder:
    """A v1 server with ``n`` fills at T0+n..T0+1 (newest first), limit capped at ``server_cap``."""

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        if server_cap:
            limit = min(limit, server_cap)
        if offset > offset_cap:
            return httpx.Response(400, json={"error": "offset too large"})
        rows = [
            p.v1_trade(timestamp=T0 + n - i, transactionHash=f"0x{i:064x}")
            for i in range(offset, min(n, offset + limit))
        ]
        return ok(rows)

    return Recorder(handler)


def test_v1_trades_advance_by_rows_received_and_stop_on_empty_page() -> None:
    rec = _v1_tape(1200, server_cap=500)  # asks for more than 500 per page, gets 500

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert len(history.fills) == 1200
    assert len({f.transaction_hash for f in history.fills}) == 1200
    assert history.complete is True
    assert [rec.param(i, "offset") for i in range(len(rec.requests))] == ["0", "500", "1000", "1200"]
    assert rec.params(0)["takerOnly"] == ["false"]


def test_v1_trades_stop_once_past_start() -> None:
    rec = _v1_tape(5000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_wallet_trades(p.WALLET, start=T0 + 4500, end=T0 + 4900)

    history = run(go())
    assert len(rec.requests) == 1  # every cycled limit (501..1000) reaches past start
    assert ts(history.fills) == list(range(4900, 4499, -1))
    assert history.complete is True


def test_v1_offset_cap_truncation_is_flagged() -> None:
    rec = _v1_tape(5000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    offsets = [int(rec.param(i, "offset") or 0) for i in range(len(rec.requests))]
    assert history.complete is False
    assert history.incomplete_reason == "offset cap (3000) reached"
    assert max(offsets) <= 3000
    assert len(history.fills) == offsets[-1] + int(rec.param(len(offsets) - 1, "limit") or 0)
    assert ts(history.fills) == list(range(5000, 5000 - len(history.fills), -1))


def test_v1_server_rejecting_offset_below_our_cap_is_treated_as_the_cap() -> None:
    rec = _v1_tape(5000, offset_cap=2500)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_offset_cap=10_000) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert history.complete is False
    assert history.incomplete_reason is not None
    assert history.incomplete_reason.startswith("offset ")
    assert "rejected by the server (HTTP 400: offset too large)" in history.incomplete_reason
    assert 2500 < len(history.fills) <= 3500


def test_v1_fills_shifting_mid_walk_are_read_once() -> None:
    """A fill arriving between two pages pushes the tape down one row: the row at the page
    boundary is served again on the next page, and counted once."""
    tape = [p.v1_trade(timestamp=T0 + 1000 - i, transactionHash=f"0x{i:064x}") for i in range(30)]

    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        rows = tape[offset : offset + limit]
        if offset == 0:
            tape.insert(0, p.v1_trade(timestamp=T0 + 1001, transactionHash="0x" + "f" * 64))
        return ok(rows)

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_trades_page_size=20) as client:
            return await client.fetch_wallet_trades(p.WALLET, start=T0 + 900)

    history = run(go())
    assert ts(history.fills) == list(range(1000, 970, -1))  # the 30 original fills, each once
    assert history.complete is True


def test_v1_repeated_page_stops_the_walk_as_incomplete() -> None:
    page = [p.v1_trade(timestamp=T0 + 10 - i, transactionHash=f"0x{i:064x}") for i in range(5)]
    rec = Recorder(lambda r: ok(page))  # a server stuck on one page whatever the offset

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_trades_page_size=10) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert len(rec.requests) == 2
    assert history.complete is False
    assert history.incomplete_reason == "page at offset 5 repeats a page already read"
    assert ts(history.fills) == [10, 9, 8, 7, 6]


def test_trade_feed_v1() -> None:
    rec = _v1_tape(3000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_trades_page_size=100) as client:
            return await client.fetch_trade_feed(since=T0 + 2850, max_pages=5)

    feed = run(go())
    assert feed.reached_since is True
    assert 2 <= len(rec.requests) <= 3  # limits cycle within 51..100
    assert ts(feed.fills) == list(range(3000, 2849, -1))


# --- positions -----------------------------------------------------------------------------------


def test_positions_v2_params_raw_bodies_and_snapshot() -> None:
    pages = {
        None: p.v2_envelope([p.v2_position()], next_cursor="n"),
        "n": p.v2_envelope([p.v2_position(token_id=p.OPPOSITE_ASSET)]),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_positions_raw(p.WALLET), await client.fetch_position_snapshot(p.WALLET)

    (positions, bodies), snapshot = run(go())
    assert [x.asset for x in positions] == [p.ASSET, p.OPPOSITE_ASSET]
    assert bodies == [pages[None], pages["n"]]
    assert snapshot.positions == positions
    assert snapshot.bodies == bodies
    assert snapshot.complete is True
    params = rec.params(1)
    assert params["filter_type"] == ["TOKENS"]
    assert params["filter_amount"] == ["0.1"]
    assert params["user"] == [p.WALLET]
    assert params["cursor"] == ["n"]
    assert params["end"] == [str(NOW + SKEW)]  # on last_event_at: every position, a moving URL


def test_positions_snapshot_with_a_rejected_row_is_incomplete() -> None:
    body = p.v2_envelope([p.v2_position(), p.v2_position(token_id="2", current_price=3.0)])
    rec = Recorder(lambda r: ok(body))

    async def go() -> Any:
        async with make_client(rec) as client:
            snapshot = await client.fetch_position_snapshot(p.WALLET)
            with pytest.raises(IncompleteSnapshotError) as info:
                await client.fetch_positions(p.WALLET)
            return snapshot, info.value

    snapshot, error = run(go())
    assert [x.asset for x in snapshot.positions] == [p.ASSET]
    assert snapshot.complete is False
    assert snapshot.rejected == 1
    assert snapshot.incomplete_reason == "1 row rejected"
    assert str(error) == (
        f"GET /v2/positions for wallet {p.WALLET}: positions snapshot incomplete (1 row rejected); "
        "refusing to return it as whole"
    )
    assert error.snapshot.positions == snapshot.positions


def test_positions_v1_params_and_limit_within_the_documented_max() -> None:
    rec = Recorder(lambda r: ok([p.v1_position()] if r.url.params["offset"] == "0" else []))

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_positions_page_size=900) as client:
            return await client.fetch_positions(p.WALLET)

    positions = run(go())
    assert len(positions) == 1
    assert rec.requests[0].url.path == "/data/positions"
    assert rec.param(0, "sizeThreshold") == "0.1"
    assert 250 < int(rec.param(0, "limit") or 0) <= 500  # clamped to the documented maximum
    assert rec.param(1, "offset") == "1"


def test_v1_positions_walk_offsets_up_to_10000() -> None:
    total = 11_000

    def handler(request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        if offset > 10_000:
            return httpx.Response(400, json={"error": "offset too large"})
        rows = [p.v1_position(asset=str(i)) for i in range(offset, min(total, offset + limit))]
        return ok(rows)

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_position_snapshot(p.WALLET)

    snapshot = run(go())
    offsets = [int(rec.param(i, "offset") or 0) for i in range(len(rec.requests))]
    assert max(offsets) > 3000  # not the /trades cap
    assert max(offsets) <= 10_000
    assert snapshot.complete is False
    assert snapshot.incomplete_reason == "offset cap (10000) reached"
    assert len(snapshot.positions) == len({x.asset for x in snapshot.positions}) > 10_000


# --- activity ------------------------------------------------------------------------------------


def test_activity_v2_types_window_and_moving_end() -> None:
    rec = Recorder(lambda r: ok(p.v2_envelope([p.v2_activity_redeem()])))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_activity(p.WALLET, types=["redeem", "TRADE"], start=100)

    (activity,) = run(go())
    assert activity.type == "REDEEM"
    params = rec.params(0)
    assert params["type"] == ["REDEEM,TRADE"]
    assert params["start"] == ["100"]
    assert params["end"] == [str(NOW + SKEW)]
    assert rec.requests[0].url.path == "/data/v2/activity"


def test_activity_history_of_every_type() -> None:
    rows = [
        p.v2_activity_redeem(),
        p.v2_activity_redeem(type="REWARD", condition_id="", timestamp=1788636763),
    ]
    rec = Recorder(lambda r: ok(p.v2_envelope(rows)))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_activity_history(p.WALLET)

    history = run(go())
    assert "type" not in rec.params(0)
    assert [(a.type, a.condition_id) for a in history.items] == [("REWARD", None), ("REDEEM", p.CONDITION)]
    assert history.complete is True


def _v1_activity_server(n: int, *, same_second: bool = False) -> Recorder:
    """v1 /activity over ``n`` rows (oldest first with sortDirection=ASC), honouring start/end,
    rejecting offsets above 5,000 like the real route."""
    rows = [
        p.v1_activity_redeem(
            timestamp=T0 + (0 if same_second else i // 3), transactionHash=f"0x{i:064x}", size=float(i)
        )
        for i in range(n)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        assert q["sortDirection"] == "ASC"
        offset, limit = int(q["offset"]), int(q["limit"])
        if offset > 5000:
            return httpx.Response(400, json={"error": "offset must be <= 5000"})
        start, end = int(q.get("start", 0)), int(q["end"])
        window = [r for r in rows if start <= r["timestamp"] <= end]
        return ok(window[offset : offset + limit])

    return Recorder(handler)


def test_v1_activity_walks_oldest_first_and_re_anchors_start_at_the_offset_cap() -> None:
    rec = _v1_activity_server(12_000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_activity_history(p.WALLET, types=["REDEEM"], start=T0, end=T0 + 10**6)

    history = run(go())
    assert history.complete is True
    assert sorted(a.size for a in history.items) == [float(i) for i in range(12_000)]  # each row once
    assert history.items[0].timestamp >= history.items[-1].timestamp  # newest first
    starts = [rec.param(i, "start") for i in range(len(rec.requests))]
    assert len(set(starts)) >= 3  # re-anchored twice or more
    assert max(int(rec.param(i, "offset") or 0) for i in range(len(rec.requests))) <= 5000
    assert {rec.param(i, "end") for i in range(len(rec.requests))} == {str(T0 + 10**6)}


def test_v1_activity_that_cannot_move_past_one_second_is_incomplete() -> None:
    rec = _v1_activity_server(6_000, same_second=True)  # 6,000 rows in one second: no re-anchoring

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_activity_history(p.WALLET, start=T0)

    history = run(go())
    assert history.complete is False
    assert history.incomplete_reason == "offset cap (5000) reached"
    assert len(history.items) == 5000 + int(rec.param(len(rec.requests) - 1, "limit") or 0)


def test_activity_v1_params() -> None:
    rec = Recorder(lambda r: ok([p.v1_activity_redeem()] if r.url.params["offset"] == "0" else []))

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_activity(p.WALLET, end=2_000_000_000)

    assert len(run(go())) == 1
    params = rec.params(0)
    assert params["type"] == ["REDEEM"]
    assert params["end"] == ["2000000000"]
    assert params["sortDirection"] == ["ASC"]
    assert "start" not in params


# --- moving bounds: never the same URL twice -----------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_consecutive_requests_of_the_same_walk_step_differ(version: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if version == "v1":
            return ok([])
        if path.endswith("/v2/value"):
            return ok(p.v2_value(1.0))
        return ok(p.v2_envelope([]))

    rec = Recorder(handler)
    clock = Clock()

    async def go() -> None:
        async with make_client(rec, clock, data_api_version=version) as client:
            for _ in range(2):
                await client.fetch_wallet_trades(p.WALLET, start=T0)
                await client.fetch_trade_feed(since=T0)
                await client.fetch_position_snapshot(p.WALLET)
                await client.fetch_activity_history(p.WALLET, start=T0)
                clock.now += 1  # v2 bounds move with the clock, second by second

    run(go())
    urls = [str(r.url) for r in rec.requests]
    assert len(urls) == 8
    for first, second in zip(urls[:4], urls[4:], strict=True):
        assert first != second, first


def test_v1_limit_cycles_through_the_upper_half_of_the_page() -> None:
    rec = Recorder(lambda r: ok([]))

    async def go() -> None:
        async with make_client(rec, data_api_version="v1", v1_trades_page_size=10) as client:
            for _ in range(6):
                await client.fetch_wallet_trades(p.WALLET)

    run(go())
    limits = [int(rec.param(i, "limit") or 0) for i in range(6)]
    assert set(limits) == {6, 7, 8, 9, 10}
    assert all(a != b for a, b in itertools.pairwise(limits))


# --- value and markets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "path", "body"),
    [
        ("v2", "/data/v2/value", p.v2_value(5.0)),
        ("v2", "/data/v2/value", {"data": {"user": p.WALLET, "value": 5}}),  # v1's key, accepted
        ("v1", "/data/value", p.v1_value(5.0)),
    ],
)
def test_value(version: str, path: str, body: Any) -> None:
    rec = Recorder(lambda r: ok(body))

    async def go() -> Any:
        async with make_client(rec, data_api_version=version) as client:
            return await client.fetch_value_raw(p.WALLET)

    value, raw = run(go())
    assert value.value == 5.0
    assert value.wallet_address == p.WALLET
    assert raw == body
    assert rec.requests[0].url.path == path


def test_value_of_another_wallet_is_not_ours() -> None:
    rec = Recorder(lambda r: ok({"data": {"proxy_wallet": "0x" + "3" * 40, "value": 9.0}}))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_value(p.WALLET), client.stats

    value, stats = run(go())
    assert value.value is None
    assert stats.rows_rejected == 1


def test_market_resolution_and_404() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(p.CLOB_CONDITION):
            return ok(p.clob_resolved_market())
        return httpx.Response(404, json={"error": "market not found"})

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec) as client:
            return (
                await client.fetch_market_resolution(p.CLOB_CONDITION.upper().replace("0X", "0x")),
                await client.fetch_market_resolution(p.CONDITION),
            )

    found, missing = run(go())
    assert found is not None
    assert found.resolved
    assert missing is None
    assert rec.requests[0].url.path == f"/clob/markets/{p.CLOB_CONDITION}"


def test_market_resolution_rejects_a_malformed_id_before_any_request() -> None:
    rec = Recorder(lambda r: ok({}))

    async def go() -> None:
        async with make_client(rec) as client:
            await client.fetch_market_resolution("../markets?x=1")

    with pytest.raises(ValueError, match="condition_id must be 0x followed by 64 hex digits"):
        run(go())
    assert rec.requests == []


def test_market_resolution_for_another_market_is_an_error() -> None:
    rec = Recorder(lambda r: ok(p.clob_resolved_market()))

    async def go() -> None:
        async with make_client(rec) as client:
            await client.fetch_market_resolution(p.CONDITION)

    with pytest.raises(PayloadError, match=f"asked for market {p.CONDITION}, got {p.CLOB_CONDITION}"):
        run(go())


def test_market_metadata_batches_both_closed_states_and_dedupes() -> None:
    ids = [f"0x{i:064x}" for i in range(5)]

    def handler(request: httpx.Request) -> httpx.Response:
        asked = request.url.params.get_list("condition_ids")
        closed = request.url.params["closed"] == "true"
        # even ids are open markets, odd ids closed; id 2 shows up in both answers
        rows = [
            p.gamma_market(conditionId=c, closed=closed, question=f"q{ids.index(c)}")
            for c in asked
            if c in ids and ((ids.index(c) % 2 == 1) == closed or ids.index(c) == 2)
        ]
        return ok([*rows, {"conditionId": "0xnot-a-market"}])  # a junk row is rejected alone

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec, gamma_batch_size=2) as client:
            return await client.fetch_market_metadata([*ids, ids[0], "0xDEAD"]), client.stats

    markets, stats = run(go())
    assert [m.condition_id for m in markets] == ids
    assert len(rec.requests) == 6  # 6 distinct ids in batches of 2, each asked closed=false and true
    assert stats.rows_rejected == 6
    for i in range(len(rec.requests)):
        params = rec.params(i)
        assert params["include_tag"] == ["true"]
        assert params["closed"] in (["false"], ["true"])
        assert 1 <= len(params["condition_ids"]) <= 2
    assert {rec.params(i)["closed"][0] for i in range(len(rec.requests))} == {"false", "true"}


def test_market_metadata_reads_event_classification() -> None:
    row = p.gamma_market(
        category="",
        events=[{"slug": "e", "category": "Sports", "tags": [{"label": "NBA"}, {"label": "Basketball"}]}],
    )
    rec = Recorder(lambda r: ok([row]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_market_metadata([p.CLOB_CONDITION])

    (meta,) = run(go())
    assert meta.category is None
    assert meta.event_category == "Sports"
    assert meta.event_tags == ("NBA", "Basketball")
    assert meta.tags == ("Crypto", "FDV")


# --- size bounds ---------------------------------------------------------------------------------


class Drip(httpx.AsyncByteStream):
    """A body produced lazily, chunk by chunk, counting how much the client pulled."""

    def __init__(self, chunk: bytes, count: int | None) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.count is None or self.pulled < self.count:
            self.pulled += 1
            yield self.chunk


def test_oversize_body_is_aborted_while_reading_and_not_retried() -> None:
    stream = Drip(b" " * (1 << 20), count=None)  # endless: 1 MiB at a time
    rec = Recorder(lambda r: httpx.Response(200, headers={"Content-Type": "application/json"}, stream=stream))

    async def go() -> None:
        async with make_client(rec, max_response_bytes=4 << 20) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(PayloadError) as info:
        run(go())
    assert str(info.value) == (
        f"GET /v2/value for wallet {p.WALLET}: response body exceeds max_response_bytes "
        f"({4 << 20} bytes); aborted while reading"
    )
    assert info.value.retryable is False
    assert len(rec.requests) == 1
    assert stream.pulled == 5  # stopped at the first byte past the limit


def test_declared_oversize_body_is_refused_before_reading() -> None:
    stream = Drip(b"x", count=1)
    rec = Recorder(lambda r: httpx.Response(200, headers={"Content-Length": str(10 << 20)}, stream=stream))

    async def go() -> None:
        async with make_client(rec, max_response_bytes=1 << 20) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(PayloadError, match="exceeds max_response_bytes"):
        run(go())
    assert stream.pulled == 0


def _gzip_chunks(data: bytes, size: int = 16 << 10) -> list[bytes]:
    packed = gzip.compress(data)
    return [packed[i : i + size] for i in range(0, len(packed), size)]


class Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks, self.pulled = chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def test_gzip_bodies_are_decoded_and_a_gzip_bomb_is_bounded() -> None:
    good = Chunks(_gzip_chunks(json.dumps(p.v2_value(3.0)).encode()))
    bomb = Chunks(_gzip_chunks(b"[" + b" " * (256 << 20) + b"]"))  # 256 MiB of spaces in ~256 KiB
    streams = iter([good, bomb])
    rec = Recorder(lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=next(streams)))

    async def go() -> Any:
        async with make_client(rec, max_response_bytes=1 << 20) as client:
            value = await client.fetch_value(p.WALLET)
            with pytest.raises(PayloadError, match="exceeds max_response_bytes"):
                await client.fetch_value(p.WALLET)
            return value

    assert run(go()).value == 3.0
    assert rec.requests[0].headers["Accept-Encoding"] == "gzip"
    assert len(bomb.chunks) > 10
    assert bomb.pulled <= 2  # 16 KiB of the bomb already inflate past 1 MiB


# --- error bodies --------------------------------------------------------------------------------


FORGED = "\x1b[31mERROR\x1b[0m\n2026-11-30 12:00:00 - dagster - INFO - all good\r\n" * 80_000  # ~5 MB


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(503, json={"error": FORGED}),
        httpx.Response(503, text=FORGED, headers={"Content-Type": "text/plain"}),
    ],
    ids=["json", "text"],
)
def test_huge_error_body_with_ansi_and_newlines_is_cut_and_escaped(
    response: httpx.Response, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder(lambda r: response)

    async def go() -> None:
        async with make_client(rec, max_retries=1) as client:
            await client.fetch_value(p.WALLET)

    with caplog.at_level(logging.INFO, logger="polymarket_pipeline.api"), pytest.raises(ApiHTTPError) as info:
        run(go())
    err = info.value
    assert err.server_message is not None
    assert len(err.server_message) <= 301
    assert err.server_message.startswith("\\x1b[31mERROR\\x1b[0m")
    assert "2026-11-30 12:00:00 - dagster - INFO" in err.server_message
    for text in [str(err), *(r.getMessage() for r in caplog.records)]:
        assert "\n" not in text
        assert "\r" not in text
        assert "\x1b" not in text
        assert len(text) < 1000


def test_html_error_page_title_is_the_message() -> None:
    html = "<html><head><title>502 Bad\n Gateway</title></head><body>" + "x" * 10_000 + "</body></html>"
    rec = Recorder(lambda r: httpx.Response(502, text=html, headers={"Content-Type": "text/html"}))

    async def go() -> None:
        async with make_client(rec, max_retries=0) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(ApiHTTPError) as info:
        run(go())
    assert info.value.server_message == "502 Bad Gateway"


def test_garbage_body_snippet_is_escaped() -> None:
    rec = Recorder(lambda r: httpx.Response(200, text="\x1b]0;pwned\x07<html>\n" + "y" * 1000))

    async def go() -> None:
        async with make_client(rec, max_retries=0) as client:
            await client.fetch_value(p.WALLET)

    with pytest.raises(PayloadError) as info:
        run(go())
    message = str(info.value)
    assert "\x1b" not in message
    assert "\n" not in message
    assert "\\x1b]0;pwned\\x07<html>\\n" in message


# --- retries (behaviour kept from before the split) ----------------------------------------------


def _sequence(*responses: httpx.Response) -> Recorder:
    items = list(responses)
    return Recorder(lambda r: items.pop(0) if len(items) > 1 else items[0])


def _value_call(rec: Recorder, **overrides: Any) -> tuple[Any, ApiStats]:
    async def go() -> Any:
        async with make_client(rec, **overrides) as client:
            try:
                return await client.fetch_value(p.WALLET), client.stats
            except Exception as exc:
                exc.stats = client.stats  # type: ignore[attr-defined]
                raise

    return run(go())


def test_retry_after_http_date_is_honoured_and_capped() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    rec = _sequence(
        httpx.Response(429, headers={"Retry-After": format_datetime(soon, usegmt=True)}, text="slow down"),
        ok(p.v2_value(1.0)),
    )
    value, stats = _value_call(rec, max_retry_after_seconds=12.0)
    assert value.value == 1.0
    assert rec.sleeps == [12.0]  # capped
    rec = _sequence(
        httpx.Response(429, headers={"Retry-After": format_datetime(soon, usegmt=True)}),
        ok(p.v2_value(1.0)),
    )
    _value_call(rec)
    assert 25 < rec.sleeps[0] <= 30
    assert stats.rate_limited == 1
    assert stats.retries == 1
    assert stats.requests == 2


def test_html_429_with_retry_after_seconds() -> None:
    html = "<html><head><title>429 Too Many Requests</title></head><body>cloudflare</body></html>"
    rec = _sequence(
        httpx.Response(429, headers={"Retry-After": "3", "Content-Type": "text/html"}, text=html),
        ok(p.v2_value(2.0)),
    )
    value, _ = _value_call(rec)
    assert value.value == 2.0
    assert rec.sleeps == [3.0]


def test_clob_retry_after_seconds_body_field() -> None:
    rec = _sequence(
        httpx.Response(429, json={"error": "too many", "retry_after_seconds": 4}),
        ok(p.clob_resolved_market()),
    )

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_market_resolution(p.CLOB_CONDITION)

    assert run(go()) is not None
    assert rec.sleeps == [4.0]


def test_backoff_without_retry_after_grows() -> None:
    rec = _sequence(httpx.Response(503), httpx.Response(502), httpx.Response(500), ok(p.v2_value(1.0)))
    value, stats = _value_call(rec, max_retries=3, backoff_base_seconds=1.0, backoff_max_seconds=3.0)
    assert value.value == 1.0
    assert len(rec.sleeps) == 3
    assert 0.5 <= rec.sleeps[0] <= 1.0
    assert 1.0 <= rec.sleeps[1] <= 2.0
    assert 1.5 <= rec.sleeps[2] <= 3.0  # capped at backoff_max
    assert stats.server_errors == 3


def test_rate_limit_exhaustion_raises_rate_limited_error() -> None:
    rec = _sequence(
        httpx.Response(429, json={"error": "slow", "code": "rate_limited"}, headers={"Retry-After": "1"})
    )
    with pytest.raises(RateLimitedError) as info:
        _value_call(rec, max_retries=2)
    err = info.value
    assert err.status == 429
    assert err.route == "GET /v2/value"
    assert err.wallet == p.WALLET
    assert err.code == "rate_limited"
    assert err.retry_after == 1.0
    assert len(rec.requests) == 3
    stats = err.stats  # type: ignore[attr-defined]
    assert stats.snapshot()["rate_limited"] == 3
    assert stats.snapshot()["retries"] == 2


def test_server_error_exhaustion() -> None:
    rec = _sequence(httpx.Response(503, json={"error": "db busy", "code": "request_timeout"}))
    with pytest.raises(ApiHTTPError) as info:
        _value_call(rec, max_retries=1)
    assert info.value.status == 503
    assert not isinstance(info.value, RateLimitedError)
    assert "db busy" in str(info.value)
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "message", "code"),
    [
        (400, {"error": "invalid user"}, "invalid user", None),  # v1
        (
            400,
            {"error": "bad cursor", "code": "invalid_request", "retryable": False, "trace_id": "t"},
            "bad cursor",
            "invalid_request",
        ),  # v2
        (
            422,
            {"type": "validation error", "error": "offset not allowed"},
            "offset not allowed",
            "validation error",
        ),
        (401, {"error": "nope"}, "nope", None),
    ],
)
def test_4xx_is_not_retried_and_carries_server_message(
    status: int, body: dict[str, Any], message: str, code: str | None
) -> None:
    rec = _sequence(httpx.Response(status, json=body))
    with pytest.raises(ApiHTTPError) as info:
        _value_call(rec)
    err = info.value
    assert len(rec.requests) == 1
    assert err.status == status
    assert err.server_message == message
    assert err.code == code
    assert str(err).startswith(f"GET /v2/value for wallet {p.WALLET}: HTTP {status}")
    assert message in str(err)


def test_garbage_body_is_retried_then_payload_error() -> None:
    rec = _sequence(httpx.Response(200, text="<html>oops</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(PayloadError, match="undecodable body \\(text/html\\)") as info:
        _value_call(rec, max_retries=2)
    assert len(rec.requests) == 3
    assert info.value.route == "GET /v2/value"
    assert info.value.wallet == p.WALLET


def test_garbage_then_good_body_recovers() -> None:
    rec = _sequence(httpx.Response(200, text='{"data": {"user": "0x'), ok(p.v2_value(9.0)))
    value, stats = _value_call(rec)
    assert value.value == 9.0
    assert stats.payload_errors == 1


def test_structural_error_is_not_retried() -> None:
    rec = _sequence(ok({"pagination": {}}))
    with pytest.raises(PayloadError, match="missing required field 'data'"):
        _value_call(rec)
    assert len(rec.requests) == 1


def test_transport_error_retried_then_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rec = Recorder(handler)
    with pytest.raises(ApiTransportError, match="ConnectError: connection refused") as info:
        _value_call(rec, max_retries=1)
    assert len(rec.requests) == 2
    assert info.value.wallet == p.WALLET
    assert info.value.stats.transport_errors == 2  # type: ignore[attr-defined]


def test_hanging_server_hits_the_attempt_deadline() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return ok(p.v2_value(1.0))

    rec = Recorder(handler)
    began = time.monotonic()
    with pytest.raises(ApiTransportError, match="TimeoutError"):
        _value_call(rec, max_retries=1, connect_timeout_seconds=0.05, read_timeout_seconds=0.1)
    assert time.monotonic() - began < 2.0
    assert len(rec.requests) == 2


# --- misc ----------------------------------------------------------------------------------------


def test_invalid_wallet_rejected_before_any_request() -> None:
    rec = Recorder(lambda r: ok([]))

    async def go() -> None:
        async with make_client(rec) as client:
            await client.fetch_positions("0xnot-a-wallet")

    with pytest.raises(InvalidAddressError):
        run(go())
    assert rec.requests == []


def test_client_must_be_opened() -> None:
    client = make_client(Recorder(lambda r: ok([])))
    with pytest.raises(RuntimeError, match="not open"):
        run(client.fetch_value(p.WALLET))


def test_cooldown_spaces_calls_per_wallet_and_route_but_not_pages() -> None:
    pages = {
        None: p.v2_envelope([p.v2_position()], next_cursor="x"),
        "x": p.v2_envelope([]),
    }
    times: list[tuple[float, str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        times.append((time.monotonic(), request.url.path, request.url.params.get("cursor") or ""))
        if request.url.path.endswith("/value"):
            return ok(p.v2_value(1.0))
        return ok(pages[request.url.params.get("cursor")])

    rec = Recorder(handler)
    cooldown = WalletCooldown(0.3)

    async def go() -> None:
        async with make_client(rec) as client:
            client.cooldown = cooldown
            await client.fetch_positions(p.WALLET)
            await client.fetch_value(p.WALLET)  # another route: not delayed
        async with make_client(rec) as client2:  # the cooldown outlives the first client
            client2.cooldown = cooldown
            await client2.fetch_positions(p.WALLET)

    run(go())
    (t0, _, _), (t1, _, c1), (t2, path2, _), (t3, _, _), _ = times
    assert c1 == "x"
    assert t1 - t0 < 0.2  # pages of one call are not delayed
    assert path2.endswith("/v2/value")
    assert t2 - t0 < 0.2
    assert t3 - t0 >= 0.29


def test_stats_snapshot_by_status_and_route() -> None:
    rec = _sequence(httpx.Response(500), ok(p.v2_value(1.0)))
    _, stats = _value_call(rec)
    snap = stats.snapshot()
    assert snap["requests"] == 2
    assert snap["responses_500"] == 1
    assert snap["responses_200"] == 1
    assert snap["server_errors"] == 1
    assert snap["retries"] == 1
    assert snap["rows_rejected"] == 0
    assert snap["route GET /v2/value"] == 2
    assert json.dumps(snap)  # plain ints, ready for Dagster metadata
