"""Position reconciliation: diff two snapshots of a wallet and classify why positions closed.

Pure functions: the caller fetches the snapshot, and only when something disappeared, the
REDEEM activity and market resolutions needed to classify it.
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
    MARKET_CLOSED = "market_closed"
    MANUAL_CLOSE = "manual_close"


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


def diff_snapshot(previous: Mapping[str, StoredPosition], snapshot: Iterable[Position]) -> SnapshotDiff:
    """Compare the stored positions (by asset) with a freshly fetched snapshot."""
    current = {p.asset: p for p in snapshot if p.size > 0}
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


def redeemed_condition_ids(activity: Iterable[Activity]) -> set[str]:
    """Markets the wallet redeemed in, from its REDEEM activity rows."""
    return {a.condition_id for a in activity if a.type == "REDEEM" and a.condition_id}


def classify_close(
    position: StoredPosition, *, redeemed: Collection[str], resolved: Collection[str]
) -> CloseReason:
    """Why a position disappeared: redeemed, else its market resolved, else the wallet sold out."""
    if position.condition_id in redeemed:
        return CloseReason.REDEEMED
    if position.condition_id in resolved:
        return CloseReason.MARKET_CLOSED
    return CloseReason.MANUAL_CLOSE


def close_changes(
    disappeared: Iterable[StoredPosition], *, redeemed: Collection[str], resolved: Collection[str]
) -> list[tuple[StoredPosition, PositionChange]]:
    """One ``closed`` event (with its reason) for every position that disappeared."""
    result = []
    for position in disappeared:
        reason = classify_close(position, redeemed=redeemed, resolved=resolved)
        change = PositionChange(
            position.asset, position.condition_id, EventType.CLOSED, position.size, 0.0, reason
        )
        result.append((position, change))
    return result
