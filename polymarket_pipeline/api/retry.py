"""Retry policy (tenacity): what is worth another attempt, and how long to wait first.

Throttling (429), server trouble (5xx), lost connections and garbled bodies are usually
transient; other 4xx mean the request itself is wrong, so repeating it only burns rate budget.
When the server says how long to wait (``Retry-After``), that beats any guess of ours.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base

from polymarket_pipeline.api.errors import PolymarketError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    Returns None when absent or unparseable; never negative.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, PolymarketError) and exc.retryable


class RetryAfterOrBackoff(wait_base):
    """``Retry-After`` when the error carries one (capped), else exponential backoff with jitter.

    The backoff is "equal jitter": half the exponential delay fixed, half random, so a fleet of
    clients spreads out without any of them retrying immediately.
    """

    def __init__(self, base: float, maximum: float, max_retry_after: float) -> None:
        self.base = base
        self.maximum = maximum
        self.max_retry_after = max_retry_after

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            return float(min(max(retry_after, 0.0), self.max_retry_after))
        delay = min(self.maximum, self.base * 2 ** (retry_state.attempt_number - 1))
        return delay / 2 + random.uniform(0, delay / 2)


def build_retrying(
    *,
    max_retries: int,
    backoff_base: float,
    backoff_max: float,
    max_retry_after: float,
    on_retry: Callable[[RetryCallState], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> AsyncRetrying:
    """An ``AsyncRetrying`` that re-raises the last error (not tenacity's ``RetryError``)."""

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None:
            on_retry(state)

    return AsyncRetrying(
        sleep=sleep or asyncio.sleep,
        stop=stop_after_attempt(max_retries + 1),
        wait=RetryAfterOrBackoff(backoff_base, backoff_max, max_retry_after),
        retry=retry_if_exception(is_retryable),
        before_sleep=before_sleep,
        reraise=True,
    )
