"""``pnl_job`` and ``pnl_sensor``: keeping the figures current after the tape changes.

A sensor, not a schedule or asset automation: the hot path stores fills from inside its sensor
ticks, without runs, and reports them every 30 s as runless materializations, so neither a
run-status trigger nor an eager automation (one run per report) fits. Every minute the sensor
asks the database whether anything is new since the last PnL run (tape rows, or a positions
snapshot whose marks move unrealized PnL) and requests one ``pnl_job`` run if so, never while one
is queued or running. Idle, it costs one cheap query a minute and no run; busy, the figures trail
the tape by about a minute plus the run.
"""

import dagster as dg

from polymarket_pipeline.defs.pnl.assets import PNL_ASSETS
from polymarket_pipeline.defs.resources import DatabaseResource
from polymarket_pipeline.defs.tags import SWEEP_TAG
from polymarket_pipeline.defs.wallets.schedules import active_run_ids
from polymarket_pipeline.sync.pnl.report import pending_work

PNL_SENSOR_INTERVAL_SECONDS = 60

pnl_job = dg.define_asset_job(
    name="pnl_job",
    description="Bring position_pnl, today's wallet_pnl_daily, trader_stats and user_pnl up to date "
    "for every registered wallet (and read the official series of hot wallets that are due); no "
    "partition, no config.",
    selection=dg.AssetSelection.assets("wallet_pnl_official", *PNL_ASSETS),
    tags={SWEEP_TAG: "pnl", "dagster/max_runtime": "3600"},
    executor_def=dg.in_process_executor,
)


@dg.sensor(
    name="pnl_sensor",
    job=pnl_job,
    minimum_interval_seconds=PNL_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Every minute: requests a pnl_job run when tape rows or positions snapshots were "
    "stored since the last PnL run (and none is queued or running).",
)
def pnl_sensor(context: dg.SensorEvaluationContext, database: DatabaseResource) -> dg.SensorResult:
    if active_run_ids(context.instance, pnl_job.name):
        return dg.SensorResult(skip_reason="a pnl_job run is queued or running")
    pending = pending_work(database.engine())
    if not pending.any:
        return dg.SensorResult(skip_reason="nothing new since the last PnL run")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(tags={SWEEP_TAG: "pnl", "polymarket/pnl_reason": pending.reason})]
    )
