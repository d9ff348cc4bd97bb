"""Client-side throttling: a shared token bucket and a per-(wallet, route) cooldown.

Polymarket enforces its limits per 10 s sliding window and answers excess with 429s (or silent
queueing); staying under a configured rate keeps sweeps of many wallets free of both.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token bucket (GCRA): ``burst`` requests at once, then ``rate`` per second; one token per attempt.

    Each ``acquire`` reserves the earliest conforming send time synchronously (no awaits between
    reading and writing the state), then sleeps until it: concurrent callers queue up in order,
    and the arithmetic is exact, so a test on a virtual clock sees exactly ``1/rate`` between
    sends. Time is the running loop's clock (``time.monotonic`` on real loops), so one instance
    can be shared by several clients, threads and successive event loops (a sensor running one
    ``asyncio.run`` per tick keeps spending the same budget). A cancelled waiter's slot is not
    given back: the bucket errs on the slow side.
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate!r} burst={burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._interval = 1.0 / self.rate
        self._tolerance = (self.burst - 1) * self._interval
        self._tat: float | None = None
        """Theoretical arrival time: when the bucket would next be empty (None: never used)."""
        self._lock = threading.Lock()

    def reserve(self, now: float) -> float:
        """Reserve the next send slot at or after ``now``; return how long to wait for it."""
        with self._lock:
            tat = now if self._tat is None else max(self._tat, now)
            start = max(now, tat - self._tolerance)
            self._tat = max(tat, start) + self._interval
        return start - now

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        delay = self.reserve(asyncio.get_running_loop().time())
        if delay > 0:
            await asyncio.sleep(delay)

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
