"""Cloudflare's edge cache in front of the Data API, as measured on the live ``/trades`` feeds.

An identical URL (path plus the exact query string, byte for byte) gets the body first served
for it until ``seconds`` have passed, with ``cache-control: public, max-age=N`` and
``cf-cache-status: HIT`` (``MISS`` when the origin answered). Any change to the query string,
such as a moving ``end`` bound, misses. Only successful (200) bodies are stored, and a HIT is
answered at the edge: origin faults do not apply to it (rate limits still do).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 256 * 1024 * 1024
"""Bound on the bodies kept; the oldest entries go first."""


@dataclass(frozen=True, slots=True)
class CachedBody:
    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...]
    stored_at: float


class EdgeCache:
    """Bodies by URL for a configurable set of Data API route templates."""

    def __init__(self, seconds: float, routes: Iterable[str], max_bytes: int = MAX_BYTES) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, CachedBody] = OrderedDict()
        self._bytes = 0
        self.max_bytes = max_bytes
        self.seconds = 0.0
        self.routes: frozenset[str] = frozenset()
        self.hits = 0
        self.misses = 0
        self.configure(seconds, routes)

    def configure(self, seconds: float | None = None, routes: Iterable[str] | None = None) -> None:
        """Change the lifetime and/or the routes (and forget what was stored)."""
        if seconds is not None:
            if seconds < 0:
                raise ValueError("edge cache seconds must be >= 0")
            self.seconds = float(seconds)
        if routes is not None:
            cleaned = frozenset(str(r) for r in routes)
            if any(not r.startswith("/") for r in cleaned):
                raise ValueError("edge cache routes are route templates such as /trades or /v2/trades")
            self.routes = cleaned
        self.purge()

    def applies(self, api: str, template: str) -> bool:
        return api == "data" and self.seconds > 0 and template in self.routes

    def cache_control(self) -> str:
        return f"public, max-age={int(self.seconds)}"

    def get(self, url: str) -> tuple[CachedBody, float] | None:
        """The stored body for ``url`` and its age, if still fresh."""
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(url)
            if entry is None or now - entry.stored_at >= self.seconds:
                self.misses += 1
                return None
            self.hits += 1
            return entry, now - entry.stored_at

    def put(self, url: str, body: bytes, media_type: str, headers: Iterable[tuple[str, str]] = ()) -> None:
        entry = CachedBody(body, media_type, tuple(headers), time.monotonic())
        with self._lock:
            old = self._entries.pop(url, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[url] = entry
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    def purge(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {
                "seconds": self.seconds,
                "routes": sorted(self.routes),
                "entries": len(self._entries),
                "bytes": self._bytes,
                "hits": self.hits,
                "misses": self.misses,
            }
