"""Errors raised by the Polymarket client.

Every error carries the route (``GET /v2/trades``) and the wallet it was about, so a failed sweep
of hundreds of wallets says which call broke without a traceback hunt. ``retryable`` tells the
retry policy whether another attempt can help.
"""

from __future__ import annotations


def describe(route: str, wallet: str | None) -> str:
    """The common message prefix: ``GET /v2/trades for wallet 0xabc...``."""
    return f"{route} for wallet {wallet}" if wallet else route


class PolymarketError(Exception):
    """Base class: a Polymarket API call failed."""

    retryable: bool = False

    def __init__(self, detail: str, *, route: str, wallet: str | None = None) -> None:
        super().__init__(f"{describe(route, wallet)}: {detail}")
        self.detail = detail
        self.route = route
        self.wallet = wallet


class PayloadError(PolymarketError):
    """The body could not be decoded, or a row lacks a required field or has an invalid one.

    Undecodable bodies (HTML error pages, truncated JSON) are retried, since a proxy hiccup is
    the usual cause; schema violations are not, since the same body would come back.
    """

    def __init__(
        self,
        detail: str,
        *,
        route: str,
        wallet: str | None = None,
        field: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(detail, route=route, wallet=wallet)
        self.field = field
        self.retryable = retryable


class ApiHTTPError(PolymarketError):
    """A non-success HTTP status, with the server's own error message when it sent one."""

    def __init__(
        self,
        status: int,
        *,
        route: str,
        wallet: str | None = None,
        server_message: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
    ) -> None:
        detail = f"HTTP {status}"
        if code:
            detail += f" ({code})"
        if server_message:
            detail += f": {server_message}"
        super().__init__(detail, route=route, wallet=wallet)
        self.status = status
        self.server_message = server_message
        self.code = code
        self.retry_after = retry_after
        self.retryable = retryable


class RateLimitedError(ApiHTTPError):
    """HTTP 429: the server asked us to slow down (``retry_after`` seconds, when it said)."""

    def __init__(
        self,
        *,
        route: str,
        wallet: str | None = None,
        server_message: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            429,
            route=route,
            wallet=wallet,
            server_message=server_message,
            code=code,
            retry_after=retry_after,
            retryable=True,
        )


class ApiTransportError(PolymarketError):
    """The request never got a response: connect/read timeout, reset connection, DNS failure."""

    retryable = True

    def __init__(self, detail: str, *, route: str, wallet: str | None = None) -> None:
        super().__init__(detail, route=route, wallet=wallet)
