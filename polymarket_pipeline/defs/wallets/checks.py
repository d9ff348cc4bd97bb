"""Asset checks on the wallet tables: fills stored once, positions consistent, polling fresh.

Each check is a plain function of the database (``sync.checks``), so the sensor can attach the
same evaluations to the runless materializations it records (scoped to the wallets it just
polled) and the UI never shows a check as "not evaluated" next to the latest materialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy.engine import Engine

from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.sync import checks as quality_checks
from polymarket_pipeline.sync.checks import CheckOutcome


def evaluation(outcome: CheckOutcome) -> dg.AssetCheckEvaluation:
    """A check's answer as a runless evaluation (what the sensor attaches to its events)."""
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(outcome.asset),
        check_name=outcome.name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.WARN if outcome.warn else dg.AssetCheckSeverity.ERROR,
        metadata={**outcome.figures, **{k: dg.MetadataValue.json(v) for k, v in outcome.samples.items()}},
    )


def near_duplicates(engine: Engine, now: datetime) -> dg.AssetCheckEvaluation:
    return evaluation(quality_checks.near_duplicates(engine, now))


def consistency(engine: Engine, scope: Sequence[str] | None = None) -> dg.AssetCheckEvaluation:
    return evaluation(quality_checks.consistency(engine, scope))


def hot_freshness(engine: Engine, now: datetime, verify_rate: float = 0.5) -> dg.AssetCheckEvaluation:
    return evaluation(quality_checks.hot_freshness(engine, now, verify_rate))


def cold_recency(engine: Engine, now: datetime) -> dg.AssetCheckEvaluation:
    return evaluation(quality_checks.cold_recency(engine, now))


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
