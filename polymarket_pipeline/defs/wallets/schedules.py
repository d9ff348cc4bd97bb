"""``cold_wallets_schedule``: an hourly sweep of cold wallets, never two at once."""

import random

import dagster as dg

from polymarket_pipeline.defs.wallets.config import SWEEP_TAG
from polymarket_pipeline.defs.wallets.jobs import cold_wallets_job, sweep_run_config

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
MAX_JITTER_SECONDS = 300


def active_run_ids(instance: dg.DagsterInstance, job_name: str) -> list[str]:
    records = instance.get_run_records(dg.RunsFilter(job_name=job_name, statuses=ACTIVE_STATUSES), limit=5)
    return [record.dagster_run.run_id for record in records]


@dg.schedule(
    name="cold_wallets_schedule",
    job=cold_wallets_job,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly cold sweep (at :17 plus up to 5 minutes of jitter); skipped while one runs.",
)
def cold_wallets_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    running = active_run_ids(context.instance, cold_wallets_job.name)
    if running:
        return dg.SkipReason(f"cold sweep {running[0]} is still queued or running")
    scheduled = context.scheduled_execution_time
    jitter = random.Random(scheduled.isoformat()).randint(0, MAX_JITTER_SECONDS)
    return dg.RunRequest(
        run_key=f"cold-{scheduled.isoformat()}",
        run_config=sweep_run_config(start_jitter_seconds=jitter),
        tags={SWEEP_TAG: "cold"},
    )
