"""``external_positions_raw`` -> ``external_markets``: the daily sync of users' linked wallets."""

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime

import dagster as dg
import pandas as pd
from pydantic import Field

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.defs.runtime import run_stoppable
from polymarket_pipeline.defs.tags import SWEEP_TAG
from polymarket_pipeline.settings import load_settings
from polymarket_pipeline.sync.integrations import (
    IntegrationsSummary,
    UserResult,
    linked_wallets,
    record_sync,
    sync_users,
)

GROUP = "polymarket_integrations"
KINDS = {"polymarket", "sql"}

sync_days = dg.DailyPartitionsDefinition(
    start_date=load_settings().integrations_start.isoformat(), timezone="UTC", end_offset=1
)
"""One partition per UTC day; only today's can be materialized (positions are served as of now)."""


class IntegrationsConfig(dg.Config):
    force: bool = Field(default=False, description="Re-sync users already synced that day.")


class PastPartitionError(dg.Failure):
    """Positions are only served as of now, so a past day cannot be (re)materialized."""


def refuse_past_day(partition_day: date, today: date) -> None:
    if partition_day != today:
        raise PastPartitionError(
            description=(
                f"cannot sync {partition_day.isoformat()}: Polymarket only serves positions as of "
                f"now, so only today's partition ({today.isoformat()}) can be materialized; "
                "a backfill of past days would stamp today's positions with a past date"
            )
        )


def portfolio_preview(results: list[UserResult]) -> pd.DataFrame:
    """Portfolio summary by user (the seed's example query), for the UI."""
    rows = [
        {
            "user_id": r.user_id,
            "num_markets": len({m.market_id for m in r.rows if not m.resolved}),
            "total_value": sum(m.current_value or 0.0 for m in r.rows if not m.resolved),
            "total_pnl": sum(m.pnl or 0.0 for m in r.rows if not m.resolved),
        }
        for r in results
        if r.status == "synced"
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "num_markets", "total_value", "total_pnl"])
    return frame.sort_values("total_pnl", ascending=False).round(2)


@dg.multi_asset(
    name="integrations",
    group_name=GROUP,
    partitions_def=sync_days,
    specs=[
        dg.AssetSpec(
            "external_positions_raw",
            kinds=KINDS,
            description="Each user's Polymarket payloads (positions and value per linked wallet) exactly "
            "as received, one row per (user, source, UTC day) unless a sync is forced.",
        ),
        dg.AssetSpec(
            "external_markets",
            deps=["external_positions_raw"],
            kinds=KINDS,
            description="Each user's open positions as of the sync, one row per (user, token) summed across "
            "the user's wallets, with title, category, tags, outcome and resolution.",
        ),
    ],
)
def integrations(
    context: dg.AssetExecutionContext,
    config: IntegrationsConfig,
    polymarket: PolymarketApiResource,
    database: DatabaseResource,
) -> Iterator[dg.MaterializeResult]:
    sync_day = date.fromisoformat(context.partition_key)
    refuse_past_day(sync_day, datetime.now(UTC).date())
    engine = database.engine()
    links = linked_wallets(engine)
    context.log.info(
        f"Starting sync for {sync_day}: {sum(map(len, links.values()))} wallet links for {len(links)} user(s)"
    )
    api_stats = ApiStats()

    def on_user(result: UserResult) -> None:
        if result.status == "skipped":
            context.log.info(f"user {result.user_id}: already synced today, skipping (force to re-sync)")
        elif result.status == "failed":
            context.log.error(f"user {result.user_id} failed: {result.error}")
        else:
            context.log.info(
                f"user {result.user_id}: {result.wallets} wallet(s), {result.markets} market(s), "
                f"{result.duration_seconds * 1000:.0f}ms"
            )

    async def main(stop: asyncio.Event) -> IntegrationsSummary:
        # the cold budget: integrations and cold sweeps share one bucket
        async with polymarket.client("cold", engine, stats=api_stats) as client:
            return await sync_users(
                client,
                engine,
                links,
                sync_date=sync_day,
                force=config.force,
                run_id=context.run_id,
                on_user=on_user,
            )

    started = datetime.now(UTC)
    summary = run_stoppable(
        main, on_signal=lambda name: context.log.warning(f"{name}: stopping after the users in hand")
    )
    for line in summary.report_lines():
        context.log.info(line)
    metadata = {
        **summary.as_metadata(),
        "api_rate_limited": api_stats.rate_limited,
        "api_retries": api_stats.retries,
        "failed_users": dg.MetadataValue.json(summary.failures),
    }
    record_sync(engine, summary, {k: v for k, v in metadata.items() if k != "failed_users"},
                started=started, run_id=context.run_id)  # fmt: skip
    yield dg.MaterializeResult(asset_key="external_positions_raw", metadata=metadata)
    preview = portfolio_preview(summary.users)
    yield dg.MaterializeResult(
        asset_key="external_markets",
        metadata={
            **metadata,
            "portfolio_by_user": dg.MetadataValue.md(preview.head(50).to_markdown(index=False)),
        },
    )


integrations_job = dg.define_asset_job(
    name="integrations_job",
    description="Daily sync of users' linked wallets into external_positions_raw and external_markets.",
    selection=dg.AssetSelection.assets("external_positions_raw", "external_markets"),
    partitions_def=sync_days,
    tags={SWEEP_TAG: "integrations", "dagster/max_retries": "1", "dagster/max_runtime": "7200"},
    executor_def=dg.in_process_executor,
)


@dg.schedule(
    name="integrations_schedule",
    job=integrations_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Syncs today's partition at 02:00 UTC.",
)
def integrations_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = context.scheduled_execution_time.astimezone(UTC).strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"integrations-{day}", partition_key=day, tags={SWEEP_TAG: "integrations"})
