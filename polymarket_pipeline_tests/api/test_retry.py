"""Retry-After parsing and the wait policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tenacity import RetryCallState

from polymarket_pipeline.api.errors import ApiHTTPError, PayloadError, RateLimitedError
from polymarket_pipeline.api.retry import RetryAfterOrBackoff, is_retryable, parse_retry_after

NOW = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Wed, 01 Jul 2026 12:00:07 GMT", 7.0),
        ("Wed, 01 Jul 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("1e999", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


def _state(exc: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_wait_prefers_retry_after_capped() -> None:
    wait = RetryAfterOrBackoff(base=0.5, maximum=30.0, max_retry_after=60.0)
    assert wait(_state(RateLimitedError(route="r", retry_after=2.0), 1)) == 2.0
    assert wait(_state(RateLimitedError(route="r", retry_after=600.0), 1)) == 60.0


def test_wait_backoff_is_exponential_with_jitter_and_capped() -> None:
    wait = RetryAfterOrBackoff(base=0.5, maximum=3.0, max_retry_after=60.0)
    err = ApiHTTPError(503, route="r", retryable=True)
    for attempt, (lo, hi) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)], 1):
        samples = [wait(_state(err, attempt)) for _ in range(50)]
        assert all(lo <= s <= hi for s in samples)
        assert len(set(samples)) > 1  # jittered


def test_what_is_retryable() -> None:
    assert is_retryable(RateLimitedError(route="r"))
    assert is_retryable(ApiHTTPError(502, route="r", retryable=True))
    assert not is_retryable(ApiHTTPError(400, route="r"))
    assert is_retryable(PayloadError("garbled", route="r", retryable=True))
    assert not is_retryable(PayloadError("missing field", route="r"))
    assert not is_retryable(ValueError("x"))
