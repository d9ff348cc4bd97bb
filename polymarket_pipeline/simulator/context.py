"""The per-server state every route needs, and the wrapper that gives each route the real-API edges.

Every API request goes through :func:`endpoint`: logged on arrival, delayed by the configured
latency, checked against the rate limits and the fault rules (a scripted failure always fires,
cached or not), answered from the edge cache if an identical URL is fresh there or else by the
route (and stored), and finally bent by a body fault (corrupt, oversize, endless cursor, drop).
Errors are rendered in the route's own API family shape (plus ``x-trace-id`` on v2).
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from polymarket_pipeline.simulator import hostile
from polymarket_pipeline.simulator.edgecache import EdgeCache
from polymarket_pipeline.simulator.faults import ERROR_KINDS, FaultInjector, FaultRule
from polymarket_pipeline.simulator.limits import RateLimiter
from polymarket_pipeline.simulator.model import MarketModel, SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestLog, RequestRecord
from polymarket_pipeline.simulator.web import (
    CLOUDFLARE_429_HTML,
    CLOUDFLARE_502_HTML,
    CLOUDFLARE_524_HTML,
    ApiError,
    Family,
    Query,
    error_response,
    html_response,
)

logger = logging.getLogger(__name__)

CLIENT_CLOSED = 499
"""Status recorded when the client gave up during a hang (nginx's convention)."""

_HOSTS = {
    "data": "data-api.polymarket.com",
    "clob": "clob.polymarket.com",
    "gamma": "gamma-api.polymarket.com",
}


@dataclass
class SimContext:
    """The model plus the machinery around it (faults, limits, request log)."""

    config: SimulatorConfig
    model: MarketModel
    faults: FaultInjector
    log: RequestLog
    limiter: RateLimiter
    edge: EdgeCache
    row_cache: dict[tuple[str, int], bytes] = field(default_factory=dict)
    """Encoded trade/activity rows by (shape, seq): those rows never change once written."""

    def other_wallet(self, wallet: str) -> str:
        """Another known wallet than ``wallet`` (for rows that claim the wrong owner)."""
        wallets = self.model.world.wallets
        return next((w for w in wallets if w != wallet.lower()), "0x" + "e" * 40)


Handler = Callable[[SimContext, Query], Response]


def family_of(api: str, template: str) -> Family:
    if api == "data":
        return "v2" if template.startswith("/v2/") else "v1"
    return "clob" if api == "clob" else "gamma"


def endpoint(
    ctx: SimContext, api: str, template: str, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a synchronous route handler with logging, latency, limits, faults and error shapes."""
    family = family_of(api, template)
    prefix = f"/{api}"

    async def run(request: Request) -> Response:
        arrival = time.time()
        started = time.perf_counter()
        params = request.query_params
        user = params.get("user")
        wallet = user.lower() if user else None
        path = request.url.path
        rel = path[len(prefix) :] if path.startswith(prefix) else path
        record = RequestRecord(
            arrival, api, rel, template, {k: ",".join(params.getlist(k)) for k in params}, wallet
        )
        ctx.log.add(record)
        trace_id = secrets.token_hex(16) if family == "v2" else None
        try:
            response = await _answer(
                ctx, request, handler, api, template, rel, wallet, family, trace_id, record
            )
        except asyncio.CancelledError:
            record.status = CLIENT_CLOSED
            record.duration_ms = (time.perf_counter() - started) * 1000
            raise
        if response is None:  # the client hung up during a hang fault
            record.status = CLIENT_CLOSED
            response = Response(b"", status_code=CLIENT_CLOSED)
        else:
            record.status = response.status_code
        if trace_id is not None:
            response.headers["x-trace-id"] = trace_id
        record.duration_ms = (time.perf_counter() - started) * 1000
        return response

    return run


async def _answer(
    ctx: SimContext,
    request: Request,
    handler: Handler,
    api: str,
    template: str,
    rel: str,
    wallet: str | None,
    family: Family,
    trace_id: str | None,
    record: RequestRecord,
) -> Response | None:
    if ctx.config.latency_ms > 0:
        await asyncio.sleep(ctx.config.latency_ms / 1000)
    wait = ctx.limiter.hit(api, template)
    if wait is not None:
        return error_response(
            family,
            429,
            "Too Many Requests: rate limit exceeded",
            retry_after=max(1, math.ceil(wait)),
            trace_id=trace_id,
        )
    decision = ctx.faults.decide(api, template, rel, wallet)
    if decision.latency_ms > 0:
        await asyncio.sleep(decision.latency_ms / 1000)
    rule = decision.rule
    kind = rule.kind if rule is not None else ""
    record.fault = kind
    if rule is not None and kind == "hang":
        if await _hang(request.receive, rule.hang_seconds):
            return None
        return html_response(524, CLOUDFLARE_524_HTML.format(host=_HOSTS[api]))
    if rule is not None and kind in ERROR_KINDS:
        return fault_response(rule, api, family, trace_id)
    if rule is not None and kind == "huge_error":
        return hostile.huge_error(rule)
    url = f"{rel}?{request.url.query}" if ctx.edge.applies(api, template) else None
    if url is not None:
        cached = ctx.edge.get(url)
        if cached is not None:
            entry, age = cached
            record.cache = "HIT"
            headers = {
                **dict(entry.headers),
                "cache-control": ctx.edge.cache_control(),
                "cf-cache-status": "HIT",
                "age": str(int(age)),
            }
            return _bend(ctx, Response(entry.body, media_type=entry.media_type, headers=headers), rule, None)
        record.cache = "MISS"
    params = request.query_params
    step = hostile.endless_step(ctx.model.cursor_secret, params.get("cursor")) if family == "v2" else None
    if step is not None:  # an endless cursor: serve the first page again, with yet another cursor
        params = QueryParams([(k, v) for k, v in params.multi_items() if k != "cursor"])
        record.fault = "endless_cursor"
    try:
        response = handler(ctx, Query(params, request.path_params))
    except ApiError as exc:
        return error_response(
            family,
            exc.status,
            exc.message,
            parameter=exc.parameter,
            code=exc.code,
            retry_after=exc.retry_after,
            trace_id=trace_id,
        )
    except Exception:
        logger.exception("simulator route %s %s failed", api, template)
        return error_response(family, 500, "internal error", trace_id=trace_id)
    if url is not None:
        if response.status_code == 200 and step is None:
            ctx.edge.put(url, bytes(response.body), response.media_type or "application/json")
        response.headers["cache-control"] = ctx.edge.cache_control()
        response.headers["cf-cache-status"] = "MISS"
    return _bend(ctx, response, rule, step)


def _bend(ctx: SimContext, response: Response, rule: FaultRule | None, step: int | None) -> Response:
    """Apply a body fault (and the endless cursor) to a successful answer."""
    if response.status_code != 200:
        return response
    kind = rule.kind if rule is not None else ""
    if step is not None or kind == "endless_cursor":
        body = hostile.endless(bytes(response.body), ctx.model.cursor_secret, step or 0)
        response = _replace_body(response, body)
    if rule is None:
        return response
    if kind == "malformed":  # a 200 whose JSON body is cut short
        body = bytes(response.body)
        cut = body[: max(1, len(body) // 2)] if len(body) > 1 else b"{"
        return Response(cut, status_code=200, media_type="application/json")
    if kind == "corrupt":
        body, _changed = hostile.corrupt(bytes(response.body), rule, ctx.other_wallet)
        return _replace_body(response, body)
    if kind == "oversize":
        return hostile.oversize(bytes(response.body), rule)
    if kind == "drop":
        return hostile.DroppedResponse(bytes(response.body), media_type=response.media_type)
    return response


def _replace_body(response: Response, body: bytes) -> Response:
    """The same response (status, extra headers) with another body."""
    extra = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
    return Response(body, status_code=response.status_code, media_type=response.media_type, headers=extra)


def fault_response(rule: FaultRule, api: str, family: Family, trace_id: str | None) -> Response:
    """The failure a rule asks for, shaped like the real gateway or origin would send it."""
    kind = rule.kind
    if kind == "429":
        return error_response(
            family, 429, "Too Many Requests", retry_after=rule.retry_after, trace_id=trace_id
        )
    if kind == "429_html":
        html = CLOUDFLARE_429_HTML.format(host=_HOSTS[api], ray=secrets.token_hex(8))
        return html_response(429, html, retry_after=rule.retry_after)
    if kind == "500":
        return error_response(family, 500, "internal server error", trace_id=trace_id)
    if kind == "502":
        return html_response(502, CLOUDFLARE_502_HTML)
    # 503: a server-side timeout; v2 documents it as request_timeout with Retry-After
    return error_response(
        family,
        503,
        "request timed out, retry later",
        code="request_timeout",
        retry_after=rule.retry_after,
        trace_id=trace_id,
    )


async def _hang(receive: Receive, seconds: float) -> bool:
    """Hold the request without answering; True when the client disconnected first."""

    async def wait_disconnect() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    try:
        await asyncio.wait_for(wait_disconnect(), timeout=seconds)
    except TimeoutError:
        return False
    return True
