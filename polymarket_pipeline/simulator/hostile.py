"""The bodies behind the hostile fault kinds (see ``faults`` for what each kind means).

Each takes the clean response a route produced (or none) and returns what the rule asks for:
rows with one field broken, a valid body padded to N MB, an error body of N MB with terminal
escapes and forged log lines, a page whose cursor never ends, or a connection cut mid-body.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from polymarket_pipeline.simulator.cursors import CursorError, decode_cursor, encode_cursor
from polymarket_pipeline.simulator.faults import FaultRule
from polymarket_pipeline.simulator.web import json_bytes

MB = 1024 * 1024
CHUNK = 256 * 1024
ENDLESS = "endless"
"""The cursor kind of an endless walk (accepted by every v2 route)."""
CONTROL_TITLE_SUFFIX = "\x00\x07\x1b[31mRED\x1b[0m\r\n2026-11-30 12:00:00 +0000 - dagster - ERROR - forged"
YEAR_2100 = 4_102_448_400
ERROR_LINE = (
    b"\x1b[31;1mERROR\x1b[0m upstream failure \x1b[2K\r\n"
    b"2026-11-30 12:00:00 +0000 - dagster - ERROR - polymarket_pipeline - run failed (forged line)\n"
    b"\x1b]0;pwned\x07\x1b[2J\x1b[H\t\x00\n"
)

_TITLE = ("title", "question")
_CONDITION = ("conditionId", "condition_id")
_TOKEN = ("asset", "token_id")
_OUTCOME_INDEX = ("outcomeIndex", "outcome_index")
_TIMESTAMP = ("timestamp", "last_event_at")
_SIZE = ("size", "current_size")
_PRICE = ("price", "curPrice", "current_price")
_WALLET = ("proxyWallet", "proxy_wallet", "user")


class ConnectionDropped(Exception):
    """Raised after part of a body was sent, so the server closes the connection (a ``drop`` fault)."""


class _QuietDrops(logging.Filter):
    """Keep deliberate drops out of uvicorn's error log (they are not server bugs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


# ---------------------------------------------------------------------- corrupt rows
def _rows(doc: Any) -> list[dict[str, Any]]:
    """The row objects of any body shape: a bare array, a v2/CLOB ``data`` list or object, one object."""
    if isinstance(doc, list):
        return [r for r in doc if isinstance(r, dict)]
    if isinstance(doc, dict):
        data = doc.get("data")
        if isinstance(data, list):
            return [r for r in data if isinstance(r, dict)]
        if isinstance(data, dict):
            return [data]
        return [doc]
    return []


def _set(row: dict[str, Any], keys: tuple[str, ...], value: Callable[[Any], Any]) -> bool:
    hit = False
    for key in keys:
        if key in row:
            row[key] = value(row[key])
            hit = True
    return hit


def _corrupt_row(row: dict[str, Any], field: str, other_wallet: Callable[[str], str]) -> bool:
    if field == "control_chars":
        return _set(row, _TITLE, lambda v: f"{v}{CONTROL_TITLE_SUFFIX}")
    if field == "long_condition_id":
        return _set(row, _CONDITION, lambda v: "0x" + "c" * 78)
    if field == "long_token_id":
        hit = _set(row, _TOKEN, lambda v: "9" * 150)
        tokens = row.get("tokens")
        if isinstance(tokens, list) and tokens and isinstance(tokens[0], dict):
            tokens[0]["token_id"] = "9" * 150
            hit = True
        if isinstance(row.get("clobTokenIds"), str):
            ids = json.loads(row["clobTokenIds"]) or [""]
            row["clobTokenIds"] = json.dumps(["9" * 150, *ids[1:]])
            hit = True
        return hit
    if field == "huge_outcome_index":
        return _set(row, _OUTCOME_INDEX, lambda v: 10**20)
    if field == "huge_timestamp":
        return _set(row, _TIMESTAMP, lambda v: 99_999_999_999_999_999)
    if field == "year_2100":
        return _set(row, _TIMESTAMP, lambda v: YEAR_2100)
    if field == "negative_size":
        return _set(row, _SIZE, lambda v: -5)
    if field == "price_above_one":
        return _set(row, _PRICE, lambda v: 7.5)
    if field == "negative_price":
        return _set(row, _PRICE, lambda v: -0.2)
    if field == "string_size":
        return _set(row, _SIZE, lambda v: "1e3")
    if field == "foreign_wallet":
        return _set(row, _WALLET, lambda v: other_wallet(str(v)))
    raise ValueError(f"unknown corruption {field!r}")


def corrupt(body: bytes, rule: FaultRule, other_wallet: Callable[[str], str]) -> tuple[bytes, int]:
    """The body with ``rule.field`` broken in its first ``rule.rows`` rows; also how many changed."""
    doc = json.loads(body)
    rows = _rows(doc)
    if rule.rows is not None:
        rows = rows[: rule.rows]
    assert rule.field is not None
    changed = sum(_corrupt_row(r, rule.field, other_wallet) for r in rows)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(), changed


# ---------------------------------------------------------------------- big bodies
def _streamed(
    parts: Callable[[], AsyncIterator[bytes]], total: int, rule: FaultRule, status: int, media: str
) -> Response:
    headers = {"content-length": str(total)} if rule.declare_length else None
    return StreamingResponse(parts(), status_code=status, headers=headers, media_type=media)


def oversize(body: bytes, rule: FaultRule) -> Response:
    """A valid body of the route's shape, its rows repeated until it weighs ``size_mb`` MB."""
    target = int(rule.size_mb * MB)
    doc = json.loads(body)
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        rows = doc["data"]
        rest = {k: v for k, v in doc.items() if k != "data"}
        prefix = b'{"data":['
        suffix = b"]" + (b"," + json_bytes(rest)[1:] if rest else b"}")
    else:
        rows = doc if isinstance(doc, list) else [doc]
        prefix, suffix = b"[", b"]"
    row = json_bytes(rows[0]) if rows else json_bytes({"padding": "x" * 1000})
    n = max(1, math.ceil((target - len(prefix) - len(suffix) + 1) / (len(row) + 1)))
    total = len(prefix) + n * (len(row) + 1) - 1 + len(suffix)
    per_chunk = max(1, CHUNK // (len(row) + 1))

    async def parts() -> AsyncIterator[bytes]:
        yield prefix
        left = n
        first = True
        while left:
            k = min(per_chunk, left)
            chunk = b",".join([row] * k)
            yield chunk if first else b"," + chunk
            first = False
            left -= k
        yield suffix

    return _streamed(parts, total, rule, 200, "application/json")


def huge_error(rule: FaultRule) -> Response:
    """An error body of ``size_mb`` MB: escape codes, carriage returns and forged log lines."""
    target = int(rule.size_mb * MB)
    n = max(1, math.ceil(target / len(ERROR_LINE)))
    total = n * len(ERROR_LINE)
    per_chunk = max(1, CHUNK // len(ERROR_LINE))

    async def parts() -> AsyncIterator[bytes]:
        left = n
        while left:
            k = min(per_chunk, left)
            yield ERROR_LINE * k
            left -= k

    return _streamed(parts, total, rule, rule.status, "text/plain")


# ---------------------------------------------------------------------- endless cursors
def endless_step(secret: bytes, token: str | None) -> int | None:
    """The step of an endless cursor, or None for any other (or no) cursor."""
    if not token:
        return None
    try:
        payload = decode_cursor(secret, token, ENDLESS)
    except CursorError:
        return None
    return int(payload.get("i", 0))


def endless(body: bytes, secret: bytes, step: int) -> bytes:
    """The page with ``has_more`` and a never-seen-before cursor (valid, and endless in turn)."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("pagination"), dict):
        return body
    token = encode_cursor(secret, {"k": ENDLESS, "i": step + 1, "r": secrets.token_hex(8)})
    doc["pagination"]["has_more"] = True
    doc["pagination"]["next_cursor"] = token
    return json_bytes(doc)


# ---------------------------------------------------------------------- dropped connections
class DroppedResponse(Response):
    """Sends the headers (with the full Content-Length) and half the body, then breaks off."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytes(self.body)
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": body[: max(1, len(body) // 2)], "more_body": True})
        raise ConnectionDropped("connection dropped mid-response by a fault rule")
