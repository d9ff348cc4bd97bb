"""Asset checks on the wallet tables: fills unique, positions consistent, polling fresh."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import runs, state, wallets
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.schema import PositionCurrent, PositionEvent, TradePublic, table_of
from polymarket_pipeline.defs.resources import DatabaseResource

HOT_FRESHNESS_BOUND = timedelta(minutes=5)
"""Every hot wallet is re-verified every 2 minutes; 5 leaves room for a slow tick or two."""
COLD_SWEEP_BOUND = timedelta(hours=2)
COLD_SWEEP_KINDS = ("cold_trades", "cold_positions")
SAMPLE = 10


def duplicate_fills(engine: Engine) -> list[tuple[str, str, int]]:
    """Natural keys stored more than once (the same fill under two ``trade_id`` values)."""
    t = table_of(TradePublic)
    key = [t.c.wallet_address, t.c.transaction_hash, t.c.asset, t.c.side, t.c.size, t.c.price,
           t.c.traded_at, t.c.occurrence]  # fmt: skip
    stmt = (
        select(t.c.wallet_address, t.c.transaction_hash, func.count()).group_by(*key).having(func.count() > 1)
    )
    with reading(engine) as connection:
        return [tuple(row) for row in connection.execute(stmt.limit(SAMPLE))]


def inconsistent_positions(engine: Engine) -> list[tuple[str, str, float, float | None]]:
    """Open positions whose size is not positive or differs from their latest event's size."""
    p, e = table_of(PositionCurrent), table_of(PositionEvent)
    latest = (
        select(e.c.wallet_address, e.c.asset, func.max(e.c.id).label("id"))
        .group_by(e.c.wallet_address, e.c.asset)
        .subquery()
    )
    stmt = (
        select(p.c.wallet_address, p.c.asset, p.c.size, e.c.size_after)
        .select_from(
            p.outerjoin(
                latest, and_(latest.c.wallet_address == p.c.wallet_address, latest.c.asset == p.c.asset)
            ).outerjoin(e, e.c.id == latest.c.id)
        )
        .where((p.c.size <= 0) | (e.c.size_after.is_(None)) | (func.abs(e.c.size_after - p.c.size) > 1e-6))
        .limit(SAMPLE)
    )
    with reading(engine) as connection:
        return [tuple(row) for row in connection.execute(stmt)]


def stale_hot_wallets(engine: Engine, now: datetime) -> list[tuple[str, datetime | None]]:
    with reading(engine) as connection:
        return state.polled_before(connection, wallets.hot_wallets(connection), now - HOT_FRESHNESS_BOUND)


def _hot_freshness(engine: Engine, now: datetime) -> tuple[bool, dict[str, Any]]:
    stale = stale_hot_wallets(engine, now)
    return not stale, {
        "stale_hot_wallets": len(stale),
        "bound_seconds": int(HOT_FRESHNESS_BOUND.total_seconds()),
        "sample": dg.MetadataValue.json({w: str(t) for w, t in stale[:SAMPLE]}),
    }


def hot_freshness_evaluation(engine: Engine, now: datetime) -> dg.AssetCheckEvaluation:
    """The ``hot_wallets_fresh`` result as a runless event (the sensor emits it every minute)."""
    passed, metadata = _hot_freshness(engine, now)
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("trades_public"),
        check_name="hot_wallets_fresh",
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


@dg.asset_check(asset="trades_public", description="No fill is stored twice under different trade ids.")
def no_duplicate_fills(database: DatabaseResource) -> dg.AssetCheckResult:
    duplicates = duplicate_fills(database.engine())
    return dg.AssetCheckResult(
        passed=not duplicates,
        metadata={
            "duplicate_keys": len(duplicates),
            "sample": dg.MetadataValue.json([list(d) for d in duplicates]),
        },
    )


@dg.asset_check(
    asset="positions_current",
    description="Every open position has a positive size equal to the size its latest event recorded.",
)
def positions_consistent(database: DatabaseResource) -> dg.AssetCheckResult:
    bad = inconsistent_positions(database.engine())
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={
            "inconsistent": len(bad),
            "sample": dg.MetadataValue.json([list(map(str, b)) for b in bad]),
        },
    )


@dg.asset_check(
    asset="trades_public",
    name="hot_wallets_fresh",
    description="Every hot wallet was polled within its freshness bound (5 minutes).",
)
def hot_wallets_fresh(database: DatabaseResource) -> dg.AssetCheckResult:
    passed, metadata = _hot_freshness(database.engine(), datetime.now(UTC))
    return dg.AssetCheckResult(passed=passed, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


@dg.asset_check(
    asset="positions_current",
    description="A complete cold sweep (trades and positions) finished within the last 2 hours.",
)
def cold_sweep_recent(database: DatabaseResource) -> dg.AssetCheckResult:
    now = datetime.now(UTC)
    with reading(database.engine()) as connection:
        finished = {kind: runs.last_finished(connection, kind) for kind in COLD_SWEEP_KINDS}
    oldest = min((t for t in finished.values() if t is not None), default=None)
    passed = all(t is not None and now - t <= COLD_SWEEP_BOUND for t in finished.values())
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "last_complete_sweep": str(oldest) if oldest else "never",
            "age_minutes": round((now - oldest).total_seconds() / 60, 1) if oldest else -1,
        },
    )


WALLET_CHECKS = [no_duplicate_fills, positions_consistent, hot_wallets_fresh, cold_sweep_recent]
