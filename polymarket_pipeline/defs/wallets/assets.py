"""Assets fed by polling traders' wallets.

``wallet_sweep`` is one pass over a tier's wallets that refreshes ``trades_public``,
``activity_public``, ``positions_current`` and ``positions_closed`` together (one poll per wallet,
so a wallet's activity explains its closes). It is unpartitioned: a live sweep is "now", not a day.
``trades_history`` is the day-partitioned view of the same table: materializing a day range
backfills it from the API, and live polling marks the days it stored fills for, so partition
status tells which days hold fills. Thin Dagster wrappers: the work is ``sync.sweep``.
"""

import asyncio
import random
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.db import quality, runs, state, wallets
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.defs.partitions import trade_days
from polymarket_pipeline.defs.resources import BudgetTier, DatabaseResource, PolymarketApiResource
from polymarket_pipeline.defs.runtime import run_stoppable
from polymarket_pipeline.defs.wallets.config import (
    GROUP,
    SHARD_TAG,
    SweepTier,
    WalletSweepConfig,
    resolve_tier,
)
from polymarket_pipeline.domain.addresses import parse_shard, shard_of
from polymarket_pipeline.sync.history import HistoryOptions
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan

KINDS = {"polymarket", "sql"}
SWEEP_ASSETS = ["trades_public", "activity_public", "positions_current", "positions_closed"]
FAILURE_CHECK = "sweep_failures_within_budget"
MAX_LISTED_DAYS = 2500
"""About seven years of days: a first poll of an old wallet marks each day it stored fills for."""


def select_wallets(
    engine: Engine, tier: SweepTier, now: datetime | None = None, shard: tuple[int, int] | None = None
) -> list[str]:
    """Active wallets of a tier (and shard), stalest first, leaving out wallets backing off."""
    now = now or datetime.now(UTC)
    with reading(engine) as connection:
        chosen = {
            "hot": wallets.hot_wallets,
            "cold": wallets.cold_wallets,
            "all": wallets.active_wallets,
        }[tier](connection)
        if shard is not None:
            chosen = [w for w in chosen if shard_of(w, shard[1]) == shard[0]]
        resting = state.resting(connection, chosen, now)
        return [w for w in state.stalest_first(connection, chosen) if w not in resting]


def run_shard(tags: Mapping[str, str]) -> tuple[int, int] | None:
    """The run's shard from its tag; None for the whole tier (no tag, or the job's default 0/1)."""
    raw = tags.get(SHARD_TAG)
    if not raw:
        return None
    try:
        shard = parse_shard(raw)
    except ValueError as exc:
        raise dg.Failure(description=f"run tag {SHARD_TAG}: {exc}") from None
    return None if shard[1] == 1 else shard


def sweep_plan(tier: SweepTier, polymarket: PolymarketApiResource) -> PollPlan:
    """Cold sweeps are adaptive (fills arrive through the feed; a changed snapshot or a due
    verification re-reads history); a hot or full sweep re-reads every wallet's history."""
    if tier == "cold":
        return PollPlan(verify_every=polymarket.verify_every)
    return PollPlan()


def run_sweep(
    context: dg.OpExecutionContext,
    config: WalletSweepConfig,
    polymarket: PolymarketApiResource,
    engine: Engine,
    wallet_list: list[str],
    options: SweepOptions,
    tier: SweepTier,
) -> tuple[SweepStats, ApiStats]:
    """Sweep ``wallet_list`` at the tier's rate limit; SIGTERM stops it gracefully."""
    if config.start_jitter_seconds:
        time.sleep(random.uniform(0, config.start_jitter_seconds))
    api_stats = ApiStats()

    budget: BudgetTier = "hot" if tier == "hot" else "cold"

    async def main(stop: asyncio.Event) -> SweepStats:
        async with polymarket.client(budget, engine, stats=api_stats) as client:
            return await sweep(client, engine, wallet_list, options=options, stop=stop)

    def canceling() -> bool:
        run = context.instance.get_run_by_id(context.run_id)
        stopping = (dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED)
        return run is not None and run.status in stopping

    stats = run_stoppable(
        main,
        grace_seconds=config.grace_seconds,
        on_signal=lambda name: context.log.warning(f"{name}: finishing the wallets in hand, then stopping"),
        cancel_requested=canceling,
    )
    for wallet, error in stats.failures.items():
        context.log.warning(f"wallet {wallet} failed (retried next cycle): {error}")
    context.log.info(
        f"{tier} sweep: {stats.wallets_polled}/{stats.wallets_total} wallets polled, "
        f"{stats.wallets_failed} failed, {stats.trades_inserted} new trades, "
        f"{stats.activity_inserted} new activity rows, {api_stats.requests} API requests "
        f"({api_stats.rate_limited} rate-limited, {api_stats.retries} retries) "
        f"in {stats.duration_seconds:.1f}s"
    )
    return stats, api_stats


def record_sweep(
    engine: Engine,
    kind: str,
    stats: SweepStats,
    api_stats: ApiStats,
    *,
    run_id: str | None,
    max_failure_share: float,
) -> str:
    """One ``sync_runs`` row per sweep: succeeded, partial or failed (what ``cold_sweep_recent`` reads)."""
    outcome = stats.outcome(max_failure_share)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        row = runs.start_run(connection, kind, now - timedelta(seconds=stats.duration_seconds), run_id)
        runs.finish_run(connection, row, now, outcome, {**stats.as_metadata(), **api_stats.snapshot()})
    return outcome


def sweep_metadata(stats: SweepStats, api_stats: ApiStats, **extra: Any) -> dict[str, Any]:
    return {
        **stats.as_metadata(),
        "api_requests": api_stats.requests,
        "api_rate_limited": api_stats.rate_limited,
        "api_retries": api_stats.retries,
        "failed_wallets": dg.MetadataValue.json(stats.failures),
        **extra,
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


def day_events(days: Mapping[str, int], metadata: Mapping[str, Any]) -> list[dg.AssetMaterialization]:
    """``trades_history`` partitions that live polling stored new fills in, with that day's count."""
    valid = set(trade_days.get_partition_keys(datetime.now(UTC)))
    return [
        dg.AssetMaterialization("trades_history", partition=day, metadata={**metadata, "fills": n})
        for day, n in sorted(days.items())[-MAX_LISTED_DAYS:]
        if n and day in valid
    ]


def totals(engine: Engine) -> dict[str, int]:
    with reading(engine) as connection:
        return {name: quality.row_count(connection, name) for name in quality.TABLES}


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


@dg.multi_asset(
    name="wallet_sweep",
    group_name=GROUP,
    specs=[
        dg.AssetSpec(
            "trades_public",
            kinds=KINDS,
            description="Every fill (taker and maker legs) of every registered wallet, one row per fill "
            "keyed by `trade_id`. A live sweep polls each wallet since its watermark (a new wallet's "
            "first poll captures its whole history); `trades_history` shows it day by day.",
        ),
        dg.AssetSpec(
            "activity_public",
            kinds=KINDS,
            description="Every on-chain activity row of every registered wallet (TRADE, REDEEM, SPLIT, "
            "MERGE, CONVERSION, REWARD, rebates), one row per activity, since its activity watermark.",
        ),
        dg.AssetSpec(
            "positions_current",
            kinds=KINDS,
            description="The latest complete snapshot of every open position of every registered wallet. "
            "A resolved but unredeemed position stays here with `redeemable` true.",
        ),
        dg.AssetSpec(
            "positions_closed",
            kinds=KINDS,
            description="One row per closing of a position: `redeemed`, `merged` or `converted` (the "
            "activity that explains it), else `market_closed` (the market resolved), else "
            "`manual_close`. Every change is also written to `position_events`.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            FAILURE_CHECK,
            asset="trades_public",
            description="No more than the configured share of the sweep's wallets failed (default 5 %).",
        )
    ],
)
def wallet_sweep(
    context: dg.AssetExecutionContext,
    config: WalletSweepConfig,
    polymarket: PolymarketApiResource,
    database: DatabaseResource,
) -> Iterator[Any]:
    engine = database.engine()
    tags = dict(context.run.tags)
    tier = resolve_tier(config.tier, tags)
    shard = run_shard(tags)
    wallet_list = select_wallets(engine, tier, shard=shard)
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    context.log.info(f"sweeping {len(wallet_list)} {tier} wallets{where}")
    history = (
        HistoryOptions(share=config.history_share, min_pages=config.history_min_pages, shard=shard)
        if tier != "hot"
        else None
    )
    options = SweepOptions(plan=sweep_plan(tier, polymarket), history=history)
    stats, api_stats = run_sweep(
        context.op_execution_context, config, polymarket, engine, wallet_list, options, tier
    )
    if stats.database_error is not None:
        raise database_down(stats)
    outcome = record_sweep(
        engine,
        f"{tier}_sweep",
        stats,
        api_stats,
        run_id=context.run_id,
        max_failure_share=config.max_failure_share,
    )
    common = sweep_metadata(
        stats, api_stats, tier=tier, outcome=outcome, shard=f"{shard[0]}/{shard[1]}" if shard else "all"
    )
    for event in day_events(stats.days, {"source": f"{tier} sweep", "run_id": context.run_id}):
        context.log_event(event)
    if outcome == "failed":
        raise sweep_failed(stats, tier)
    counts = totals(engine)
    for key in SWEEP_ASSETS:
        yield dg.MaterializeResult(asset_key=key, metadata={**common, "rows_total": counts[key]})
    yield failure_check(stats, config.max_failure_share)


class TradesHistoryConfig(dg.Config):
    tier: str = Field(default="all", description="Which wallets: all, hot or cold.")
    grace_seconds: float = 30.0
    max_failure_share: float = WalletSweepConfig().max_failure_share


@dg.asset(
    key="trades_history",
    group_name=GROUP,
    partitions_def=trade_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds=KINDS,
    deps=["trades_public"],
    description="`trades_public` day by day (UTC). Materializing a day range re-fetches those days' "
    "fills of every registered wallet from the Data API (v2 `start`/`end`; one run per range) and "
    "upserts them: nothing live polling wrote is duplicated and no watermark moves. Live polling "
    "also marks every day it stored new fills in, so a partition is materialized when fills of "
    "that day are stored; each partition's metadata counts that day's own fills.",
)
def trades_history(
    context: dg.AssetExecutionContext,
    config: TradesHistoryConfig,
    polymarket: PolymarketApiResource,
    database: DatabaseResource,
) -> None:
    engine = database.engine()
    window = context.partition_time_window
    now = datetime.now(UTC)
    start, end = int(window.start.timestamp()), int(min(window.end, now).timestamp()) - 1
    tier = resolve_tier(config.tier, {})
    wallet_list = select_wallets(engine, tier)
    keys = context.partition_keys
    context.log.info(f"backfilling {keys[0]}..{keys[-1]} for {len(wallet_list)} {tier} wallets")
    options = SweepOptions(
        plan=PollPlan(trades=True, activity=False, positions=False), backfill_window=(start, end)
    )
    sweep_config = WalletSweepConfig(tier=tier, grace_seconds=config.grace_seconds)
    stats, api_stats = run_sweep(
        context.op_execution_context, sweep_config, polymarket, engine, wallet_list, options, tier
    )
    if stats.database_error is not None:
        raise database_down(stats)
    outcome = stats.outcome(config.max_failure_share)
    if outcome == "failed":
        raise sweep_failed(stats, tier)
    common = {
        k: v
        for k, v in sweep_metadata(stats, api_stats, outcome=outcome).items()
        if not k.startswith("fills")
    }
    for key in keys:
        context.add_asset_metadata(
            {**common, "fills": stats.days.get(key, 0), "range": f"{keys[0]}..{keys[-1]}"},
            partition_key=key,
        )
