"""``hot_wallets_job`` and ``cold_wallets_job``: one sweep of every wallet of a tier.

Both are unpartitioned and need no config: the tier comes from the job's ``polymarket/sweep``
tag, so ``dagster job execute -j cold_wallets_job``, ``dagster job launch`` and the Launchpad's
defaults all sweep exactly that tier.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from polymarket_pipeline.defs.tags import SHARD_TAG, SWEEP_TAG
from polymarket_pipeline.defs.wallets.events import SWEEP_ASSETS

SWEEP_MAX_RUNTIME_SECONDS = 65 * 60
"""A sweep still running after 65 minutes is stopped, the way the seed's cold lock expired."""


def sweep_run_config(*, start_jitter_seconds: int = 0) -> dict[str, Any]:
    return {"ops": {"wallet_sweep": {"config": {"start_jitter_seconds": start_jitter_seconds}}}}


hot_wallets_job = dg.define_asset_job(
    name="hot_wallets_job",
    description="Poll every hot wallet once (trades and activity since the watermarks, positions). "
    "For manual runs and for the sensor when the global feed had a gap.",
    selection=dg.AssetSelection.assets(*SWEEP_ASSETS),
    tags={SWEEP_TAG: "hot", "dagster/max_runtime": str(SWEEP_MAX_RUNTIME_SECONDS)},
    executor_def=dg.in_process_executor,
)

cold_wallets_job = dg.define_asset_job(
    name="cold_wallets_job",
    description="Sweep every active wallet that is not hot, concurrently at the cold rate limit.",
    selection=dg.AssetSelection.assets(*SWEEP_ASSETS),
    tags={
        SWEEP_TAG: "cold",
        SHARD_TAG: "0/1",  # the whole tier; the schedule's shards replace it with i/n
        "dagster/max_runtime": str(SWEEP_MAX_RUNTIME_SECONDS),
        "dagster/max_retries": "1",
    },
    executor_def=dg.in_process_executor,
)
