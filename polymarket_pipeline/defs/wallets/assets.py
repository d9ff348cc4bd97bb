"""Assets fed by polling traders' wallets: ``trades_public``, ``positions_current``, ``positions_closed``.

Thin Dagster wrappers: the work is ``sync.sweep``; these pick the wallets, run the sweep with a
graceful stop, and report what happened as metadata the UI plots over time.
"""

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.db import runs, state, wallets
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.schema import PositionClosed, PositionCurrent, TradePublic, table_of
from polymarket_pipeline.defs.partitions import trade_days
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource, Tier
from polymarket_pipeline.defs.runtime import run_stoppable
from polymarket_pipeline.defs.wallets.config import GROUP, WalletSweepConfig
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep

KINDS = {"polymarket", "sql"}


def select_wallets(engine: Engine, tier: str) -> list[str]:
    """Active wallets of a tier, stalest first (an interrupted sweep resumes where it stopped)."""
    with reading(engine) as connection:
        chosen = {
            "hot": wallets.hot_wallets,
            "cold": wallets.cold_wallets,
            "all": wallets.active_wallets,
        }[tier](connection)
        return state.stalest_first(connection, chosen)


def run_sweep(
    context: dg.AssetExecutionContext,
    config: WalletSweepConfig,
    polymarket: PolymarketApiResource,
    engine: Engine,
    wallet_list: list[str],
    options: SweepOptions,
) -> tuple[SweepStats, ApiStats]:
    """Sweep ``wallet_list`` at the tier's rate limit; SIGTERM stops it gracefully."""
    if config.start_jitter_seconds:
        time.sleep(random.uniform(0, config.start_jitter_seconds))
    api_stats = ApiStats()
    tier: Tier = "hot" if config.tier == "hot" else "cold"

    async def main(stop: asyncio.Event) -> SweepStats:
        async with polymarket.client(tier, stats=api_stats) as client:
            return await sweep(client, engine, wallet_list, options=options, stop=stop)

    stats = run_stoppable(
        main,
        grace_seconds=config.grace_seconds,
        on_signal=lambda name: context.log.warning(f"{name}: finishing the wallets in hand, then stopping"),
    )
    for wallet, error in stats.failures.items():
        context.log.warning(f"wallet {wallet} failed (retried next cycle): {error}")
    context.log.info(
        f"{config.tier} sweep: {stats.wallets_polled}/{stats.wallets_total} wallets polled, "
        f"{stats.wallets_failed} failed, {stats.trades_inserted} new trades, "
        f"{api_stats.requests} API requests ({api_stats.rate_limited} rate-limited, "
        f"{api_stats.retries} retries) in {stats.duration_seconds:.1f}s"
    )
    return stats, api_stats


def record_complete_sweep(engine: Engine, kind: str, stats: SweepStats, api_stats: ApiStats) -> None:
    """Note a finished cold sweep (what ``cold_sweep_recent`` checks); a stopped one does not count."""
    if stats.stopped_early:
        return
    now = datetime.now(UTC)
    with engine.begin() as connection:
        run_id = runs.start_run(connection, kind, now - timedelta(seconds=stats.duration_seconds), None)
        runs.finish_run(connection, run_id, now, "succeeded", {**stats.as_metadata(), **api_stats.snapshot()})


def sweep_metadata(stats: SweepStats, api_stats: ApiStats, **extra: Any) -> dict[str, Any]:
    return {
        **stats.as_metadata(),
        "api_requests": api_stats.requests,
        "api_rate_limited": api_stats.rate_limited,
        "api_retries": api_stats.retries,
        "failed_wallets": dg.MetadataValue.json(stats.failures),
        **extra,
    }


def _count(engine: Engine, table: Any) -> int:
    with reading(engine) as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


@dg.asset(
    key="trades_public",
    group_name=GROUP,
    partitions_def=trade_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds=KINDS,
    description=(
        "Every fill (taker and maker legs) of every registered wallet, one row per fill keyed by "
        "`trade_id`. Today's partition is the live poll since each wallet's watermark (a new "
        "wallet's first poll captures its whole history); past partitions re-fetch that day's "
        "fills from the Data API v2 `start`/`end` window, never duplicating what polling wrote."
    ),
)
def trades_public(
    context: dg.AssetExecutionContext,
    config: WalletSweepConfig,
    polymarket: PolymarketApiResource,
    database: DatabaseResource,
) -> dg.MaterializeResult:
    engine = database.engine()
    window = context.partition_time_window
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    live = window.end > today
    backfill: tuple[int, int] | None = None
    if window.start < today:
        backfill = (int(window.start.timestamp()), int(min(window.end, today).timestamp()) - 1)
    wallet_list = select_wallets(engine, config.tier)
    options = SweepOptions(trades=live, positions=False, backfill_window=backfill)
    mode = "live" if live and backfill is None else "backfill" if not live else "backfill+live"
    context.log.info(
        f"trades_public {context.partition_key_range.start}..{context.partition_key_range.end} "
        f"({mode}) for {len(wallet_list)} {config.tier} wallets"
    )
    stats, api_stats = run_sweep(context, config, polymarket, engine, wallet_list, options)
    if config.tier == "cold" and live:
        record_complete_sweep(engine, "cold_trades", stats, api_stats)
    return dg.MaterializeResult(
        metadata=sweep_metadata(
            stats, api_stats, mode=mode, tier=config.tier, trades_total=_count(engine, table_of(TradePublic))
        )
    )


@dg.multi_asset(
    name="positions",
    group_name=GROUP,
    specs=[
        dg.AssetSpec(
            "positions_current",
            kinds=KINDS,
            description=(
                "The latest snapshot of every open position of every registered wallet. A "
                "resolved but unredeemed position stays here with `redeemable` true."
            ),
        ),
        dg.AssetSpec(
            "positions_closed",
            kinds=KINDS,
            description=(
                "One row per closing of a position, classified `redeemed` (REDEEM activity since "
                "the last snapshot), `market_closed` (market resolved) or `manual_close`. Every "
                "change (opened/increased/decreased/closed) is also written to `position_events`."
            ),
        ),
    ],
)
def positions(
    context: dg.AssetExecutionContext,
    config: WalletSweepConfig,
    polymarket: PolymarketApiResource,
    database: DatabaseResource,
) -> Any:
    engine = database.engine()
    wallet_list = select_wallets(engine, config.tier)
    context.log.info(f"reconciling positions of {len(wallet_list)} {config.tier} wallets")
    stats, api_stats = run_sweep(
        context, config, polymarket, engine, wallet_list, SweepOptions(trades=False, positions=True)
    )
    if config.tier == "cold":
        record_complete_sweep(engine, "cold_positions", stats, api_stats)
    common = sweep_metadata(stats, api_stats, tier=config.tier)
    yield dg.MaterializeResult(
        asset_key="positions_current",
        metadata={**common, "open_positions": _count(engine, table_of(PositionCurrent))},
    )
    yield dg.MaterializeResult(
        asset_key="positions_closed",
        metadata={**common, "closed_total": _count(engine, table_of(PositionClosed))},
    )
