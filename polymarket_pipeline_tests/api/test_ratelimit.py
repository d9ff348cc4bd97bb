"""Token bucket and per-wallet cooldown timing, on a virtual clock.

Arrival times are read from the event loop's clock, which ``aiotools.VirtualClock`` advances only
when every task is waiting: the numbers are exact and the tests take no wall time, whatever else
the machine is doing. What the *server* sees is checked separately, against the simulator's
request log (``test_client_simulator.py``).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pytest
from aiotools import VirtualClock

from polymarket_pipeline.api import ClientSettings, PolymarketClient
from polymarket_pipeline.api.ratelimit import MAX_REBOOKS, RateLimiter, WalletCooldown, wait_for_slot
from polymarket_pipeline.domain.budgets import Budget, busiest_window, window_allowance, with_send_margin
from polymarket_pipeline_tests.api import payloads as p

T = TypeVar("T")


def virtual(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` on an event loop whose time is virtual (starts at 0, jumps to each deadline)."""

    async def wrapper() -> T:
        with VirtualClock().patch_loop():
            return await main()

    return asyncio.run(wrapper())


def now() -> float:
    return asyncio.get_running_loop().time()


async def _acquire_times(limiter: RateLimiter, n: int) -> list[float]:
    began = now()
    out = []
    for _ in range(n):
        await limiter.acquire()
        out.append(round(now() - began, 9))
    return out


def test_the_bucket_books_a_little_under_its_limit() -> None:
    """The send margin of the shared budget: 97 % of the rate and one token less of burst."""
    limiter = RateLimiter(rate=50.0, burst=5)
    assert (limiter.rate, limiter.burst) == (50.0, 5)
    assert limiter.booked.rate == pytest.approx(48.5)
    assert limiter.booked.burst == 4
    assert RateLimiter(rate=5.0, burst=1).booked.burst == 1


def test_burst_then_steady_rate() -> None:
    limiter = RateLimiter(rate=50.0, burst=5)
    booked = limiter.booked.rate
    times = virtual(lambda: _acquire_times(limiter, 25))
    assert times[:4] == [0.0] * 4  # the burst is immediate
    assert times[4:] == pytest.approx([k / booked for k in range(1, 22)])  # then exactly the booked rate
    assert max(busiest_window(times, w) - window_allowance(50.0, 5, w) for w in (1, 2, 5)) < 0


def test_concurrent_acquirers_share_one_bucket() -> None:
    limiter = RateLimiter(rate=100.0, burst=3)

    async def go() -> list[float]:
        began = now()
        stamps: list[float] = []

        async def one() -> None:
            await limiter.acquire()
            stamps.append(now() - began)

        await asyncio.gather(*(one() for _ in range(32)))
        return sorted(stamps)

    stamps = virtual(go)
    assert stamps[:2] == [0.0, 0.0]
    assert stamps[2:] == pytest.approx([k / limiter.booked.rate for k in range(1, 31)])


def test_client_requests_arrive_at_the_configured_rate() -> None:
    """The client's own arrivals, counted in-process: a burst, then one request per 1/rate."""
    rate, burst, n = 20.0, 5, 45
    arrivals: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(now())
        return httpx.Response(200, json=p.v2_value(1.0))

    settings = ClientSettings(
        data_api_url="http://sim.test/data", rate_limit=rate, burst=burst, wallet_cooldown_seconds=0.0
    )

    async def go() -> None:
        began = now()
        async with PolymarketClient(settings, transport=httpx.MockTransport(handler)) as client:
            await asyncio.gather(*(client.fetch_value(p.WALLET) for _ in range(n)))
        arrivals[:] = [round(t - began, 9) for t in arrivals]

    virtual(go)
    booked = with_send_margin(Budget("x", rate, burst))
    expected = [0.0] * booked.burst + [k / booked.rate for k in range(1, n - booked.burst + 1)]
    assert sorted(arrivals) == pytest.approx(expected)
    for length in (1, 2, 3):  # never more than the bucket allows in any window
        assert busiest_window(arrivals, length) <= window_allowance(rate, burst, length)


def test_a_stall_never_bunches_late_waiters_with_on_time_ones() -> None:
    """A loop that blocks for 0.3 s wakes every overdue waiter at once: they book again instead
    of all sending at that instant beside the ones due right after (which puts 11 requests in a
    quarter of a second where a 20/s, burst-5 bucket allows 10)."""
    rate, burst, n = 20.0, 5, 60
    limiter = RateLimiter(rate=rate, burst=burst)
    clock = VirtualClock()

    async def go() -> list[float]:
        stamps: list[float] = []

        async def one() -> None:
            await limiter.acquire()
            stamps.append(now())

        async def stall() -> None:
            await asyncio.sleep(0.1)
            clock.vtime += 0.3  # the loop ran something blocking for 0.3 s

        await asyncio.gather(stall(), *(one() for _ in range(n)))
        return sorted(stamps)

    async def main() -> list[float]:
        with clock.patch_loop():
            return await go()

    stamps = asyncio.run(main())
    assert len(stamps) == n
    assert limiter.late_wakes > 0
    for length in (0.25, 0.5, 1, 2, 3):
        assert busiest_window(stamps, length) <= window_allowance(rate, burst, length), length


def test_a_host_stalled_for_good_still_sends() -> None:
    """Every wake a second late: a request books again at most ``MAX_REBOOKS`` times, then goes."""
    clock = VirtualClock()
    bookings = 0

    async def book() -> float:
        nonlocal bookings
        bookings += 1

        def stall() -> None:
            clock.vtime += 1.0

        asyncio.get_running_loop().call_later(0.05, stall)  # runs while the caller sleeps
        return 0.1

    async def main() -> int:
        with clock.patch_loop():
            return await wait_for_slot(book, slack=0.01)

    assert asyncio.run(main()) == MAX_REBOOKS
    assert bookings == MAX_REBOOKS + 1


def test_reused_across_event_loops_without_warnings() -> None:
    limiter = RateLimiter(rate=1000.0, burst=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asyncio.run(_acquire_times(limiter, 5))
        asyncio.run(_acquire_times(limiter, 5))


def test_invalid_limiter() -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(rate=0, burst=1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cooldown_reservations() -> None:
    clock = FakeClock()
    cooldown = WalletCooldown(10.0, clock=clock)
    assert cooldown.reserve("0xAB", "GET /v2/trades") == 0.0
    assert cooldown.reserve("0xab", "GET /v2/trades") == 10.0
    assert cooldown.reserve("0xab", "GET /v2/trades") == 20.0  # queued in order
    assert cooldown.reserve("0xab", "GET /v2/positions") == 0.0
    assert cooldown.reserve("0xcd", "GET /v2/trades") == 0.0
    clock.now += 25.0
    assert cooldown.reserve("0xab", "GET /v2/trades") == 5.0


def test_cooldown_wait_spaces_concurrent_callers() -> None:
    async def go() -> list[float]:
        cooldown = WalletCooldown(0.1, clock=now)
        began = now()
        stamps: list[float] = []

        async def one() -> None:
            await cooldown.wait("0xab", "r")
            stamps.append(round(now() - began, 9))

        await asyncio.gather(one(), one(), one())
        return sorted(stamps)

    assert virtual(go) == pytest.approx([0.0, 0.1, 0.2])


def test_zero_cooldown_never_waits() -> None:
    cooldown = WalletCooldown(0.0)
    assert [cooldown.reserve("0xab", "r") for _ in range(3)] == [0.0, 0.0, 0.0]
