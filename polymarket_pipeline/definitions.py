"""The Dagster code location: ``dagster dev -m polymarket_pipeline.definitions``."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from polymarket_pipeline.defs.environment import resources_from_env
from polymarket_pipeline.defs.integrations.assets import integrations, integrations_job, integrations_schedule
from polymarket_pipeline.defs.pnl.assets import pnl_current, wallet_pnl_daily, wallet_pnl_official
from polymarket_pipeline.defs.pnl.jobs import pnl_job, pnl_sensor
from polymarket_pipeline.defs.wallets.assets import trades_history, wallet_sweep
from polymarket_pipeline.defs.wallets.checks import WALLET_CHECKS
from polymarket_pipeline.defs.wallets.jobs import cold_wallets_job, hot_wallets_job
from polymarket_pipeline.defs.wallets.schedules import cold_wallets_schedule
from polymarket_pipeline.defs.wallets.sensors import hot_wallets_sensor


def build_definitions(resources: Mapping[str, object]) -> dg.Definitions:
    """Every asset, check, job, schedule and sensor, bound to ``resources`` (tests pass their own)."""
    return dg.Definitions(
        assets=[
            wallet_sweep,
            trades_history,
            integrations,
            wallet_pnl_official,
            pnl_current,
            wallet_pnl_daily,
        ],
        asset_checks=WALLET_CHECKS,
        jobs=[hot_wallets_job, cold_wallets_job, integrations_job, pnl_job],
        schedules=[cold_wallets_schedule, integrations_schedule],
        sensors=[hot_wallets_sensor, pnl_sensor],
        resources=dict(resources),
    )


defs = build_definitions(resources_from_env())
