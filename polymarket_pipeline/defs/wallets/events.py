"""What a sweep or a hot tick shows in the UI: each asset's own figures, its checks, the failures.

Both the ``wallet_sweep`` assets and ``hot_wallets_sensor`` report through here, so a run and a
tick describe the same work the same way. Each asset carries the figures about its own table
(fills on ``trades_public``, activity on ``activity_public``, position changes on
``positions_current``, closes by reason on ``positions_closed``) plus a few about the run, and a
``legend`` entry says what every figure counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.defs.partitions import trade_days
from polymarket_pipeline.sync.hot import HotCycleStats
from polymarket_pipeline.sync.plans import SweepTier
from polymarket_pipeline.sync.sweep import SweepStats

SWEEP_ASSETS = ["trades_public", "activity_public", "positions_current", "positions_closed"]
FAILURE_CHECK = "sweep_failures_within_budget"
MAX_LISTED_DAYS = 2500
"""About seven years of days: a first poll of an old wallet marks each day it stored fills for."""
CLOSE_REASONS = ("redeemed", "merged", "converted", "market_closed", "manual_close")

RUN_FIGURES = {
    "tier": "which wallets: hot (followed or pinned), cold (every other active one) or all",
    "outcome": "succeeded; partial (failures past the budget, or stopped early); failed (none polled)",
    "wallets_polled": "wallets polled successfully (a hot report counts polls: one wallet may be polled "
    "by several ticks)",
    "duration_seconds": "time the sweep (or the reported ticks) took",
}
LEGENDS: dict[str, dict[str, str]] = {
    "trades_public": {
        "trades_inserted": "fills stored for the first time (from any source: per-wallet reads, the "
        "global feed, older history)",
        "fills_fetched": "fills read by per-wallet reads, including the overlap re-read of fills "
        "already stored (0 when only the feed brought new fills)",
        "feed_fills": "hot ticks: fills of registered wallets read from the global feed",
        "feed_trades_inserted": "hot ticks: of those, fills stored for the first time",
        "history_fills_inserted": "fills older than a wallet's frontier stored by the history phase",
        "wallets_history_incomplete": "wallets whose history is not yet read back to its first fill",
        "history_fills_to_read_estimate": "fills still older than those frontiers, estimated (-1: unknown)",
        "wallets_failed": "wallets whose poll failed (retried next cycle; see failed_wallets)",
        "failure_share": "wallets_failed / (wallets_polled + wallets_failed)",
        "api_requests": "Data, CLOB and Gamma requests sent (retries included)",
        "rows_total": "rows in trades_public now",
    },
    "activity_public": {
        "activity_inserted": "activity rows stored for the first time",
        "activity_fetched": "activity rows read, including the overlap re-read of stored rows",
        "history_activity_inserted": "rows older than a wallet's activity frontier, stored by the "
        "history phase",
        "rows_total": "rows in activity_public now",
    },
    "positions_current": {
        "positions_opened": "positions that appeared in a wallet's snapshot",
        "positions_increased": "positions whose size grew",
        "positions_decreased": "positions whose size shrank (still open)",
        "positions_closed": "positions gone from the snapshot (see positions_closed for why)",
        "wallets_verified": "wallets whose trades and activity were re-read (the others' snapshot "
        "was unchanged)",
        "incomplete_snapshots": "snapshots that could not be read whole: no close was derived",
        "rows_total": "open positions stored now",
    },
    "positions_closed": {
        **{f"closed_{r}": f"positions closed as {r}" for r in CLOSE_REASONS},
        "closes_total": "positions closed by this run or these ticks",
        "rows_total": "closes stored now",
    },
}
OWN_FIGURES: dict[str, tuple[str, ...]] = {
    "trades_public": (
        "wallets_total",
        "wallets_failed",
        "wallets_skipped",
        "failure_share",
        "trades_inserted",
        "fills_fetched",
        "feed_fills",
        "feed_wallets",
        "feed_trades_inserted",
        "feed_gaps",
        "incomplete_histories",
        "rows_rejected",
        "stopped_early",
        "api_requests",
        "api_rate_limited",
        "api_retries",
        "history_budget_pages",
        "history_pages",
        "history_fills_fetched",
        "history_fills_inserted",
        "history_wallets_completed",
        "history_steps_stalled",
        "history_steps_failed",
        "wallets_history_incomplete",
        "history_fills_to_read_estimate",
        "cycles",
        "shard",
    ),
    "activity_public": ("activity_inserted", "activity_fetched", "history_activity_inserted"),
    "positions_current": (
        "positions_opened",
        "positions_increased",
        "positions_decreased",
        "positions_closed",
        "wallets_verified",
        "incomplete_snapshots",
        "stale_snapshots",
        "triggered_wallets",
        "reverified_wallets",
    ),
    "positions_closed": tuple(f"closed_{r}" for r in CLOSE_REASONS),
}


def sweep_figures(stats: SweepStats, api_stats: ApiStats, **extra: Any) -> dict[str, Any]:
    """Every figure of a sweep, flat (what ``sync_runs`` keeps too), plus the API's counts."""
    return {
        **stats.as_metadata(),
        "api_requests": api_stats.requests,
        "api_rate_limited": api_stats.rate_limited,
        "api_retries": api_stats.retries,
        **extra,
    }


def asset_metadata(asset: str, figures: Mapping[str, Any], stats: SweepStats) -> dict[str, Any]:
    """One asset's materialization metadata: the run's few figures, its own, and the legend."""
    own = {k: figures[k] for k in OWN_FIGURES[asset] if k in figures}
    run = {k: figures[k] for k in RUN_FIGURES if k in figures}
    out: dict[str, Any] = {**run, **own}
    if asset == "trades_public":
        out["failed_wallets"] = dg.MetadataValue.json(stats.failures)
    if asset == "positions_closed":
        out["closes_total"] = sum(stats.closes.values())
    if "rows_total" in figures:
        out["rows_total"] = figures["rows_total"][asset]
    legend = {**RUN_FIGURES, **LEGENDS[asset]}
    out["legend"] = dg.MetadataValue.md(
        "\n".join(f"- **{name}**: {meaning}" for name, meaning in legend.items() if name in out)
    )
    return out


def sweep_results(
    stats: SweepStats, api_stats: ApiStats, totals: Mapping[str, int], **extra: Any
) -> list[dg.MaterializeResult]:
    """One ``MaterializeResult`` per sweep asset, each with its own figures."""
    figures = {**sweep_figures(stats, api_stats, **extra), "rows_total": totals}
    return [
        dg.MaterializeResult(asset_key=asset, metadata=asset_metadata(asset, figures, stats))
        for asset in SWEEP_ASSETS
    ]


def hot_materializations(
    stats: HotCycleStats, api_stats: ApiStats, totals: Mapping[str, int] | None = None
) -> dict[str, dg.AssetMaterialization]:
    """The sensor's runless materializations of what its ticks wrote, by asset (only those that
    changed: fills, activity, positions, closes)."""
    figures: dict[str, Any] = {**sweep_figures(stats.sweep, api_stats), **stats.as_metadata(), "tier": "hot"}
    figures.pop("wallets_total", None)  # polls planned over several ticks: not a count of wallets
    if totals is not None:
        figures["rows_total"] = totals
    changed = {
        "trades_public": stats.trades_inserted > 0 or stats.sweep.wallets_failed > 0,
        "activity_public": stats.sweep.activity_inserted > 0,
        "positions_current": any(stats.sweep.events.values()),
        "positions_closed": bool(stats.sweep.closes),
    }
    return {
        asset: dg.AssetMaterialization(asset, metadata=asset_metadata(asset, figures, stats.sweep))
        for asset, did in changed.items()
        if did
    }


def failure_check(stats: SweepStats, max_failure_share: float) -> dg.AssetCheckResult:
    """WARN when more than the budgeted share of the sweep's wallets failed."""
    return dg.AssetCheckResult(
        asset_key="trades_public",
        check_name=FAILURE_CHECK,
        passed=stats.failure_share <= max_failure_share,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "wallets_failed": stats.wallets_failed,
            "wallets_polled": stats.wallets_polled,
            "failure_share": round(stats.failure_share, 4),
            "max_failure_share": max_failure_share,
            "failed_wallets": dg.MetadataValue.json(stats.failures),
        },
    )


def failure_evaluation(stats: SweepStats, max_failure_share: float) -> dg.AssetCheckEvaluation:
    """The same check as a runless evaluation (attached to the sensor's materialization)."""
    result = failure_check(stats, max_failure_share)
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("trades_public"),
        check_name=FAILURE_CHECK,
        passed=result.passed,
        severity=result.severity,
        metadata=result.metadata,
    )


def day_events(days: Mapping[str, int], metadata: Mapping[str, Any]) -> list[dg.AssetMaterialization]:
    """``trades_history`` partitions that live polling stored new fills in, with that day's count."""
    valid = set(trade_days.get_partition_keys(datetime.now(UTC)))
    return [
        dg.AssetMaterialization("trades_history", partition=day, metadata={**metadata, "fills": n})
        for day, n in sorted(days.items())[-MAX_LISTED_DAYS:]
        if n and day in valid
    ]


def sweep_failed(stats: SweepStats, tier: SweepTier) -> dg.Failure:
    return dg.Failure(
        description=(
            f"{tier} sweep polled none of its {stats.wallets_total} wallets: "
            f"{stats.wallets_failed} failed (first: {next(iter(stats.failures.values()), '?')})"
        ),
        metadata={
            "wallets_failed": stats.wallets_failed,
            "failed_wallets": dg.MetadataValue.json(stats.failures),
        },
    )


def database_down(stats: SweepStats) -> dg.Failure:
    return dg.Failure(
        description=f"the application database is unreachable; the sweep stopped after "
        f"{stats.wallets_polled} wallets: {stats.database_error}",
        metadata={"wallets_polled": stats.wallets_polled, "wallets_failed": stats.wallets_failed},
    )


def tick_summary(stats: HotCycleStats, api_stats: ApiStats, *, reported: bool) -> str:
    """One line for a sensor tick: what it stored, what it cost, whether it reported to the assets."""
    sweep = stats.sweep
    parts = [f"stored {stats.trades_inserted} new fills ({stats.feed_trades_inserted} from the feed)"]
    if sweep.activity_inserted:
        parts.append(f"{sweep.activity_inserted} activity rows")
    changes = {k: v for k, v in sweep.events.items() if v}
    if changes:
        parts.append("positions " + ", ".join(f"{v} {k}" for k, v in sorted(changes.items())))
    if sweep.wallets_failed:
        parts.append(f"{sweep.wallets_failed} wallet polls failed")
    cost = f"{stats.cycles} cycles, {api_stats.requests} API requests"
    where = "reported to the assets now" if reported else "reported to the assets with the next report"
    return f"{cost}: {'; '.join(parts)}; {where}"
