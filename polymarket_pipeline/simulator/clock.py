"""The live clock: what "now" is for the model, and the loop that keeps the tape moving.

The live tape is settlements at a rate that can change while running (``set_live_rate``); each
settlement is ~3 rows, so 35 settlements/s gives the ~100 rows/s measured on the live feed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

logger = logging.getLogger(__name__)

LIVE_TICK_SECONDS = 0.05
MAX_LIVE_PER_TICK = 500


class Clock:
    """Wall-clock seconds; one place to read time, so live rows and windows agree."""

    def now(self) -> int:
        return int(time.time())

    def resolve(self, at: int | float | None) -> int:
        """An explicit timestamp, or now."""
        return self.now() if at is None else int(at)


class LiveSource(Protocol):
    @property
    def live_trades_per_second(self) -> float: ...

    def generate_trades(self, n: int, timestamp: int | None = None) -> object: ...


async def run_live_tape(model: LiveSource) -> None:
    """Generate settlements at the model's current live rate until cancelled."""
    carry = 0.0
    last = time.monotonic()
    while True:
        await asyncio.sleep(LIVE_TICK_SECONDS)
        now = time.monotonic()
        rate = model.live_trades_per_second
        carry = carry + rate * (now - last) if rate > 0 else 0.0
        last = now
        n = min(int(carry), MAX_LIVE_PER_TICK)
        if n:
            carry -= n
            try:
                model.generate_trades(n)
            except Exception:  # keep the feed alive; a bad tick is not worth killing the server
                logger.exception("live trade generation failed")
