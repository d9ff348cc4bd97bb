"""HTTP plumbing shared by the route modules: query parsing, JSON bodies, and each API's error shape.

The four API families fail differently (Data v1 ``{"error"}``, Data v2 with code/trace_id,
CLOB ``{"error"}``, Gamma 422 validation errors), and clients must cope with each of them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, Literal

from starlette.datastructures import QueryParams
from starlette.responses import Response

Family = Literal["v1", "v2", "clob", "gamma"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CONDITION = re.compile(r"^0x[0-9a-fA-F]{64}$")

V2_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal",
    503: "request_timeout",
}


class ApiError(Exception):
    """An error a route answers with; rendered in the shape of the route's API family."""

    def __init__(
        self,
        status: int,
        message: str,
        parameter: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter
        self.code = code
        self.retry_after = retry_after


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(data), status_code=status, headers=headers, media_type="application/json")


def format_retry_after(seconds: float) -> str:
    """Whole seconds as HTTP wants; a fractional value only when a fault rule asks for one."""
    if seconds >= 1 or seconds <= 0:
        return str(max(0, math.ceil(seconds - 1e-9)))
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def error_response(
    family: Family,
    status: int,
    message: str,
    *,
    parameter: str | None = None,
    code: str | None = None,
    retry_after: float | None = None,
    trace_id: str | None = None,
) -> Response:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = format_retry_after(retry_after)
    body: dict[str, Any]
    if family == "v2":
        body = {
            "error": message,
            "code": code or V2_CODES.get(status, "internal"),
            "retryable": status == 429 or status >= 500,
            "trace_id": trace_id or "",
            "parameter": parameter,
        }
    elif family == "gamma" and status in (400, 422):
        status = 422
        body = {"type": "validation error", "error": message}
    else:
        body = {"error": message}
        if family == "clob" and retry_after is not None:
            body["retry_after_seconds"] = max(1, math.ceil(retry_after))
    return json_response(body, status, headers)


CLOUDFLARE_429_HTML = """<!DOCTYPE html>
<html lang="en-US"><head><title>Access denied | {host} used Cloudflare to restrict access</title>
<meta charset="UTF-8" /></head><body><div id="cf-wrapper"><div id="cf-error-details">
<h1><span class="cf-error-type">Error</span> <span class="cf-error-code">1015</span></h1>
<h2 class="cf-subheadline">You are being rate limited</h2>
<p>The owner of this website ({host}) has banned you temporarily from accessing this website.</p>
<span class="cf-footer-item">Cloudflare Ray ID: <strong>{ray}</strong></span></div></div></body></html>
"""
CLOUDFLARE_502_HTML = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
"""
CLOUDFLARE_524_HTML = """<!DOCTYPE html>
<html lang="en-US"><head><title>{host} | 524: A timeout occurred</title></head>
<body><h1>A timeout occurred <span class="code-label">Error code 524</span></h1>
<p>The origin web server timed out responding to this request.</p></body></html>
"""


def html_response(status: int, html: str, retry_after: float | None = None) -> Response:
    headers = {"Retry-After": format_retry_after(retry_after)} if retry_after is not None else None
    return Response(html, status_code=status, headers=headers, media_type="text/html")


def is_address(value: str) -> bool:
    return bool(_ADDRESS.match(value))


def is_condition_id(value: str) -> bool:
    return bool(_CONDITION.match(value))


class Query:
    """Typed access to query parameters; bad values raise ApiError(400) naming the parameter.

    Every accessor takes several names, so v2 routes can accept snake_case and camelCase aliases.
    """

    def __init__(self, params: QueryParams, path: dict[str, Any] | None = None) -> None:
        self.params = params
        self.path: dict[str, Any] = path or {}

    def name(self, *names: str) -> str | None:
        for n in names:
            if n in self.params:
                return n
        return None

    def get(self, *names: str) -> str | None:
        for n in names:
            value = self.params.get(n)
            if value is not None:
                return value
        return None

    def present(self, *names: str) -> bool:
        return self.name(*names) is not None

    def get_list(self, *names: str) -> list[str]:
        """Repeated parameters and comma-separated values, in order, empty items dropped."""
        out: list[str] = []
        for n in names:
            for value in self.params.getlist(n):
                out.extend(item.strip() for item in value.split(",") if item.strip())
        return out

    def get_int(self, *names: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        raw = self.get(*names)
        if raw is None or raw == "":
            return default
        name = self.name(*names) or names[0]
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an integer", name) from None
        if value < minimum:
            raise ApiError(400, f"{name} must be >= {minimum}", name)
        if maximum is not None and value > maximum:
            raise ApiError(400, f"{name} must be <= {maximum}", name)
        return value

    def get_float(self, *names: str, default: float | None, minimum: float = 0.0) -> float | None:
        raw = self.get(*names)
        if raw is None or raw == "":
            return default
        name = self.name(*names) or names[0]
        try:
            value = float(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be a number", name) from None
        if not math.isfinite(value) or value < minimum:
            raise ApiError(400, f"{name} must be a number >= {minimum}", name)
        return value

    def get_bool(self, *names: str, default: bool) -> bool:
        raw = self.get(*names)
        if raw is None or raw == "":
            return default
        lowered = raw.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        name = self.name(*names) or names[0]
        raise ApiError(400, f"{name} must be true or false", name)

    def get_choice(self, *names: str, choices: tuple[str, ...], default: str | None) -> str | None:
        raw = self.get(*names)
        if raw is None or raw == "":
            return default
        value = raw.upper()
        if value not in choices:
            name = self.name(*names) or names[0]
            raise ApiError(400, f"{name} must be one of {', '.join(choices)}", name)
        return value

    def wallet(self, required: bool) -> str | None:
        raw = self.get("user")
        if raw is None or raw == "":
            if required:
                raise ApiError(400, "user is required", "user")
            return None
        if not is_address(raw):
            raise ApiError(400, "user must be an address: 0x followed by 40 hex characters", "user")
        return raw.lower()

    def condition_ids(self, *names: str, maximum: int | None = None) -> list[str]:
        ids: list[str] = []
        seen: set[str] = set()
        for value in self.get_list(*names):
            if not is_condition_id(value):
                name = self.name(*names) or names[0]
                raise ApiError(400, f"{name} must be condition ids: 0x followed by 64 hex characters", name)
            lowered = value.lower()
            if lowered not in seen:
                seen.add(lowered)
                ids.append(lowered)
        if maximum is not None and len(ids) > maximum:
            name = self.name(*names) or names[0]
            raise ApiError(400, f"{name} accepts at most {maximum} distinct ids", name)
        return ids

    def ints(self, *names: str, maximum: int | None = None) -> list[int]:
        out: list[int] = []
        for value in self.get_list(*names):
            try:
                out.append(int(value))
            except ValueError:
                name = self.name(*names) or names[0]
                raise ApiError(400, f"{name} must be integers", name) from None
        if maximum is not None and len(set(out)) > maximum:
            name = self.name(*names) or names[0]
            raise ApiError(400, f"{name} accepts at most {maximum} ids", name)
        return out


def r6(x: float) -> float:
    """Round money and share amounts the way the API prints them (no float noise)."""
    return round(x, 6) + 0.0  # + 0.0 turns -0.0 into 0.0


def iso_z(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def date_only(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d")


def gamma_timestamp(ts: int) -> str:
    """Gamma's ``closedTime`` format: ``2026-03-19 23:20:15+00`` (not ISO-T)."""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S+00")
