"""Client-side throttling: a shared token bucket and a per-(wallet, route) cooldown.

Polymarket enforces its limits per 10 s sliding window and answers excess with 429s (or silent
queueing); staying under a configured rate keeps sweeps of many wallets free of both.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Callable

from aiolimiter import AsyncLimiter


class RateLimiter:
    """Token bucket: ``burst`` tokens, refilled at ``rate`` per second; one token per attempt.

    Pass one instance to several clients to make them share one budget. aiolimiter buckets are
    bound to an event loop, so each running loop gets its own bucket (a sensor that runs one
    ``asyncio.run`` per tick gets a fresh, full bucket each tick, which its spacing allows).
    """

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate!r} burst={burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncLimiter] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def _limiter(self) -> AsyncLimiter:
        loop = asyncio.get_running_loop()
        with self._lock:
            limiter = self._limiters.get(loop)
            if limiter is None:
                limiter = AsyncLimiter(max_rate=self.burst, time_period=self.burst / self.rate)
                self._limiters[loop] = limiter
            return limiter

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        await self._limiter().acquire()

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
