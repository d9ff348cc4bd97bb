"""What a call returns: the rows (each once) plus what the caller must know to trust them.

``complete`` is False whenever the walk stopped early (an offset cap, a page or cursor served
twice, the page limit) or, for a positions snapshot, a row was rejected: an incomplete snapshot
must never be diffed as if it were whole, or every missing position becomes a false close.
``incomplete_reason`` says why, for logs and metadata. ``rejected`` counts rows dropped at the
boundary (a bad field, another wallet's row).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from polymarket_pipeline.domain.records import Activity, Fill, Position


@dataclass(frozen=True, kw_only=True)
class WalkResult:
    """What every paged read reports beside its rows: whether it read to the end, and its cost."""

    complete: bool = True
    rejected: int = 0
    incomplete_reason: str | None = None
    pages: int = 0
    """Requests the walk made (its share of a sweep's budget)."""

    def walk_fields(self) -> dict[str, Any]:
        """These fields alone, to carry them over into another result of the same walk."""
        return {f.name: getattr(self, f.name) for f in fields(WalkResult)}


@dataclass(frozen=True, kw_only=True)
class TradeHistory(WalkResult):
    """A wallet's fills in a time window, each fill once whatever the paging repeated."""

    fills: list[Fill] = field(default_factory=list)

    @property
    def oldest_timestamp(self) -> int | None:
        """The oldest second read: where a walk that stopped early leaves the history's frontier."""
        return min((f.timestamp for f in self.fills), default=None)


@dataclass(frozen=True)
class FeedPage:
    """Fills of the global trade feed since a timestamp, newest first.

    ``reached_since`` is False when the page limit ran out before a fill older than ``since`` was
    seen (or the walk stopped early), so there may be a gap between ``since`` and the oldest fill.
    """

    fills: list[Fill] = field(default_factory=list)
    reached_since: bool = True
    rejected: int = 0


@dataclass(frozen=True, kw_only=True)
class PositionSnapshot(WalkResult):
    """A wallet's open positions, with each page's decoded body as received (for audit)."""

    positions: list[Position] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ActivityHistory(WalkResult):
    """A wallet's activity rows (every type when none were asked for), newest first, each once."""

    items: list[Activity] = field(default_factory=list)

    @property
    def oldest_timestamp(self) -> int | None:
        return min((a.timestamp for a in self.items), default=None)

    @property
    def newest_timestamp(self) -> int | None:
        return max((a.timestamp for a in self.items), default=None)
