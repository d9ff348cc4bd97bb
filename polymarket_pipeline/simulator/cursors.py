"""Opaque, signed v2 cursors: what the real API promises (opaque, tamper-proof), nothing more.

A cursor is base64url(HMAC tag + compact JSON payload). The payload carries only the keyset
anchor and the page size (plus sort direction for activity), like the real v2 cursors, so
clients must re-send their filters on every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

_TAG_BYTES = 16


class CursorError(ValueError):
    """A cursor that was not issued by this server, was altered, or belongs to another route."""


def encode_cursor(secret: bytes, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    tag = hmac.new(secret, body, hashlib.sha256).digest()[:_TAG_BYTES]
    return base64.urlsafe_b64encode(tag + body).decode().rstrip("=")


def decode_cursor(secret: bytes, token: str, kind: str) -> dict[str, Any]:
    """Verify and unpack a cursor of the given kind; any tampering raises :class:`CursorError`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("cursor is not valid base64") from None
    tag, body = raw[:_TAG_BYTES], raw[_TAG_BYTES:]
    expected = hmac.new(secret, body, hashlib.sha256).digest()[:_TAG_BYTES]
    if len(tag) != _TAG_BYTES or not hmac.compare_digest(tag, expected):
        raise CursorError("cursor signature mismatch")
    try:
        payload = json.loads(body)
    except ValueError:
        raise CursorError("cursor payload is not JSON") from None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise CursorError("cursor was issued for another route")
    return payload
