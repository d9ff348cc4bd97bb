"""Client-side throttling: a shared token bucket and a per-(wallet, route) cooldown.

Polymarket enforces its limits per 10 s sliding window and answers excess with 429s (or silent
queueing); staying under a configured rate keeps sweeps of many wallets free of both.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from polymarket_pipeline.domain.budgets import Budget, reserve, with_send_margin


class Limiter(Protocol):
    """What the transport spends a token from: in-process here, shared through PostgreSQL in
    ``db.budget.SharedRateLimiter``. ``api`` and ``route`` let a limiter add per-route ceilings."""

    rate: float
    burst: int

    async def acquire(self, api: str = "data", route: str | None = None) -> None: ...


LATE_WAKE_SLACK = 0.5
"""How late, in booked intervals, a waiter may wake and still send on its slot. Sends within
this of their slots keep every window under ``rate * w + burst`` with the send margin; a later
wake (the host stalled, every overdue waiter wakes at once) books again instead of sending
together with the on-time ones behind it."""

MAX_REBOOKS = 3
"""Bookings a request makes after late wakes before it sends anyway: on a host stalled for good,
waiting for ever would be worse than a window a little over the limit (which a 429 then corrects)."""


async def wait_for_slot(book: Callable[[], Awaitable[float]], slack: float) -> int:
    """Book a slot, sleep until it, and book again when the wake came more than ``slack`` late.

    ``book`` returns how long to wait from when it returns. Returns the number of re-bookings:
    each one leaves its missed slot unused, so a stall costs throughput, never the limit.
    """
    loop = asyncio.get_running_loop()
    for rebooks in range(MAX_REBOOKS + 1):
        wait = await book()
        slot = loop.time() + wait
        if wait > 0:
            await asyncio.sleep(wait)
        if loop.time() - slot <= slack:
            return rebooks
    return MAX_REBOOKS


class RateLimiter:
    """Token bucket (GCRA, ``domain.budgets``): ``burst`` requests at once, then ``rate`` per second.

    It books with the same send margin as the shared budget (``domain.budgets.with_send_margin``:
    97 % of the rate, one token less of burst), so sends that leave late next to on-time ones
    never put more than ``rate * w + burst`` requests in any window ``w`` at the server.
    Each ``acquire`` reserves the earliest conforming send time synchronously (no awaits between
    reading and writing the state), then sleeps until it: concurrent callers queue up in order,
    and the arithmetic is exact, so a test on a virtual clock sees exactly one booked interval
    between sends. A waiter that wakes late (a stalled loop) books again (``wait_for_slot``).
    Time is the running loop's clock (``time.monotonic`` on real loops), so one instance can be
    shared by several clients, threads and successive event loops (a sensor running one
    ``asyncio.run`` per tick keeps spending the same budget). A cancelled waiter's slot is not
    given back: the bucket errs on the slow side. One process only: see ``db.budget`` for many.
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate!r} burst={burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self.booked = with_send_margin(Budget("in-process", self.rate, self.burst))
        """The bucket as booked: a little under the configured one."""
        self._tat: float | None = None
        """Theoretical arrival time: when the bucket would next be empty (None: never used)."""
        self._lock = threading.Lock()
        self.late_wakes = 0
        """Requests that woke too late for their slot and booked again (see ``wait_for_slot``)."""

    def reserve(self, now: float) -> float:
        """Reserve the next send slot at or after ``now``; return how long to wait for it."""
        with self._lock:
            self._tat, wait = reserve(now if self._tat is None else self._tat, now, self.booked)
        return wait

    async def acquire(self, api: str = "data", route: str | None = None) -> None:
        """Wait until a token is available and take it."""
        loop = asyncio.get_running_loop()

        async def book() -> float:
            return self.reserve(loop.time())

        self.late_wakes += await wait_for_slot(book, LATE_WAKE_SLACK * self.booked.interval)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, burst={self.burst!r})"


class WalletCooldown:
    """Two consecutive fetches of the same (wallet, route) start at least ``seconds`` apart.

    Keeps a hot loop from hammering one wallet; the pages of one fetch are not delayed. Slots
    are reserved synchronously (no awaits between reading and writing), so concurrent callers
    queue up in order, and the object can outlive clients and event loops.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if seconds < 0:
            raise ValueError(f"cooldown seconds must not be negative, got {seconds!r}")
        self.seconds = float(seconds)
        self._clock = clock
        """Monotonic seconds; tests pass the event loop's (fake) clock."""
        self._next_start: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def reserve(self, wallet: str, route: str) -> float:
        """Reserve the next start slot for (wallet, route); return how long to wait for it."""
        key = (wallet.lower(), route)
        now = self._clock()
        with self._lock:
            start = max(now, self._next_start.get(key, now))
            self._next_start[key] = start + self.seconds
            if len(self._next_start) > 10_000:
                self._next_start = {k: v for k, v in self._next_start.items() if v > now}
        return start - now

    async def wait(self, wallet: str, route: str) -> float:
        """Sleep until (wallet, route) may be fetched again; return the seconds waited."""
        delay = self.reserve(wallet, route)
        if delay > 0:
            await asyncio.sleep(delay)
        return delay

    def __repr__(self) -> str:
        return f"WalletCooldown(seconds={self.seconds!r})"
