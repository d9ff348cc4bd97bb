"""A bounded log of every API request, so tests can assert on what a client really sent."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(slots=True)
class RequestRecord:
    """One request: logged on arrival (``at``), completed with its final status and duration."""

    at: float
    api: str
    path: str
    route: str
    query: dict[str, str]
    wallet: str | None
    status: int = 0
    """0 while the request is still being answered (e.g. a hang fault)."""
    duration_ms: float = 0.0
    cache: str = ""
    """``HIT`` or ``MISS`` on edge-cached routes, else empty."""
    fault: str = ""
    """The fault kind applied to this request, if any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestRecord:
        return cls(
            at=float(data["at"]),
            api=str(data["api"]),
            path=str(data["path"]),
            route=str(data["route"]),
            query={str(k): str(v) for k, v in dict(data.get("query") or {}).items()},
            wallet=data.get("wallet"),
            status=int(data.get("status", 0)),
            duration_ms=float(data.get("duration_ms", 0.0)),
            cache=str(data.get("cache") or ""),
            fault=str(data.get("fault") or ""),
        )


class RequestLog:
    """Thread-safe ring buffer of :class:`RequestRecord` (the server appends, tests read)."""

    def __init__(self, maxlen: int = 100_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self, since: float | None = None) -> list[RequestRecord]:
        """Records that arrived at or after ``since`` (epoch seconds), oldest first."""
        with self._lock:
            items = list(self._records)
        if since is None:
            return items
        return [r for r in items if r.at >= since]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
