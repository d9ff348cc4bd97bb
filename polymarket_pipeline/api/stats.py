"""Request counters, reported by the pipeline as Dagster metadata.

One ``ApiStats`` per client (or shared by several): it answers "how many calls did this run
make, how many were throttled or retried", which is how a too-aggressive rate limit shows up.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, replace

from polymarket_pipeline.domain.counts import merge_counts


@dataclass
class ApiStats:
    """Counters of attempts and outcomes; safe to share between threads."""

    requests: int = 0
    """Attempts sent (retries included)."""
    rate_limited: int = 0
    """429 responses."""
    retries: int = 0
    """Attempts that were followed by another attempt."""
    transport_errors: int = 0
    """Attempts that got no response (timeouts, resets)."""
    server_errors: int = 0
    """5xx responses."""
    payload_errors: int = 0
    """Bodies that were undecodable, too large, or structurally invalid."""
    rows_rejected: int = 0
    """Rows dropped one by one at the boundary (a bad field, another wallet's row)."""
    incomplete_walks: int = 0
    """Paged walks that stopped early (offset cap, repeated page or cursor, page limit)."""
    responses: Counter[int] = field(default_factory=Counter)
    """Responses by HTTP status."""
    routes: Counter[str] = field(default_factory=Counter)
    """Attempts by route (``GET /v2/trades``)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_request(self, route: str) -> None:
        with self._lock:
            self.requests += 1
            self.routes[route] += 1

    def record_response(self, status: int) -> None:
        with self._lock:
            self.responses[status] += 1
            if status == 429:
                self.rate_limited += 1
            elif status >= 500:
                self.server_errors += 1

    def record_transport_error(self) -> None:
        with self._lock:
            self.transport_errors += 1

    def record_payload_error(self) -> None:
        with self._lock:
            self.payload_errors += 1

    def record_rejected_row(self) -> None:
        with self._lock:
            self.rows_rejected += 1

    def record_incomplete_walk(self) -> None:
        with self._lock:
            self.incomplete_walks += 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def snapshot(self) -> dict[str, int]:
        """A flat copy: totals, ``responses_<status>`` and ``route <METHOD path>`` keys."""
        with self._lock:
            out = {
                "requests": self.requests,
                "rate_limited": self.rate_limited,
                "retries": self.retries,
                "transport_errors": self.transport_errors,
                "server_errors": self.server_errors,
                "payload_errors": self.payload_errors,
                "rows_rejected": self.rows_rejected,
                "incomplete_walks": self.incomplete_walks,
            }
            for status, n in sorted(self.responses.items()):
                out[f"responses_{status}"] = n
            for route, n in sorted(self.routes.items()):
                out[f"route {route}"] = n
            return out

    def merge(self, other: ApiStats) -> ApiStats:
        """Add ``other``'s counts into this one (e.g. hot and cold clients of one run); returns self.

        Field by field (``domain.counts``), so a counter added to the class needs no list to keep.
        """
        if other is self:
            raise ValueError("cannot merge ApiStats into itself")
        with other._lock:
            theirs = replace(other, responses=Counter(other.responses), routes=Counter(other.routes))
        with self._lock:
            merge_counts(self, theirs)
        return self
