"""Client unit tests over ``httpx.MockTransport``: paging, params, errors, retries, Retry-After."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Coroutine
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


def make_client(recorder: Recorder, **overrides: Any) -> PolymarketClient:
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
    return client


def ok(body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=body, **kwargs)


def trade_at(ts: int, n: int = 0, **kw: Any) -> dict[str, Any]:
    return p.v2_trade(timestamp=ts, transaction_hash=f"0x{n:064x}", **kw)


# --- paging --------------------------------------------------------------------------------------


def test_v2_trades_cursor_walk_resends_filters() -> None:
    pages = {
        None: p.v2_envelope([trade_at(300, 1), trade_at(250, 2)], next_cursor="c1"),
        "c1": p.v2_envelope([trade_at(200, 3), trade_at(150, 4)], next_cursor="c2"),
        "c2": p.v2_envelope([trade_at(100, 5)], next_cursor=None),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_wallet_trades(p.WALLET_MIXED_CASE, end=260)

    history = run(go())
    assert [f.timestamp for f in history.fills] == [250, 200, 150, 100]  # 300 > end, filtered
    assert history.complete is True
    assert len(rec.requests) == 3
    assert rec.requests[0].url.path == "/data/v2/trades"
    for i, cursor in enumerate([None, "c1", "c2"]):
        params = rec.params(i)
        assert params["user"] == [p.WALLET]
        assert params["taker_only"] == ["false"]
        assert params["start"] == ["1"]
        assert params["end"] == ["260"]
        assert params.get("cursor") == ([cursor] if cursor else None)


def test_v2_cursor_loop_is_detected() -> None:
    rec = Recorder(lambda r: ok(p.v2_envelope([trade_at(1, 1)], next_cursor="same")))

    async def go() -> None:
        async with make_client(rec) as client:
            await client.fetch_wallet_trades(p.WALLET)

    with pytest.raises(PayloadError, match="next_cursor repeated"):
        run(go())


def _v1_tape(n: int, *, server_cap: int | None = None) -> Recorder:
    """A v1 server with ``n`` fills at timestamps n..1 (newest first), limit capped at ``server_cap``."""

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        limit = int(request.url.params["limit"])
        if server_cap:
            limit = min(limit, server_cap)
        if offset > 3000:
            return httpx.Response(400, json={"error": "offset too large"})
        rows = [
            p.v1_trade(timestamp=n - i, transactionHash=f"0x{i:064x}")
            for i in range(offset, min(n, offset + limit))
        ]
        return ok(rows)

    return Recorder(handler)


def test_v1_trades_advance_by_rows_received_and_stop_on_empty_page() -> None:
    rec = _v1_tape(1200, server_cap=500)  # asks 1000 per page, gets 500

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert len(history.fills) == 1200
    assert len({f.transaction_hash for f in history.fills}) == 1200
    assert history.complete is True
    assert [rec.params(i)["offset"] for i in range(len(rec.requests))] == [
        ["0"],
        ["500"],
        ["1000"],
        ["1200"],
    ]
    assert rec.params(0)["takerOnly"] == ["false"]


def test_v1_trades_stop_once_past_start() -> None:
    rec = _v1_tape(5000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_wallet_trades(p.WALLET, start=4500, end=4900)

    history = run(go())
    assert len(rec.requests) == 1
    assert [f.timestamp for f in history.fills] == list(range(4900, 4499, -1))
    assert history.complete is True


def test_v1_offset_cap_truncation_is_flagged() -> None:
    rec = _v1_tape(5000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert history.complete is False
    assert len(history.fills) == 4000  # offsets 0, 1000, 2000, 3000
    assert max(int(rec.params(i)["offset"][0]) for i in range(len(rec.requests))) == 3000


def test_v1_server_rejecting_offset_below_our_cap_is_treated_as_the_cap() -> None:
    rec = _v1_tape(5000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_offset_cap=10_000) as client:
            return await client.fetch_wallet_trades(p.WALLET)

    history = run(go())
    assert history.complete is False
    assert len(history.fills) == 4000


def test_trade_feed_v2_stops_at_since_or_max_pages() -> None:
    pages = {
        None: p.v2_envelope([trade_at(500, 1), trade_at(400, 2)], next_cursor="a"),
        "a": p.v2_envelope([trade_at(300, 3), trade_at(200, 4)], next_cursor="b"),
        "b": p.v2_envelope([trade_at(100, 5)], next_cursor="c"),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go(since: int, max_pages: int) -> Any:
        async with make_client(rec) as client:
            return await client.fetch_trade_feed(since=since, max_pages=max_pages)

    feed = run(go(250, 5))
    assert [f.timestamp for f in feed.fills] == [500, 400, 300]
    assert feed.reached_since is True
    assert "user" not in rec.params(0)
    assert rec.params(0)["taker_only"] == ["false"]
    rec.requests.clear()
    feed = run(go(50, 2))
    assert feed.reached_since is False
    assert len(rec.requests) == 2


def test_trade_feed_v1() -> None:
    rec = _v1_tape(3000)

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_trades_page_size=100) as client:
            return await client.fetch_trade_feed(since=2850, max_pages=5)

    feed = run(go())
    assert feed.reached_since is True
    assert len(rec.requests) == 2
    assert [f.timestamp for f in feed.fills] == list(range(3000, 2849, -1))


# --- params of the other routes ------------------------------------------------------------------


def test_positions_v2_params_and_raw_bodies() -> None:
    pages = {
        None: p.v2_envelope([p.v2_position()], next_cursor="n"),
        "n": p.v2_envelope([p.v2_position(token_id=p.OPPOSITE_ASSET)]),
    }
    rec = Recorder(lambda r: ok(pages[r.url.params.get("cursor")]))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_positions_raw(p.WALLET)

    positions, bodies = run(go())
    assert [x.asset for x in positions] == [p.ASSET, p.OPPOSITE_ASSET]
    assert bodies == [pages[None], pages["n"]]
    params = rec.params(1)
    assert params["filter_type"] == ["TOKENS"]
    assert params["filter_amount"] == ["0.1"]
    assert params["user"] == [p.WALLET]
    assert params["cursor"] == ["n"]


def test_positions_v1_params() -> None:
    rec = Recorder(lambda r: ok([p.v1_position()] if r.url.params["offset"] == "0" else []))

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1", v1_positions_page_size=900) as client:
            return await client.fetch_positions(p.WALLET)

    positions = run(go())
    assert len(positions) == 1
    params = rec.params(0)
    assert rec.requests[0].url.path == "/data/positions"
    assert params["sizeThreshold"] == ["0.1"]
    assert params["limit"] == ["500"]  # clamped to the documented maximum
    assert rec.params(1)["offset"] == ["1"]


def test_activity_types_and_window() -> None:
    rec = Recorder(lambda r: ok(p.v2_envelope([p.v2_activity_redeem()])))

    async def go() -> Any:
        async with make_client(rec) as client:
            return await client.fetch_activity(p.WALLET, types=["redeem", "TRADE"], start=100)

    (activity,) = run(go())
    assert activity.type == "REDEEM"
    params = rec.params(0)
    assert params["type"] == ["REDEEM,TRADE"]
    assert params["start"] == ["100"]
    assert rec.requests[0].url.path == "/data/v2/activity"


def test_activity_v1() -> None:
    rec = Recorder(lambda r: ok([p.v1_activity_redeem()] if r.url.params["offset"] == "0" else []))

    async def go() -> Any:
        async with make_client(rec, data_api_version="v1") as client:
            return await client.fetch_activity(p.WALLET, end=2_000_000_000)

    assert len(run(go())) == 1
    params = rec.params(0)
    assert params["type"] == ["REDEEM"]
    assert params["end"] == ["2000000000"]
    assert "start" not in params


@pytest.mark.parametrize(
    ("version", "path", "body"),
    [("v2", "/data/v2/value", p.v2_value(5.0)), ("v1", "/data/value", p.v1_value(5.0))],
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
        return ok(rows)

    rec = Recorder(handler)

    async def go() -> Any:
        async with make_client(rec, gamma_batch_size=2) as client:
            return await client.fetch_market_metadata([*ids, ids[0], "0xDEAD"])

    markets = run(go())
    assert [m.condition_id for m in markets] == ids
    assert len(rec.requests) == 6  # 6 distinct ids in batches of 2, each asked closed=false and true
    for i in range(len(rec.requests)):
        params = rec.params(i)
        assert params["include_tag"] == ["true"]
        assert params["closed"] in (["false"], ["true"])
        assert 1 <= len(params["condition_ids"]) <= 2
    assert {rec.params(i)["closed"][0] for i in range(len(rec.requests))} == {"false", "true"}


# --- errors and retries --------------------------------------------------------------------------


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


def test_schema_error_is_not_retried() -> None:
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
    assert snap["route GET /v2/value"] == 2
    assert json.dumps(snap)  # plain ints, ready for Dagster metadata
