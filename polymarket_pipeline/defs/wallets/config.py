"""Run config of the wallet sweeps (set by the sensor/schedule, editable in the launchpad)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from polymarket_pipeline.defs.tags import SWEEP_TAG
from polymarket_pipeline.sync.history import DEFAULT_MIN_PAGES as DEFAULT_HISTORY_MIN_PAGES
from polymarket_pipeline.sync.history import DEFAULT_SHARE as DEFAULT_HISTORY_SHARE
from polymarket_pipeline.sync.plans import SweepTier
from polymarket_pipeline.sync.sweep import DEFAULT_MAX_FAILURE_SHARE

GROUP = "polymarket_wallets"


class WalletSweepConfig(dg.Config):
    tier: str = Field(
        default="",
        description="Which wallets: hot, cold or all. Empty = the job's own tier (its "
        "`polymarket/sweep` tag), or all wallets when materialized outside a job.",
    )
    start_jitter_seconds: int = Field(
        default=0, ge=0, le=900, description="Wait this long before starting (the schedule's jitter)."
    )
    grace_seconds: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long wallets in hand may take to finish."
    )
    max_failure_share: float = Field(
        default=DEFAULT_MAX_FAILURE_SHARE,
        ge=0,
        le=1,
        description="Share of failed wallets above which the sweep is reported partial (a WARN check).",
    )
    history_share: float = Field(
        default=DEFAULT_HISTORY_SHARE,
        ge=0,
        lt=1,
        description="Cold sweeps: at most this share of the sweep's Data API requests goes to reading "
        "older history of wallets whose history is incomplete (0 = none).",
    )
    history_min_pages: int = Field(
        default=DEFAULT_HISTORY_MIN_PAGES,
        ge=0,
        description="Cold sweeps: pages of older history a sweep may read even when its own polls "
        "made few requests (a small deployment with one huge wallet still progresses).",
    )


TIERS: tuple[SweepTier, ...] = ("all", "hot", "cold")


def resolve_tier(config_tier: str, run_tags: dict[str, str]) -> SweepTier:
    """The tier a run sweeps: its config, else its job's tag, else every wallet."""
    chosen = config_tier.strip().lower()
    if not chosen:
        tagged = run_tags.get(SWEEP_TAG, "")
        chosen = tagged if tagged in ("hot", "cold") else "all"
    for tier in TIERS:
        if tier == chosen:
            return tier
    raise dg.Failure(description=f"tier must be one of {', '.join(TIERS)} (or empty), got {config_tier!r}")
