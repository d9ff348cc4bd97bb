"""Run config of the wallet sweeps (set by the sensor/schedule, editable in the launchpad)."""

from __future__ import annotations

from typing import Literal

import dagster as dg
from pydantic import Field

Tier = Literal["all", "hot", "cold"]
GROUP = "polymarket_wallets"
SWEEP_TAG = "polymarket/sweep"


class WalletSweepConfig(dg.Config):
    tier: Tier = Field(default="all", description="Which wallets: hot, cold or all active ones.")
    start_jitter_seconds: int = Field(
        default=0, ge=0, le=900, description="Wait this long before starting (the schedule's jitter)."
    )
    grace_seconds: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long wallets in hand may take to finish."
    )
