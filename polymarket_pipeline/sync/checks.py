"""The data-quality checks as plain functions of the database: fills stored once, positions
consistent, polling fresh.

Each returns a :class:`CheckOutcome` (passed or not, and the figures that show why), so the
Dagster checks and the sensor's runless evaluations are thin translations of the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from polymarket_pipeline.db import quality, runs, state, wallets
from polymarket_pipeline.db.engine import reading

HOT_FRESHNESS_FLOOR = timedelta(minutes=5)
"""The least a hot wallet may go without a per-wallet poll before the check warns."""
COLD_SWEEP_BOUND = timedelta(hours=2)
DUPLICATE_LOOKBACK = timedelta(days=3)
"""Near-duplicates are looked for among recent fills: the full table is too big to scan per sweep."""
SAMPLE = 10


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check's answer: ``warn`` checks report a problem without failing anything."""

    name: str
    asset: str
    passed: bool
    warn: bool = False
    figures: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    """Structured examples (shown as JSON)."""


def near_duplicates(engine: Engine, now: datetime) -> CheckOutcome:
    with reading(engine) as connection:
        found = quality.near_duplicate_fills(connection, now - DUPLICATE_LOOKBACK)
    return CheckOutcome(
        "no_duplicate_fills",
        "trades_public",
        passed=not found,
        figures={"near_duplicates": len(found)},
        samples={"sample": [list(f) for f in found]},
    )


def consistency(engine: Engine, scope: Sequence[str] | None = None) -> CheckOutcome:
    with reading(engine) as connection:
        bad = quality.inconsistent_positions(connection, scope)
    return CheckOutcome(
        "positions_consistent",
        "positions_current",
        passed=not bad,
        figures={
            "inconsistent": len(bad),
            "scope": "all wallets" if scope is None else f"{len(scope)} wallets polled in this tick",
        },
        samples={"sample": [list(map(str, b)) for b in bad]},
    )


def hot_freshness_bound(hot_wallets: int, verify_rate: float) -> timedelta:
    """Twice the time the trickle needs to go round every hot wallet once (at least 5 minutes)."""
    return max(HOT_FRESHNESS_FLOOR, timedelta(seconds=2 * hot_wallets / verify_rate))


def hot_freshness(engine: Engine, now: datetime, verify_rate: float = 0.5) -> CheckOutcome:
    """Every hot wallet was re-read per wallet within twice the trickle's round (its fills come
    from the feed in seconds; this checks the safety net behind the feed is keeping up)."""
    with reading(engine) as connection:
        hot = wallets.hot_wallets(connection)
        bound = hot_freshness_bound(len(hot), verify_rate)
        stale = state.polled_before(connection, hot, now - bound)
    return CheckOutcome(
        "hot_wallets_fresh",
        "trades_public",
        passed=not stale,
        warn=True,
        figures={
            "stale_hot_wallets": len(stale),
            "hot_wallets": len(hot),
            "bound_seconds": int(bound.total_seconds()),
        },
        samples={"sample": {w: str(t) for w, t in stale[:SAMPLE]}},
    )


def cold_recency(engine: Engine, now: datetime) -> CheckOutcome:
    """Only a sweep that polled its wallets within the failure budget counts."""
    with reading(engine) as connection:
        last = runs.last_finished(connection, "cold_sweep", status="succeeded")
    return CheckOutcome(
        "cold_sweep_recent",
        "positions_current",
        passed=last is not None and now - last <= COLD_SWEEP_BOUND,
        warn=True,
        figures={
            "last_successful_sweep": str(last) if last else "never",
            "age_minutes": round((now - last).total_seconds() / 60, 1) if last else -1,
            "bound_minutes": int(COLD_SWEEP_BOUND.total_seconds() // 60),
        },
    )
