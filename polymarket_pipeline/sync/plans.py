"""What one sweep run does, decided outside Dagster: which wallets, how each is polled, and how
the run is recorded.

The Dagster assets only read their tier and shard from the run and hand them here, so a sweep is
planned and recorded the same way whether the schedule, the sensor, the CLI or a test started it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.db import quality, runs, state, wallets
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.domain.addresses import shard_of
from polymarket_pipeline.sync.history import HistoryOptions
from polymarket_pipeline.sync.sweep import Outcome, SweepStats
from polymarket_pipeline.sync.wallet_poll import PollPlan

SweepTier = Literal["all", "hot", "cold"]
"""Which wallets a sweep polls: the hot (followed or pinned) ones, the cold rest, or all."""


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


def sweep_plan(tier: SweepTier, verify_every: timedelta) -> PollPlan:
    """Cold sweeps are adaptive (fills arrive through the feed; a changed snapshot or a due
    verification re-reads history); a hot or full sweep re-reads every wallet's history."""
    if tier == "cold":
        return PollPlan(verify_every=verify_every)
    return PollPlan()


def history_options(
    tier: SweepTier, *, share: float, min_pages: int, shard: tuple[int, int] | None
) -> HistoryOptions | None:
    """Older history is read by cold (and full) sweeps on the cold budget; never by the hot tier,
    whose budget is the hot path's latency."""
    if tier == "hot":
        return None
    return HistoryOptions(share=share, min_pages=min_pages, shard=shard)


def record_sweep(
    engine: Engine,
    kind: str,
    stats: SweepStats,
    api_stats: ApiStats,
    *,
    run_id: str | None,
    max_failure_share: float,
) -> Outcome:
    """One ``sync_runs`` row per sweep: succeeded, partial or failed (what ``cold_sweep_recent`` reads)."""
    outcome = stats.outcome(max_failure_share)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        row = runs.start_run(connection, kind, now - timedelta(seconds=stats.duration_seconds), run_id)
        runs.finish_run(connection, row, now, outcome, {**stats.as_metadata(), **api_stats.snapshot()})
    return outcome


def table_totals(engine: Engine) -> dict[str, int]:
    """Rows in each wallet table (shown beside each asset's materialization)."""
    with reading(engine) as connection:
        return {name: quality.row_count(connection, name) for name in quality.TABLES}
