"""One GET, done safely: rate limit, concurrency bound, retries, bounded reads, inert error text.

Everything here is independent of what the APIs mean; the Data API adapters, CLOB and Gamma
modules build on ``Transport.get``. Bounds that hold whatever the server does:

- **Size.** Bodies are streamed and decompressed here (only gzip is asked for), counting
  decoded bytes; past ``max_response_bytes`` the read is aborted with a non-retryable
  ``PayloadError`` naming the limit, so a 300 MB answer (or a gzip bomb) never sits in memory.
  Error bodies are read only up to 64 KiB.
- **Time.** Each attempt has a hard deadline (``attempt_deadline_seconds``) on top of the
  connect/read timeouts, so a server dripping bytes cannot hold a call.
- **Text.** A server's error message reaches exceptions, logs and the database only escaped
  (controls, newlines, ANSI sequences shown as escapes) and cut to 300 characters.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import re
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from tenacity import RetryCallState

from polymarket_pipeline.api.errors import ApiHTTPError, ApiTransportError, PayloadError, RateLimitedError
from polymarket_pipeline.api.ratelimit import Limiter, WalletCooldown
from polymarket_pipeline.api.retry import RETRYABLE_STATUSES, build_retrying, parse_retry_after
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.text import ERROR_TEXT_LIMIT, escape

log = logging.getLogger("polymarket_pipeline.api")

Api = Literal["data", "clob", "gamma"]
Params = list[tuple[str, str | int | float | bool | None]]

USER_AGENT = "polymarket-pipeline/0.1 (+httpx)"
ERROR_BODY_READ_BYTES = 64 * 1024
"""Of an error response only this much is read: the message is cut to 300 characters anyway."""
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_JSON_MESSAGE = re.compile(r'^\s*\{\s*"(?:error|message|detail)"\s*:\s*"((?:[^"\\]|\\.){0,2000})')


@dataclass(frozen=True)
class Body:
    """A decoded 2xx body, with a digest of its bytes (a walk spots a page served twice by it)."""

    data: Any
    digest: str
    size: int


class _TooLarge(Exception):
    pass


class Transport:
    """The HTTP side of the client: one httpx pool, one token bucket, one concurrency bound.

    ``limiter`` and ``cooldown`` may be shared by several clients (and outlive them), so hot and
    cold sweeps, or successive sensor ticks, respect one budget. ``transport`` is for tests.
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        stats: ApiStats,
        limiter: Limiter,
        cooldown: WalletCooldown,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.limiter = limiter
        self.cooldown = cooldown
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """How retries wait; tests swap it to observe the waits without spending them."""

    async def open(self) -> None:
        if self._http is not None:
            raise RuntimeError("PolymarketClient is already open")
        s = self.settings
        self._http = httpx.AsyncClient(
            timeout=s.timeout,
            limits=httpx.Limits(
                max_connections=s.max_concurrency, max_keepalive_connections=s.max_concurrency
            ),
            # only gzip: decompressed here, chunk by chunk, under the size bound
            headers={"Accept": "application/json", "Accept-Encoding": "gzip", "User-Agent": USER_AGENT},
            transport=self._transport,
            follow_redirects=False,
        )
        self._semaphore = asyncio.Semaphore(s.max_concurrency)

    async def aclose(self) -> None:
        """Close the connection pool (idempotent)."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    def _base_url(self, api: Api) -> str:
        s = self.settings
        base = {"data": s.data_api_url, "clob": s.clob_api_url, "gamma": s.gamma_api_url}[api]
        return base.rstrip("/")

    async def get(
        self,
        api: Api,
        path: str,
        params: Params,
        *,
        route: str,
        wallet: str | None,
        allow_404: bool = False,
    ) -> Body | None:
        """GET and decode JSON, retrying transient failures; None on 404 when ``allow_404``."""
        url = self._base_url(api) + path
        s = self.settings

        def on_retry(state: RetryCallState) -> None:
            self.stats.record_retry()
            exc = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.info("retrying %s in %.2fs (attempt %d failed): %s", route, wait, state.attempt_number, exc)

        retrying = build_retrying(
            max_retries=s.max_retries,
            backoff_base=s.backoff_base_seconds,
            backoff_max=s.backoff_max_seconds,
            max_retry_after=s.max_retry_after_seconds,
            on_retry=on_retry,
            sleep=self.sleep,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(
                    url, params, api=api, route=route, wallet=wallet, allow_404=allow_404
                )
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _attempt(
        self, url: str, params: Params, *, api: Api, route: str, wallet: str | None, allow_404: bool
    ) -> Body | None:
        http, semaphore = self._http, self._semaphore
        if http is None or semaphore is None:
            raise RuntimeError("PolymarketClient is not open: use `async with PolymarketClient(...)`")
        limit = self.settings.max_response_bytes
        async with semaphore:
            # the token is taken after the slot, so a request is sent as soon as it is paid for
            await self.limiter.acquire(api, route)
            self.stats.record_request(route)
            try:
                async with asyncio.timeout(self.settings.attempt_deadline_seconds):
                    async with http.stream("GET", url, params=params) as response:
                        status = response.status_code
                        ok = 200 <= status < 300
                        self.stats.record_response(status)
                        if ok:
                            declared = _content_length(response)
                            if declared is not None and declared > limit:
                                raise _TooLarge()
                        raw = await _read(response, limit if ok else ERROR_BODY_READ_BYTES, strict=ok)
            except _TooLarge:
                self.stats.record_payload_error()
                raise PayloadError(
                    f"response body exceeds max_response_bytes ({limit} bytes); aborted while reading",
                    route=route,
                    wallet=wallet,
                ) from None
            except (httpx.RequestError, TimeoutError) as exc:
                self.stats.record_transport_error()
                if isinstance(exc, TimeoutError):
                    detail = (
                        f"TimeoutError: no complete response within {self.settings.attempt_deadline_seconds}s"
                    )
                else:
                    message = escape(str(exc), 200)
                    detail = type(exc).__name__ + (f": {message}" if message else "")
                raise ApiTransportError(detail, route=route, wallet=wallet) from exc
            except _BadEncoding as exc:
                self.stats.record_payload_error()
                raise PayloadError(str(exc), route=route, wallet=wallet, retryable=True) from None
        if ok:
            return self._decode(raw, response, route=route, wallet=wallet)
        if status == 404 and allow_404:
            return None
        raise _http_error(status, raw, response, route=route, wallet=wallet)

    def _decode(self, raw: bytes, response: httpx.Response, *, route: str, wallet: str | None) -> Body:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            self.stats.record_payload_error()
            shown = escape(raw[:400].decode("utf-8", "replace"), 120)
            raise PayloadError(
                f"undecodable body ({_content_type(response)}): '{shown}'",
                route=route,
                wallet=wallet,
                retryable=True,
            ) from exc
        return Body(data=data, digest=hashlib.sha256(raw).hexdigest(), size=len(raw))


class _BadEncoding(Exception):
    pass


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None or response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return None  # a compressed length says nothing about the decoded size
    try:
        return int(value)
    except ValueError:
        return None


async def _read(response: httpx.Response, limit: int, *, strict: bool) -> bytes:
    """The decoded body, at most ``limit`` bytes: past it, raise (``strict``) or stop reading."""
    if response.is_stream_consumed:  # built in memory (test transports), already decoded by httpx
        content = response.content
        if len(content) > limit and strict:
            raise _TooLarge()
        return content[:limit]
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        decoder: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding in ("", "identity"):
        decoder = None
    else:
        raise _BadEncoding(f"unsupported Content-Encoding {escape(encoding, 40)!r}")
    chunks: list[bytes] = []
    size = 0

    def take(data: bytes) -> bool:
        nonlocal size
        room = limit - size
        if len(data) > room:
            if strict:
                raise _TooLarge()
            chunks.append(data[:room])
            size = limit
            return False
        chunks.append(data)
        size += len(data)
        return True

    try:
        async for chunk in response.aiter_raw():
            if decoder is None:
                if not take(chunk):
                    break
                continue
            data = chunk
            while data:
                if not take(decoder.decompress(data, limit - size + 1)):
                    return b"".join(chunks)
                data = decoder.unconsumed_tail
        if decoder is not None:
            take(decoder.flush(limit - size + 1))
    except zlib.error as exc:
        raise _BadEncoding(f"corrupt {encoding} body: {exc}") from None
    return b"".join(chunks)


def _content_type(response: httpx.Response) -> str:
    value = response.headers.get("Content-Type", "").split(";")[0].strip()
    return escape(value, 60) or "no content-type"


def _http_error(
    status: int, raw: bytes, response: httpx.Response, *, route: str, wallet: str | None
) -> ApiHTTPError:
    message, code, body_retry_after = _error_details(raw)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is None or not math.isfinite(retry_after):
        retry_after = body_retry_after
    if status == 429:
        return RateLimitedError(
            route=route, wallet=wallet, server_message=message, code=code, retry_after=retry_after
        )
    return ApiHTTPError(
        status,
        route=route,
        wallet=wallet,
        server_message=message,
        code=code,
        retry_after=retry_after,
        retryable=status in RETRYABLE_STATUSES,
    )


def _json_string_prefix(encoded: str) -> str:
    """The text of a JSON string literal's body, however it was cut (a partial escape is dropped)."""
    for cut in range(min(len(encoded), 6) + 1):
        try:
            decoded: str = json.loads('"' + encoded[: len(encoded) - cut] + '"')
        except ValueError:
            continue
        return decoded
    return ""


def _error_details(raw: bytes) -> tuple[str | None, str | None, float | None]:
    """(message, code, retry_after) from the error shapes of v1, v2, CLOB and Gamma, or HTML.

    Message and code come back escaped and cut (300 and 64 characters).
    """
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        field = _JSON_MESSAGE.search(text)  # a JSON body cut at the read limit
        if field:
            return escape(_json_string_prefix(field.group(1)), ERROR_TEXT_LIMIT) or None, None, None
        title = _TITLE.search(text)
        found = title.group(1) if title else text
        return (escape(" ".join(found.split()), ERROR_TEXT_LIMIT) or None), None, None
    if not isinstance(body, dict):
        return None, None, None
    message = body.get("error") or body.get("message") or body.get("detail")
    code = body.get("code") or body.get("type")
    raw_retry = body.get("retry_after_seconds")
    retry_after = (
        float(raw_retry)
        if isinstance(raw_retry, int | float) and not isinstance(raw_retry, bool) and math.isfinite(raw_retry)
        else None
    )
    if message is not None and not isinstance(message, str):
        message = json.dumps(message)
    return (
        escape(message, ERROR_TEXT_LIMIT) if message else None,
        escape(code, 64) if isinstance(code, str) and code else None,
        max(0.0, retry_after) if retry_after is not None else None,
    )
