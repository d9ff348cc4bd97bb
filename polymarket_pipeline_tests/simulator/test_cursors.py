"""Signed cursors: opaque, verifiable, bound to the route kind."""

from __future__ import annotations

import base64

import pytest

from polymarket_pipeline.simulator.cursors import CursorError, decode_cursor, encode_cursor

SECRET = b"s" * 32


def test_round_trip() -> None:
    payload = {"k": "trades", "t": 1_700_000_000, "s": 42, "n": 100}
    token = encode_cursor(SECRET, payload)
    assert "=" not in token
    assert decode_cursor(SECRET, token, "trades") == payload


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: "x" + t,
        lambda t: t[:10],
        lambda t: "@@@",
    ],
)
def test_any_change_is_rejected(mutate: object) -> None:
    token = encode_cursor(SECRET, {"k": "trades", "t": 1, "s": 2, "n": 3})
    with pytest.raises(CursorError):
        decode_cursor(SECRET, mutate(token), "trades")  # type: ignore[operator]


def test_forged_payload_without_the_secret_is_rejected() -> None:
    token = encode_cursor(SECRET, {"k": "trades", "t": 1, "s": 2, "n": 3})
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    forged = base64.urlsafe_b64encode(raw[:16] + b'{"k":"trades","n":1000,"s":2,"t":1}').decode()
    with pytest.raises(CursorError, match="signature"):
        decode_cursor(SECRET, forged, "trades")
    with pytest.raises(CursorError):
        decode_cursor(b"other" * 8, token, "trades")


def test_kind_is_checked() -> None:
    token = encode_cursor(SECRET, {"k": "activity", "t": 1, "s": 2, "n": 3, "d": "ASC"})
    with pytest.raises(CursorError, match="another route"):
        decode_cursor(SECRET, token, "trades")
