"""Rate budgets as GCRA parameters: a tier's configured rate, and Polymarket's published ceilings.

Polymarket counts requests per 10-second sliding window. A generic cell-rate bucket with rate
``r`` and burst ``b`` lets at most ``b + r * w`` requests through in any window ``w``, so a
published limit ``L`` per 10 s is kept by ``r = 0.9 * L / 10`` and ``b = 0.1 * L``: at most
``0.1 L + 0.9 L = L`` in any 10 s, with a burst of a tenth of the window.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Budget:
    """One bucket: ``name`` is shared by every process that spends from it."""

    name: str
    rate: float
    """Requests per second, sustained."""
    burst: int
    """Requests that may go at once after a quiet period."""

    def __post_init__(self) -> None:
        if not self.rate > 0 or self.burst < 1:
            raise ValueError(f"budget {self.name!r} needs rate > 0 and burst >= 1")

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        """How far ahead of now the bucket may be booked before callers must wait (GCRA's tau)."""
        return (self.burst - 1) * self.interval


def reserve(theoretical_arrival: float, now: float, budget: Budget) -> tuple[float, float]:
    """GCRA reservation: (the bucket's new theoretical arrival time, how long the caller waits).

    Every call books the next slot, so concurrent callers queue in order instead of retrying.
    """
    start = max(theoretical_arrival, now)
    return start + budget.interval, max(0.0, start - budget.tolerance - now)


SEND_JITTER_MARGIN = 0.97
"""A slot is booked (on the database clock, or the event loop's) but the request leaves after a
thread hop, a sleep and a connect: on a loaded host a late send lands next to the on-time ones
behind it, and the server counts them in one window. Booking at 97 % of the rate with one token
less of burst keeps every window under its limit anyway (measured: a 4-process run put 151
requests in a 10 s window of a 150 ceiling booked without the margin, and a 2,000-wallet SQLite
sweep sent 1,155 requests where its in-process bucket allowed 1,150)."""


@functools.cache
def with_send_margin(budget: Budget) -> Budget:
    """The bucket as booked: same name (shared by every process), a little under its limit."""
    return Budget(budget.name, budget.rate * SEND_JITTER_MARGIN, max(1, budget.burst - 1))


def published_ceiling(name: str, per_window: int) -> Budget:
    """A bucket that never exceeds ``per_window`` requests in any 10 s window."""
    return Budget(name, rate=0.9 * per_window / WINDOW_SECONDS, burst=max(1, int(0.1 * per_window)))


# Polymarket's published limits per 10 s (polymarket_api.md §4): the Data API overall, and the
# routes with their own row. v1 and v2 paths of a route share its limit.
DATA_GENERAL = published_ceiling("polymarket:data", 1000)
ROUTE_CEILINGS: dict[str, Budget] = {
    "trades": published_ceiling("polymarket:data:/trades", 200),
    "positions": published_ceiling("polymarket:data:/positions", 150),
    "closed-positions": published_ceiling("polymarket:data:/closed-positions", 150),
}
GAMMA_GENERAL = published_ceiling("polymarket:gamma", 4000)
GAMMA_MARKETS = published_ceiling("polymarket:gamma:/markets", 300)
CLOB_GENERAL = published_ceiling("polymarket:clob", 9000)


def ceilings_for(api: str, route: str | None) -> list[Budget]:
    """The published ceilings one request spends from: its API's, and its route's if it has one.

    ``api`` is ``data``, ``clob`` or ``gamma``; ``route`` like ``GET /v2/trades`` or ``/positions``.
    """
    if api == "clob":
        return [CLOB_GENERAL]
    path = (route or "").split(" ", 1)[-1].strip()
    if api == "gamma":
        return [GAMMA_GENERAL, *([GAMMA_MARKETS] if path.startswith("/markets") else [])]
    leaf = path.removeprefix("/v2").strip("/").split("/", 1)[0]
    route_budget = ROUTE_CEILINGS.get(leaf)
    return [DATA_GENERAL, *([route_budget] if route_budget else [])]


def busiest_window(times: Sequence[float], length: float) -> int:
    """The most of ``times`` (seconds, any order) inside any window ``[t, t + length)``.

    What a server's sliding-window limit counts; a bucket with ``rate`` and ``burst`` must keep
    it at or under ``rate * length + burst`` for every length.
    """
    ordered = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(ordered):
        while t - ordered[first] >= length:
            first += 1
        most = max(most, last - first + 1)
    return most


def window_allowance(rate: float, burst: int, length: float) -> int:
    """Requests a (rate, burst) bucket may send in any window of ``length`` seconds."""
    return int(rate * length + burst)
