"""Assets fed by polling traders' wallets.

``wallet_sweep`` is one pass over a tier's wallets that refreshes ``trades_public``,
``activity_public``, ``positions_current`` and ``positions_closed`` together (one poll per wallet,
so a wallet's activity explains its closes). It is unpartitioned: a live sweep is "now", not a day.
``trades_history`` is the day-partitioned view of the same table: materializing a day range
backfills it from the API, and live polling marks the days it stored fills for, so partition
status tells which days hold fills. Thin Dagster wrappers: the plan and the record of a sweep are
``sync.plans``, the work ``sync.sweep``, what the UI shows ``events``.
"""

import asyncio
import random
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.defs.partitions import trade_days
from polymarket_pipeline.defs.resources import BudgetTier, DatabaseResource, PolymarketApiResource
from polymarket_pipeline.defs.runtime import run_stoppable
from polymarket_pipeline.defs.tags import SHARD_TAG
from polymarket_pipeline.defs.wallets.config import GROUP, WalletSweepConfig, resolve_tier
from polymarket_pipeline.defs.wallets.events import (
    FAILURE_CHECK,
    database_down,
    day_events,
    failure_check,
    sweep_failed,
    sweep_figures,
    sweep_results,
)
from polymarket_pipeline.domain.addresses import parse_shard
from polymarket_pipeline.sync.plans import (
    SweepTier,
    history_options,
    record_sweep,
    select_wallets,
    sweep_plan,
    table_totals,
)
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan

KINDS = {"polymarket", "sql"}


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
    options = SweepOptions(
        plan=sweep_plan(tier, polymarket.verify_every),
        history=history_options(
            tier, share=config.history_share, min_pages=config.history_min_pages, shard=shard
        ),
    )
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
    for event in day_events(stats.days, {"source": f"{tier} sweep", "run_id": context.run_id}):
        context.log_event(event)
    if outcome == "failed":
        raise sweep_failed(stats, tier)
    shard_label = f"{shard[0]}/{shard[1]}" if shard else "all"
    yield from sweep_results(
        stats, api_stats, table_totals(engine), tier=tier, outcome=outcome, shard=shard_label
    )
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
        for k, v in sweep_figures(stats, api_stats, outcome=outcome).items()
        if not k.startswith("fills") and not k.startswith("history")
    }
    for key in keys:
        context.add_asset_metadata(
            {**common, "fills": stats.days.get(key, 0), "range": f"{keys[0]}..{keys[-1]}"},
            partition_key=key,
        )
