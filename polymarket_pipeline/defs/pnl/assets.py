"""Profit and loss as Dagster assets (group ``polymarket_pnl``): thin wrappers of ``sync.pnl``.

``pnl_current`` brings ``position_pnl``, ``trader_stats``, ``user_pnl`` and today's
``wallet_pnl_daily`` partition up to date from the stored tape, incrementally (the cost follows
the rows stored since the last run), then checks the figures against Polymarket's own
(``pnl_matches_polymarket``). ``wallet_pnl_official`` reads Polymarket's series for hot wallets,
at most daily each, on the cold budget. ``wallet_pnl_daily`` is the day-by-day view: materializing
a range of days (a backfill from the UI) recomputes those days' cumulative figures as of each
day's end.
"""

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from polymarket_pipeline.defs.partitions import trade_days
from polymarket_pipeline.defs.pnl.events import (
    CHECK,
    OFFICIAL_CHECK,
    agreement_check,
    agreement_figures,
    board_figures,
    day_totals,
    official_read_check,
    run_figures,
)
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.defs.runtime import run_stoppable
from polymarket_pipeline.sync.official import OfficialRun, fetch_official
from polymarket_pipeline.sync.pnl import compute_day, pnl_agreement, refresh_drawdowns, update_pnl
from polymarket_pipeline.sync.pnl.report import day_rows, leaderboard

GROUP = "polymarket_pnl"
KINDS = {"polymarket", "sql"}
PNL_ASSETS = ["position_pnl", "trader_stats", "user_pnl"]
MAX_STALE_DAYS = 7
"""Past days a run recomputes when new rows changed them (older ones: a backfill of the range)."""


def _day(key: str) -> date:
    return date.fromisoformat(key)


@dg.asset(
    key="wallet_pnl_official",
    group_name=GROUP,
    kinds=KINDS,
    deps=["positions_current"],
    description="Polymarket's own PnL series (`/v2/user-pnl`) of every hot wallet, read at most daily "
    "per wallet on the cold budget, and the API's own figures of their closed positions: what "
    "`pnl_matches_polymarket` compares our figures with.",
    check_specs=[
        dg.AssetCheckSpec(
            OFFICIAL_CHECK,
            asset="wallet_pnl_official",
            description="Every due wallet's official series was read (WARN when some failed, ERROR when "
            "all did); a failed wallet is retried within the hour. Our own figures never wait for it.",
        )
    ],
)
def wallet_pnl_official(
    context: dg.AssetExecutionContext, polymarket: PolymarketApiResource, database: DatabaseResource
) -> dg.MaterializeResult:
    engine = database.engine()

    async def main(stop: asyncio.Event) -> OfficialRun:
        async with polymarket.client("cold", engine) as client:
            return await fetch_official(client, engine)

    run = run_stoppable(main)
    for wallet, error in run.failures.items():
        context.log.warning(f"wallet {wallet}: official PnL not read (retried within the hour): {error}")
    # the read failing must not stop pnl_current (downstream in the same run): it is reported by
    # the check, red when nothing could be read, and the comparison uses the last points stored
    return dg.MaterializeResult(
        check_results=[official_read_check(run)],
        metadata={
            "wallets_due": run.wallets_due,
            "wallets_fetched": run.wallets_fetched,
            "points_stored": run.points_stored,
            "points_rejected": run.points_rejected,
            "closed_positions_stored": run.closed_positions_stored,
            "wallets_failed": len(run.failures),
            "failures": dg.MetadataValue.json(run.failures),
        },
    )


@dg.multi_asset(
    name="pnl_current",
    group_name=GROUP,
    specs=[
        dg.AssetSpec(
            "position_pnl",
            kinds=KINDS,
            deps=["trades_public", "activity_public", "positions_current", "wallet_pnl_official"],
            description="One row per (wallet, token): the weighted-average-cost replay of the stored fills "
            "and activity (Polymarket's pnl-subgraph rules): shares, avg price, realized PnL, unrealized "
            "at the API's mark or the payout, fees apart, with the API's own avg and realized beside ours.",
        ),
        dg.AssetSpec(
            "trader_stats",
            kinds=KINDS,
            deps=["position_pnl"],
            description="One row per wallet: realized, unrealized, trade, position and economic PnL, fees, "
            "income, volume, wins, losses, win rate, ROI, drawdown, completeness, and the delta to "
            "Polymarket's own figure. Its materializations carry the leaderboard.",
        ),
        dg.AssetSpec(
            "user_pnl",
            kinds=KINDS,
            deps=["trader_stats"],
            description="One row per user: the sums of `trader_stats` over the user's `wallet_links`.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            CHECK,
            asset="trader_stats",
            description="Every complete ledger agrees with Polymarket's latest official point (within "
            "max($10, 1 %)) and every position with the API's own avg and realized PnL; names each "
            "disagreement with its delta and likely cause.",
        )
    ],
)
def pnl_current(context: dg.AssetExecutionContext, database: DatabaseResource) -> Iterator[Any]:
    engine = database.engine()
    now = datetime.now(UTC)
    run = update_pnl(engine, now=now)
    if run.ingest_deferred:
        context.log.warning("a long write held the tape: no new rows applied this run (next run will)")
    if run.rows_left:
        context.log.info("more new rows than one run reads: the next run (within a minute) goes on")
    stale = sorted(run.stale_days)
    for day in stale[-MAX_STALE_DAYS:]:
        compute_day(engine, day, now=now, drawdowns=False)
    if stale:
        refresh_drawdowns(engine, now=now)
    report = pnl_agreement(engine, now=now)
    board = leaderboard(engine)
    today = now.date()
    context.log_event(
        dg.AssetMaterialization(
            "wallet_pnl_daily",
            partition=today.isoformat(),
            metadata={**day_totals(day_rows(engine, today)), "source": "pnl_current"},
        )
    )
    for day in stale[-MAX_STALE_DAYS:]:
        context.log_event(
            dg.AssetMaterialization(
                "wallet_pnl_daily",
                partition=day.isoformat(),
                metadata={**day_totals(day_rows(engine, day)), "source": "pnl_current (late rows)"},
            )
        )
    figures = run_figures(run)
    yield dg.MaterializeResult(
        asset_key="position_pnl",
        metadata={
            **figures,
            "positions_compared_with_api": run.positions_compared,
            "position_disagreements": run.position_disagreements,
            "stale_days_recomputed": len(stale[-MAX_STALE_DAYS:]),
            "stale_days_left_for_a_backfill": dg.MetadataValue.json(
                [d.isoformat() for d in stale[:-MAX_STALE_DAYS]]
            ),
        },
    )
    yield dg.MaterializeResult(
        asset_key="trader_stats", metadata={**board_figures(board), **agreement_figures(report)}
    )
    yield dg.MaterializeResult(
        asset_key="user_pnl", metadata={"users": run.users, "users_changed": run.users_changed}
    )
    yield agreement_check(report)


pnl_days = trade_days
"""``wallet_pnl_daily`` shares the trade days (UTC): a day's figures are as of its end."""


@dg.asset(
    key="wallet_pnl_daily",
    group_name=GROUP,
    kinds=KINDS,
    partitions_def=pnl_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=["position_pnl"],
    description="Each wallet's figures day by day (UTC): cumulative realized PnL, fees and income as "
    "of the day's end, unrealized at that day's marks (resolution payout, else the last stored fill "
    "price; NULL when unknown), and the day's own volume and fills. `pnl_current` keeps today's "
    "partition current; materializing a range of days recomputes them.",
)
def wallet_pnl_daily(context: dg.AssetExecutionContext, database: DatabaseResource) -> None:
    engine = database.engine()
    now = datetime.now(UTC)
    for key in context.partition_keys:
        result = compute_day(engine, _day(key), now=now, drawdowns=False)
        context.add_asset_metadata(
            {**day_totals(day_rows(engine, result.day)), "marks": dg.MetadataValue.json(result.marks)},
            partition_key=key,
        )
    refresh_drawdowns(engine, now=now)
