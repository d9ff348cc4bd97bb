"""Daily UTC partitions shared by trade history and the integrations sync."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import dagster as dg

from polymarket_pipeline.settings import load_settings

# Single-run backfills (``BackfillPolicy.single_run()``) are what makes a UI backfill of a range of
# days one run; the parameter is marked beta in this pinned Dagster version, so its notice is not
# printed at every load of the code location.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

HISTORY_START = load_settings().history_start.isoformat()
"""First trade day offered for backfills (Polymarket opened in mid-2020)."""

trade_days = dg.DailyPartitionsDefinition(
    start_date=HISTORY_START, timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
)
"""``trades_public`` partitions; ``end_offset=1`` makes today a partition, which live polls fill."""


def today_key(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
