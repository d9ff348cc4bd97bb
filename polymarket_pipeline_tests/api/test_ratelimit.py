"""Token bucket and per-wallet cooldown timing."""

from __future__ import annotations

import asyncio
import time
import warnings

import pytest

from polymarket_pipeline.api.ratelimit import RateLimiter, WalletCooldown


async def _acquire_times(limiter: RateLimiter, n: int) -> list[float]:
    began = time.monotonic()
    out = []
    for _ in range(n):
        await limiter.acquire()
        out.append(time.monotonic() - began)
    return out


def test_burst_then_steady_rate() -> None:
    limiter = RateLimiter(rate=50.0, burst=5)
    times = asyncio.run(_acquire_times(limiter, 25))
    assert times[4] < 0.05  # the burst is immediate
    assert 0.35 <= times[-1] <= 0.6  # the other 20 at 50/s


def test_concurrent_acquirers_share_one_bucket() -> None:
    limiter = RateLimiter(rate=100.0, burst=2)

    async def go() -> float:
        began = time.monotonic()
        await asyncio.gather(*(limiter.acquire() for _ in range(32)))
        return time.monotonic() - began

    assert 0.27 <= asyncio.run(go()) <= 0.5


def test_reused_across_event_loops_without_warnings() -> None:
    limiter = RateLimiter(rate=1000.0, burst=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(_acquire_times(limiter, 5))
        asyncio.run(_acquire_times(limiter, 5))


def test_invalid_limiter() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=0, burst=1)


def test_cooldown_reservations() -> None:
    cooldown = WalletCooldown(10.0)
    assert cooldown.reserve("0xAB", "GET /v2/trades") == 0.0
    assert cooldown.reserve("0xab", "GET /v2/trades") == pytest.approx(10.0, abs=0.05)
    assert cooldown.reserve("0xab", "GET /v2/trades") == pytest.approx(20.0, abs=0.05)  # queued in order
    assert cooldown.reserve("0xab", "GET /v2/positions") == 0.0
    assert cooldown.reserve("0xcd", "GET /v2/trades") == 0.0


def test_cooldown_wait_spaces_concurrent_callers() -> None:
    cooldown = WalletCooldown(0.1)

    async def go() -> list[float]:
        began = time.monotonic()
        stamps: list[float] = []

        async def one() -> None:
            await cooldown.wait("0xab", "r")
            stamps.append(time.monotonic() - began)

        await asyncio.gather(one(), one(), one())
        return sorted(stamps)

    a, b, c = asyncio.run(go())
    assert a < 0.05
    assert b >= 0.095
    assert c >= 0.195


def test_zero_cooldown_never_waits() -> None:
    cooldown = WalletCooldown(0.0)
    assert [cooldown.reserve("0xab", "r") for _ in range(3)] == [0.0, 0.0, 0.0]
