"""Polymarket's published per-10-second limits, as sliding windows answered by 429 + Retry-After.

The v1 and v2 routes of the same family share a window (the real gateway does not list v2
separately, so a client migrating between them must not get a fresh allowance). ``/v2/user-pnl``
has its own ceiling, the table's "User PNL API" row (200), inside the Data API's general one.
"""

from __future__ import annotations

import threading
import time
from collections import deque

DEFAULT_LIMITS: dict[str, int] = {
    "all": 15_000,
    "data": 1_000,
    "data:/trades": 200,
    "data:/positions": 150,
    "data:/closed-positions": 150,
    "data:/v2/user-pnl": 200,
    "gamma": 4_000,
    "gamma:/markets": 300,
    "gamma:/events": 500,
    "clob": 9_000,
}
"""Keys: ``all``, an api (``data``/``gamma``/``clob``), or ``api:/route`` (v1 form)."""

_SHARED_WINDOW = {"/v2/trades": "/trades", "/v2/positions": "/positions"}


class RateLimiter:
    """Sliding-window counters per limit key; rejected requests do not use up the allowance."""

    def __init__(
        self, limits: dict[str, int] | None = None, window_seconds: float = 10.0, enabled: bool = False
    ) -> None:
        self.enabled = enabled
        self.window = window_seconds
        self.limits = dict(DEFAULT_LIMITS)
        if limits:
            self.limits.update(limits)
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def keys_for(self, api: str, route: str) -> list[str]:
        route = _SHARED_WINDOW.get(route, route)
        keys = ["all", api]
        specific = f"{api}:{route}"
        if specific in self.limits:
            keys.append(specific)
        return [k for k in keys if k in self.limits]

    def hit(self, api: str, route: str) -> float | None:
        """Count a request, or return the seconds to wait when a window is full."""
        if not self.enabled:
            return None
        now = time.monotonic()
        keys = self.keys_for(api, route)
        with self._lock:
            wait = 0.0
            for key in keys:
                hits = self._hits.setdefault(key, deque())
                horizon = now - self.window
                while hits and hits[0] <= horizon:
                    hits.popleft()
                if len(hits) >= self.limits[key]:
                    wait = max(wait, (hits[0] + self.window - now) if hits else self.window)
            if wait > 0:
                return wait
            for key in keys:
                self._hits[key].append(now)
        return None

    def configure(self, enabled: bool | None = None, limits: dict[str, int] | None = None) -> None:
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            if limits:
                self.limits.update(limits)
            self._hits.clear()
