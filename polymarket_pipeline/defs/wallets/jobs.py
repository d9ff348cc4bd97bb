"""``hot_wallets_job`` and ``cold_wallets_job``: one poll of every wallet of a tier."""

from __future__ import annotations

from typing import Any

import dagster as dg

from polymarket_pipeline.defs.partitions import trade_days
from polymarket_pipeline.defs.wallets.config import SWEEP_TAG

SWEEP_ASSETS = ["trades_public", "positions_current", "positions_closed"]
COLD_MAX_RUNTIME_SECONDS = 65 * 60
"""A sweep still running after 65 minutes is stopped, the way the seed's cold lock expired."""


def sweep_run_config(tier: str, *, start_jitter_seconds: int = 0) -> dict[str, Any]:
    op_config = {"config": {"tier": tier, "start_jitter_seconds": start_jitter_seconds}}
    return {"ops": {"trades_public": op_config, "positions": {"config": {"tier": tier}}}}


hot_wallets_job = dg.define_asset_job(
    name="hot_wallets_job",
    description="Poll every hot wallet once (trades since the watermark, positions). For manual runs "
    "and for the sensor when the global feed had a gap.",
    selection=dg.AssetSelection.assets(*SWEEP_ASSETS),
    partitions_def=trade_days,
    config=sweep_run_config("hot"),
    tags={SWEEP_TAG: "hot", "dagster/max_runtime": str(COLD_MAX_RUNTIME_SECONDS)},
    executor_def=dg.in_process_executor,
)

cold_wallets_job = dg.define_asset_job(
    name="cold_wallets_job",
    description="Sweep every active wallet that is not hot, concurrently at the cold rate limit.",
    selection=dg.AssetSelection.assets(*SWEEP_ASSETS),
    partitions_def=trade_days,
    config=sweep_run_config("cold"),
    tags={
        SWEEP_TAG: "cold",
        "dagster/max_runtime": str(COLD_MAX_RUNTIME_SECONDS),
        "dagster/max_retries": "1",
    },
    executor_def=dg.in_process_executor,
)
