"""Asset checks on the wallet tables: fills stored once, positions consistent, polling fresh.

Each check is a plain function of the database, so the sensor can attach the same evaluations
to the runless materializations it records (scoped to the wallets it just polled) and the UI
never shows a check as "not evaluated" next to the latest materialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import quality, runs, state, wallets
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource

HOT_FRESHNESS_FLOOR = timedelta(minutes=5)
"""The least a hot wallet may go without a per-wallet poll before the check warns."""
COLD_SWEEP_BOUND = timedelta(hours=2)
DUPLICATE_LOOKBACK = timedelta(days=3)
"""Near-duplicates are looked for among recent fills: the full table is too big to scan per sweep."""
SAMPLE = 10


def _json(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(value)


def near_duplicates(engine: Engine, now: datetime) -> dg.AssetCheckEvaluation:
    with reading(engine) as connection:
        found = quality.near_duplicate_fills(connection, now - DUPLICATE_LOOKBACK)
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("trades_public"),
        check_name="no_duplicate_fills",
        passed=not found,
        metadata={"near_duplicates": len(found), "sample": _json([list(f) for f in found])},
    )


def consistency(engine: Engine, scope: Sequence[str] | None = None) -> dg.AssetCheckEvaluation:
    with reading(engine) as connection:
        bad = quality.inconsistent_positions(connection, scope)
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("positions_current"),
        check_name="positions_consistent",
        passed=not bad,
        metadata={
            "inconsistent": len(bad),
            "scope": "all wallets" if scope is None else f"{len(scope)} wallets polled in this tick",
            "sample": _json([list(map(str, b)) for b in bad]),
        },
    )


def hot_freshness_bound(hot_wallets: int, verify_rate: float) -> timedelta:
    """Twice the time the trickle needs to go round every hot wallet once (at least 5 minutes)."""
    return max(HOT_FRESHNESS_FLOOR, timedelta(seconds=2 * hot_wallets / verify_rate))


def hot_freshness(engine: Engine, now: datetime, verify_rate: float = 0.5) -> dg.AssetCheckEvaluation:
    """Every hot wallet was re-read per wallet within twice the trickle's round (its fills come
    from the feed in seconds; this checks the safety net behind the feed is keeping up)."""
    with reading(engine) as connection:
        hot = wallets.hot_wallets(connection)
        bound = hot_freshness_bound(len(hot), verify_rate)
        stale = state.polled_before(connection, hot, now - bound)
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("trades_public"),
        check_name="hot_wallets_fresh",
        passed=not stale,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "stale_hot_wallets": len(stale),
            "hot_wallets": len(hot),
            "bound_seconds": int(bound.total_seconds()),
            "sample": _json({w: str(t) for w, t in stale[:SAMPLE]}),
        },
    )


def cold_recency(engine: Engine, now: datetime) -> dg.AssetCheckEvaluation:
    """Only a sweep that polled its wallets within the failure budget counts."""
    with reading(engine) as connection:
        last = runs.last_finished(connection, "cold_sweep", status="succeeded")
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("positions_current"),
        check_name="cold_sweep_recent",
        passed=last is not None and now - last <= COLD_SWEEP_BOUND,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "last_successful_sweep": str(last) if last else "never",
            "age_minutes": round((now - last).total_seconds() / 60, 1) if last else -1,
            "bound_minutes": int(COLD_SWEEP_BOUND.total_seconds() // 60),
        },
    )


def as_result(evaluation: dg.AssetCheckEvaluation) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=evaluation.passed,
        severity=evaluation.severity,
        metadata=evaluation.metadata,
    )


@dg.asset_check(
    asset="trades_public",
    description="No fill is stored twice because two sources wrote its size or price differently.",
)
def no_duplicate_fills(database: DatabaseResource) -> dg.AssetCheckResult:
    return as_result(near_duplicates(database.engine(), datetime.now(UTC)))


@dg.asset_check(
    asset="positions_current",
    description="Every open position has a positive size equal to the size its latest event recorded.",
)
def positions_consistent(database: DatabaseResource) -> dg.AssetCheckResult:
    return as_result(consistency(database.engine()))


@dg.asset_check(
    asset="trades_public",
    description="Every hot wallet was re-read per wallet within twice the trickle's round "
    "(hot wallets / hot_verify_rate, at least 5 minutes).",
)
def hot_wallets_fresh(database: DatabaseResource, polymarket: PolymarketApiResource) -> dg.AssetCheckResult:
    return as_result(hot_freshness(database.engine(), datetime.now(UTC), polymarket.hot_verify_rate))


@dg.asset_check(
    asset="positions_current",
    description="A cold sweep that polled its wallets within the failure budget finished in the "
    "last 2 hours.",
)
def cold_sweep_recent(database: DatabaseResource) -> dg.AssetCheckResult:
    return as_result(cold_recency(database.engine(), datetime.now(UTC)))


WALLET_CHECKS = [no_duplicate_fills, positions_consistent, hot_wallets_fresh, cold_sweep_recent]
