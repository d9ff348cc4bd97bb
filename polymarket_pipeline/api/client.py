"""The Polymarket client: Data API (v2 default, v1 legacy), CLOB and Gamma over one httpx client.

Every public method returns normalized records from ``domain.records``, never raw dicts, so the
pipeline does not care which API version answered. All requests of a client share one token
bucket and one concurrency bound, so a sweep of many wallets (run with ``asyncio.gather``) goes
as fast as the rate limit allows rather than at the speed of one round trip at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from tenacity import RetryCallState

from polymarket_pipeline.api.errors import (
    ApiHTTPError,
    ApiTransportError,
    PayloadError,
    PolymarketError,
    RateLimitedError,
    describe,
)
from polymarket_pipeline.api.parsing import clob, gamma, v1, v2
from polymarket_pipeline.api.parsing.common import ParseContext
from polymarket_pipeline.api.ratelimit import RateLimiter, WalletCooldown
from polymarket_pipeline.api.retry import RETRYABLE_STATUSES, build_retrying, parse_retry_after
from polymarket_pipeline.api.settings import V1_MAX_POSITIONS_LIMIT, V2_MAX_LIMIT, ClientSettings
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.domain.addresses import normalize_address
from polymarket_pipeline.domain.records import (
    Activity,
    Fill,
    MarketMetadata,
    MarketResolution,
    Page,
    PortfolioValue,
    Position,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Api = Literal["data", "clob", "gamma"]
Params = list[tuple[str, str | int | float | bool | None]]

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_USER_AGENT = "polymarket-pipeline/0.1 (+httpx)"


@dataclass(frozen=True)
class TradeHistory:
    """A wallet's fills in a time window.

    ``complete`` is False when v1's offset cap stopped the walk before the window's start, so the
    oldest fills may be missing (v2's cursor walk is always complete).
    """

    fills: list[Fill] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class FeedPage:
    """Fills of the global trade feed since a timestamp, newest first.

    ``reached_since`` is False when ``max_pages`` ran out before a fill older than ``since`` was
    seen, so there may be a gap between ``since`` and the oldest fill returned.
    """

    fills: list[Fill] = field(default_factory=list)
    reached_since: bool = True


@dataclass
class _Walk:
    """The result of an offset walk (v1): bodies as received, rows, and whether it ran to the end."""

    bodies: list[Any] = field(default_factory=list)
    complete: bool = True


class PolymarketClient:
    """Async client for Polymarket's public HTTP APIs; use as ``async with PolymarketClient(s) as c``.

    ``limiter`` and ``cooldown`` may be shared by several clients (and outlive them), so hot and
    cold sweeps, or successive sensor ticks, respect one budget. ``transport`` is for tests.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        stats: ApiStats | None = None,
        limiter: RateLimiter | None = None,
        cooldown: WalletCooldown | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats if stats is not None else ApiStats()
        self.limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit, settings.burst)
        self.cooldown = cooldown if cooldown is not None else WalletCooldown(settings.wallet_cooldown_seconds)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """How retries wait; tests swap it to observe the waits without spending them."""

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> PolymarketClient:
        if self._http is not None:
            raise RuntimeError("PolymarketClient is already open")
        s = self.settings
        self._http = httpx.AsyncClient(
            timeout=s.timeout,
            limits=httpx.Limits(
                max_connections=s.max_concurrency, max_keepalive_connections=s.max_concurrency
            ),
            headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
            transport=self._transport,
            follow_redirects=False,
        )
        self._semaphore = asyncio.Semaphore(s.max_concurrency)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    # --- trades --------------------------------------------------------------------------------

    async def fetch_wallet_trades(
        self, wallet: str, *, start: int | None = None, end: int | None = None
    ) -> TradeHistory:
        """Every fill of ``wallet`` (taker and maker legs) with ``start <= timestamp <= end``.

        ``start=None`` means the full history.
        """
        wallet = normalize_address(wallet)

        def in_window(f: Fill) -> bool:
            return (start is None or f.timestamp >= start) and (end is None or f.timestamp <= end)

        if self.settings.data_api_version == "v2":
            route = "GET /v2/trades"
            await self.cooldown.wait(wallet, route)
            params: Params = [
                ("user", wallet),
                ("limit", min(self.settings.v2_page_size, V2_MAX_LIMIT)),
                ("taker_only", "false"),
                # the default 0.01-share floor would hide dust fills that v1 returns
                ("filter_type", "TOKENS"),
                ("filter_amount", 0),
                ("start", max(start or 1, 1)),  # start=1 asks v2 for the full history
            ]
            if end is not None:
                params.append(("end", end))
            fills: list[Fill] = []
            async for page, _ in self._v2_walk("/v2/trades", params, route, wallet, v2.parse_trades):
                fills.extend(f for f in page.items if in_window(f))
            return TradeHistory(fills=fills, complete=True)

        route = "GET /trades"
        await self.cooldown.wait(wallet, route)
        rows: list[Fill] = []

        def past_start(page: list[Fill]) -> bool:
            return start is not None and min(f.timestamp for f in page) < start

        walk = await self._v1_walk(
            "/trades",
            [("user", wallet), ("takerOnly", "false")],
            route,
            wallet,
            v1.parse_trades,
            rows,
            page_size=self.settings.v1_trades_page_size,
            stop_when=past_start,
        )
        if not walk.complete:
            log.warning("%s: v1 offset cap reached; older fills are missing", describe(route, wallet))
        return TradeHistory(fills=[f for f in rows if in_window(f)], complete=walk.complete)

    async def fetch_trade_feed(self, *, since: int, max_pages: int = 5) -> FeedPage:
        """The global trade tape (all wallets, both legs), newest first, back to ``since``."""
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")

        def reached(page: list[Fill]) -> bool:
            return any(f.timestamp < since for f in page)

        fills: list[Fill] = []
        if self.settings.data_api_version == "v2":
            route = "GET /v2/trades"
            params: Params = [
                ("limit", min(self.settings.v2_page_size, V2_MAX_LIMIT)),
                ("taker_only", "false"),
                ("filter_type", "TOKENS"),
                ("filter_amount", 0),
            ]
            reached_since, pages = True, 0
            feed = self._v2_walk("/v2/trades", params, route, None, v2.parse_trades)
            async with aclosing(feed):
                async for page, _ in feed:
                    fills.extend(page.items)
                    pages += 1
                    if reached(page.items):
                        break
                    if pages >= max_pages:
                        reached_since = not page.has_more
                        break
            return FeedPage(fills=[f for f in fills if f.timestamp >= since], reached_since=reached_since)

        walk = await self._v1_walk(
            "/trades",
            [("takerOnly", "false")],
            "GET /trades",
            None,
            v1.parse_trades,
            fills,
            page_size=self.settings.v1_trades_page_size,
            stop_when=reached,
            max_pages=max_pages,
        )
        return FeedPage(fills=[f for f in fills if f.timestamp >= since], reached_since=walk.complete)

    # --- positions, activity, value ------------------------------------------------------------

    async def fetch_positions(self, wallet: str) -> list[Position]:
        """Open positions of ``wallet`` above the dust floor, all pages."""
        positions, _ = await self.fetch_positions_raw(wallet)
        return positions

    async def fetch_positions_raw(self, wallet: str) -> tuple[list[Position], list[Any]]:
        """Like :meth:`fetch_positions`, plus each page's decoded body as received (for audit)."""
        wallet = normalize_address(wallet)
        floor = self.settings.position_size_floor
        positions: list[Position] = []
        if self.settings.data_api_version == "v2":
            route = "GET /v2/positions"
            await self.cooldown.wait(wallet, route)
            params: Params = [
                ("user", wallet),
                ("limit", min(self.settings.v2_page_size, V2_MAX_LIMIT)),
                ("filter_type", "TOKENS"),
                ("filter_amount", floor),
            ]
            bodies: list[Any] = []
            async for page, body in self._v2_walk("/v2/positions", params, route, wallet, v2.parse_positions):
                positions.extend(page.items)
                bodies.append(body)
            return positions, bodies

        route = "GET /positions"
        await self.cooldown.wait(wallet, route)
        walk = await self._v1_walk(
            "/positions",
            [("user", wallet), ("sizeThreshold", floor)],
            route,
            wallet,
            v1.parse_positions,
            positions,
            page_size=min(self.settings.v1_positions_page_size, V1_MAX_POSITIONS_LIMIT),
        )
        if not walk.complete:
            log.warning("%s: v1 offset cap reached; some positions are missing", describe(route, wallet))
        return positions, walk.bodies

    async def fetch_activity(
        self,
        wallet: str,
        *,
        types: Sequence[str] = ("REDEEM",),
        start: int | None = None,
        end: int | None = None,
    ) -> list[Activity]:
        """Activity rows of ``wallet`` of the given ``types`` (all types when empty), newest first."""
        wallet = normalize_address(wallet)
        type_csv = ",".join(t.strip().upper() for t in types if t.strip())

        def in_window(a: Activity) -> bool:
            return (start is None or a.timestamp >= start) and (end is None or a.timestamp <= end)

        activity: list[Activity] = []
        if self.settings.data_api_version == "v2":
            route = "GET /v2/activity"
            await self.cooldown.wait(wallet, route)
            params: Params = [
                ("user", wallet),
                ("limit", min(self.settings.v2_page_size, V2_MAX_LIMIT)),
                ("start", max(start or 1, 1)),
            ]
            if end is not None:
                params.append(("end", end))
            if type_csv:
                params.append(("type", type_csv))
            async for page, _ in self._v2_walk("/v2/activity", params, route, wallet, v2.parse_activity):
                activity.extend(a for a in page.items if in_window(a))
            return activity

        route = "GET /activity"
        await self.cooldown.wait(wallet, route)
        params = [("user", wallet), ("sortBy", "TIMESTAMP"), ("sortDirection", "DESC")]
        if start is not None:
            params.append(("start", start))
        if end is not None:
            params.append(("end", end))
        if type_csv:
            params.append(("type", type_csv))
        walk = await self._v1_walk(
            "/activity",
            params,
            route,
            wallet,
            v1.parse_activity,
            activity,
            page_size=min(self.settings.v1_positions_page_size, V1_MAX_POSITIONS_LIMIT),
        )
        if not walk.complete:
            log.warning("%s: v1 offset cap reached; older activity is missing", describe(route, wallet))
        return [a for a in activity if in_window(a)]

    async def fetch_value(self, wallet: str) -> PortfolioValue:
        """Total value of ``wallet``'s open positions."""
        value, _ = await self.fetch_value_raw(wallet)
        return value

    async def fetch_value_raw(self, wallet: str) -> tuple[PortfolioValue, Any]:
        """Like :meth:`fetch_value`, plus the decoded body as received."""
        wallet = normalize_address(wallet)
        v2_api = self.settings.data_api_version == "v2"
        path = "/v2/value" if v2_api else "/value"
        route = f"GET {path}"
        await self.cooldown.wait(wallet, route)
        body = await self._get("data", path, [("user", wallet)], route=route, wallet=wallet)
        ctx = ParseContext(route, wallet)
        value = self._parse(
            lambda b, c: (v2.parse_value if v2_api else v1.parse_value)(b, c, wallet), body, ctx
        )
        return value, body

    # --- markets -------------------------------------------------------------------------------

    async def fetch_market_resolution(self, condition_id: str) -> MarketResolution | None:
        """CLOB's view of one market (``closed`` + winning token); None when CLOB does not know it."""
        condition_id = condition_id.strip().lower()
        if not condition_id:
            raise ValueError("condition_id must not be empty")
        route = "GET /markets/{condition_id}"
        body = await self._get(
            "clob", f"/markets/{condition_id}", [], route=route, wallet=None, allow_404=True
        )
        if body is None:
            return None
        return self._parse(clob.parse_market, body, ParseContext(route))

    async def fetch_market_metadata(self, condition_ids: Sequence[str]) -> list[MarketMetadata]:
        """Gamma metadata for the given markets, open or closed, in input order (unknown ids skipped).

        Gamma's ``closed`` filter defaults to false, so each batch is asked twice (closed=false and
        closed=true) to find resolved markets too.
        """
        wanted = list(dict.fromkeys(c.strip().lower() for c in condition_ids if c.strip()))
        if not wanted:
            return []
        size = self.settings.gamma_batch_size
        batches = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        route = "GET /markets"
        ctx = ParseContext(route)

        async def one(batch: list[str], closed: str) -> list[MarketMetadata]:
            params: Params = [("condition_ids", c) for c in batch]
            params += [("include_tag", "true"), ("closed", closed), ("limit", len(batch))]
            body = await self._get("gamma", "/markets", params, route=route, wallet=None)
            return self._parse(gamma.parse_markets, body, ctx)

        results = await asyncio.gather(*(one(b, closed) for b in batches for closed in ("false", "true")))
        by_id: dict[str, MarketMetadata] = {}
        for markets in results:  # closed=true answers come later and win a (racy) tie
            for market in markets:
                by_id[market.condition_id] = market
        return [by_id[c] for c in wanted if c in by_id]

    # --- paging --------------------------------------------------------------------------------

    async def _v2_walk(
        self,
        path: str,
        params: Params,
        route: str,
        wallet: str | None,
        parse: Callable[[Any, ParseContext], Page[T]],
    ) -> AsyncGenerator[tuple[Page[T], Any], None]:
        """Yield ``(page, body)`` along a v2 cursor walk, re-sending every filter on each page."""
        ctx = ParseContext(route, wallet)
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page_params = [*params, ("cursor", cursor)] if cursor else params
            body = await self._get("data", path, page_params, route=route, wallet=wallet)
            page = self._parse(parse, body, ctx)
            yield page, body
            if not page.next_cursor or not page.has_more:
                return
            if page.next_cursor in seen:
                self.stats.record_payload_error()
                raise ctx.error(f"pagination.next_cursor repeated ({page.next_cursor!r}); stopping")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    async def _v1_walk(
        self,
        path: str,
        params: Params,
        route: str,
        wallet: str | None,
        parse: Callable[[Any, ParseContext], list[T]],
        out: list[T],
        *,
        page_size: int,
        stop_when: Callable[[list[T]], bool] | None = None,
        max_pages: int | None = None,
    ) -> _Walk:
        """Offset-page a v1 route into ``out``, advancing by rows received (servers may cap limit).

        Ends on an empty page or ``stop_when`` (complete), or at the offset cap or ``max_pages``
        (incomplete). A 400 past offset 0 is taken as the server's own offset cap.
        """
        ctx = ParseContext(route, wallet)
        walk = _Walk()
        offset = 0
        while True:
            if offset > self.settings.v1_offset_cap or (
                max_pages is not None and len(walk.bodies) >= max_pages
            ):
                walk.complete = False
                return walk
            page_params = [*params, ("limit", page_size), ("offset", offset)]
            try:
                body = await self._get("data", path, page_params, route=route, wallet=wallet)
            except ApiHTTPError as exc:
                if exc.status == 400 and offset > 0:
                    log.warning("%s: offset %d rejected (%s); treating as the offset cap", route, offset, exc)
                    walk.complete = False
                    return walk
                raise
            rows = self._parse(parse, body, ctx)
            walk.bodies.append(body)
            if not rows:
                return walk
            out.extend(rows)
            if stop_when is not None and stop_when(rows):
                return walk
            offset += len(rows)

    def _parse(self, parse: Callable[[Any, ParseContext], T], body: Any, ctx: ParseContext) -> T:
        try:
            return parse(body, ctx)
        except PayloadError:
            self.stats.record_payload_error()
            raise

    # --- one request, with retries -------------------------------------------------------------

    def _base_url(self, api: Api) -> str:
        s = self.settings
        base = {"data": s.data_api_url, "clob": s.clob_api_url, "gamma": s.gamma_api_url}[api]
        return base.rstrip("/")

    async def _get(
        self,
        api: Api,
        path: str,
        params: Params,
        *,
        route: str,
        wallet: str | None,
        allow_404: bool = False,
    ) -> Any:
        """GET and decode JSON, retrying transient failures; None on 404 when ``allow_404``."""
        url = self._base_url(api) + path
        s = self.settings

        def on_retry(state: RetryCallState) -> None:
            self.stats.record_retry()
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.info("retrying %s in %.2fs (attempt %d failed): %s", url, wait, state.attempt_number, exc)

        retrying = build_retrying(
            max_retries=s.max_retries,
            backoff_base=s.backoff_base_seconds,
            backoff_max=s.backoff_max_seconds,
            max_retry_after=s.max_retry_after_seconds,
            on_retry=on_retry,
            sleep=self._sleep,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(url, params, route=route, wallet=wallet, allow_404=allow_404)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self, url: str, params: Params, *, route: str, wallet: str | None, allow_404: bool
    ) -> Any:
        http, semaphore = self._http, self._semaphore
        if http is None or semaphore is None:
            raise RuntimeError("PolymarketClient is not open: use `async with PolymarketClient(...)`")
        async with semaphore:
            # the token is taken after the slot, so a request is sent as soon as it is paid for
            await self.limiter.acquire()
            self.stats.record_request(route)
            try:
                async with asyncio.timeout(self.settings.attempt_deadline_seconds):
                    response = await http.get(url, params=params)
            except (httpx.RequestError, TimeoutError) as exc:
                self.stats.record_transport_error()
                if isinstance(exc, TimeoutError):
                    detail = (
                        f"TimeoutError: no complete response within {self.settings.attempt_deadline_seconds}s"
                    )
                else:
                    text = str(exc)
                    detail = type(exc).__name__ + (f": {text}" if text else "")
                raise ApiTransportError(detail, route=route, wallet=wallet) from exc
        self.stats.record_response(response.status_code)
        return self._decode(response, route=route, wallet=wallet, allow_404=allow_404)

    def _decode(self, response: httpx.Response, *, route: str, wallet: str | None, allow_404: bool) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return json.loads(response.content)
            except (ValueError, UnicodeDecodeError) as exc:
                self.stats.record_payload_error()
                raise PayloadError(
                    f"undecodable body ({_content_type(response)}): {_snippet(response.text)}",
                    route=route,
                    wallet=wallet,
                    retryable=True,
                ) from exc
        if status == 404 and allow_404:
            return None
        message, code, body_retry_after = _error_details(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            retry_after = body_retry_after
        if status == 429:
            raise RateLimitedError(
                route=route, wallet=wallet, server_message=message, code=code, retry_after=retry_after
            )
        raise ApiHTTPError(
            status,
            route=route,
            wallet=wallet,
            server_message=message,
            code=code,
            retry_after=retry_after,
            retryable=status in RETRYABLE_STATUSES,
        )


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("Content-Type", "no content-type").split(";")[0].strip() or "no content-type"


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _error_details(response: httpx.Response) -> tuple[str | None, str | None, float | None]:
    """(message, code, retry_after) from the error shapes of v1, v2, CLOB and Gamma, or HTML."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        text = response.text
        title = _TITLE.search(text)
        if title:
            return " ".join(title.group(1).split()) or None, None, None
        return (" ".join(text.split())[:200] or None), None, None
    if not isinstance(body, dict):
        return None, None, None
    message = body.get("error") or body.get("message") or body.get("detail")
    code = body.get("code") or body.get("type")
    raw_retry = body.get("retry_after_seconds")
    retry_after = (
        float(raw_retry) if isinstance(raw_retry, int | float) and not isinstance(raw_retry, bool) else None
    )
    return (
        message if isinstance(message, str) else (json.dumps(message) if message else None),
        code if isinstance(code, str) else None,
        retry_after,
    )


__all__ = ["FeedPage", "PolymarketClient", "PolymarketError", "TradeHistory"]
