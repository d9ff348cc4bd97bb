"""Position reconciliation: diff two snapshots of a wallet and classify why positions closed.

Pure functions: the caller fetches the snapshot and, when something disappeared, the wallet's
activity since the previous snapshot and the markets' resolution, checked at that moment.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from polymarket_pipeline.domain.records import Activity, Position


class EventType(StrEnum):
    OPENED = "opened"
    INCREASED = "increased"
    DECREASED = "decreased"
    CLOSED = "closed"


class CloseReason(StrEnum):
    REDEEMED = "redeemed"
    """The wallet redeemed the market's tokens (REDEEM activity)."""
    MERGED = "merged"
    """The wallet merged complete sets back into collateral (MERGE activity)."""
    CONVERTED = "converted"
    """A neg-risk conversion turned the tokens into other markets' tokens (CONVERSION activity)."""
    MARKET_CLOSED = "market_closed"
    """No activity explains it, but the market resolved."""
    MANUAL_CLOSE = "manual_close"
    """Nothing else explains it: the wallet sold out (or transferred the tokens)."""


ACTIVITY_REASONS: dict[str, CloseReason] = {
    "REDEEM": CloseReason.REDEEMED,
    "MERGE": CloseReason.MERGED,
    "CONVERSION": CloseReason.CONVERTED,
}
"""Activity types that explain a position disappearing, in order of precedence."""


@dataclass(frozen=True, slots=True)
class StoredPosition:
    """What ``positions_current`` holds for one (wallet, asset)."""

    asset: str
    condition_id: str
    size: float
    avg_price: float | None = None
    cur_price: float | None = None
    realized_pnl: float | None = None
    title: str | None = None
    outcome: str | None = None
    first_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PositionChange:
    asset: str
    condition_id: str
    event_type: EventType
    size_before: float
    size_after: float
    reason: CloseReason | None = None


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """Changes between the stored snapshot and a new one, before closes are classified."""

    changes: list[PositionChange]
    """opened / increased / decreased events."""
    disappeared: list[StoredPosition]
    """Positions held before and absent now: each becomes exactly one close."""
    current: dict[str, Position]
    """The new snapshot by asset (positions with a positive size only)."""

    @property
    def disappeared_condition_ids(self) -> set[str]:
        return {p.condition_id for p in self.disappeared}


def same_size(a: float, b: float) -> bool:
    """Sizes equal up to float noise (the API sends long float tails)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def diff_snapshot(
    previous: Mapping[str, StoredPosition], snapshot: Iterable[Position], *, complete: bool = True
) -> SnapshotDiff:
    """Compare the stored positions (by asset) with a freshly fetched snapshot.

    An incomplete snapshot (a capped or partly rejected walk) proves nothing about what is
    missing from it, and its sizes may come from a mixture of pages: it yields no changes and no
    closes, so nothing is written from it but the wallet's flag.
    """
    current = {p.asset: p for p in snapshot if p.size > 0}
    if not complete:
        return SnapshotDiff(changes=[], disappeared=[], current=current)
    changes: list[PositionChange] = []
    for asset, position in current.items():
        before = previous.get(asset)
        if before is None:
            changes.append(PositionChange(asset, position.condition_id, EventType.OPENED, 0.0, position.size))
        elif same_size(before.size, position.size):
            continue
        elif position.size > before.size:
            changes.append(
                PositionChange(asset, position.condition_id, EventType.INCREASED, before.size, position.size)
            )
        else:
            changes.append(
                PositionChange(asset, position.condition_id, EventType.DECREASED, before.size, position.size)
            )
    disappeared = [p for asset, p in previous.items() if asset not in current]
    return SnapshotDiff(changes=changes, disappeared=disappeared, current=current)


def explaining_activity(activity: Iterable[Activity]) -> dict[str, set[str]]:
    """Activity types that can explain a close, by the market (and token) they touched.

    Keys are condition ids and assets (neg-risk REDEEMs carry no asset, rewards carry neither),
    so a close is matched by its market or its token, whichever the row names.
    """
    found: dict[str, set[str]] = {}
    for row in activity:
        if row.type not in ACTIVITY_REASONS:
            continue
        for key in (row.condition_id, row.asset):
            if key:
                found.setdefault(key, set()).add(row.type)
    return found


def classify_close(
    position: StoredPosition, *, activity: Mapping[str, Collection[str]], resolved: Collection[str]
) -> CloseReason:
    """Why a position disappeared: the activity that explains it, else resolution, else a sale."""
    types = set(activity.get(position.condition_id, ())) | set(activity.get(position.asset, ()))
    for activity_type, reason in ACTIVITY_REASONS.items():
        if activity_type in types:
            return reason
    if position.condition_id in resolved:
        return CloseReason.MARKET_CLOSED
    return CloseReason.MANUAL_CLOSE


def close_changes(
    disappeared: Iterable[StoredPosition],
    *,
    activity: Mapping[str, Collection[str]],
    resolved: Collection[str],
) -> list[tuple[StoredPosition, PositionChange]]:
    """One ``closed`` event (with its reason) for every position that disappeared."""
    result = []
    for position in disappeared:
        reason = classify_close(position, activity=activity, resolved=resolved)
        change = PositionChange(
            position.asset, position.condition_id, EventType.CLOSED, position.size, 0.0, reason
        )
        result.append((position, change))
    return result


def unexplained(disappeared: Iterable[StoredPosition], activity: Mapping[str, Collection[str]]) -> set[str]:
    """Markets of disappeared positions that no activity explains: their resolution is needed."""
    return {
        p.condition_id
        for p in disappeared
        if not (set(activity.get(p.condition_id, ())) | set(activity.get(p.asset, ())))
    }
