"""``cold_wallets_schedule``: an hourly sweep of cold wallets, one run per wallet shard.

With ``POLYMARKET_COLD_SHARDS`` = n > 1 the schedule requests n runs, each tagged
``polymarket/shard`` = ``i/n`` and sweeping the wallets whose address falls in shard i: they can
run in parallel run containers, all spending from the one shared rate budget, and a failing or
slow shard blocks no other. A shard whose previous run is still queued or running is skipped.
"""

import random

import dagster as dg

from polymarket_pipeline.defs.tags import SHARD_TAG, SWEEP_TAG
from polymarket_pipeline.defs.wallets.jobs import cold_wallets_job, sweep_run_config
from polymarket_pipeline.settings import load_settings

ACTIVE_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
MAX_JITTER_SECONDS = 300


def cold_shards() -> int:
    """``POLYMARKET_COLD_SHARDS``, read when the schedule is evaluated (so a change needs no reload)."""
    return load_settings().cold_shards


def active_run_ids(
    instance: dg.DagsterInstance, job_name: str, tags: dict[str, str] | None = None
) -> list[str]:
    records = instance.get_run_records(
        dg.RunsFilter(job_name=job_name, statuses=ACTIVE_STATUSES, tags=tags or {}), limit=5
    )
    return [record.dagster_run.run_id for record in records]


@dg.schedule(
    name="cold_wallets_schedule",
    job=cold_wallets_job,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly cold sweep (at :17 plus up to 5 minutes of jitter), one run per wallet shard "
    "(POLYMARKET_COLD_SHARDS); a shard still running is skipped.",
)
def cold_wallets_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    shards = cold_shards()
    scheduled = context.scheduled_execution_time
    requests, skipped = [], []
    for index in range(shards):
        shard_tags = {SHARD_TAG: f"{index}/{shards}"}
        running = active_run_ids(context.instance, cold_wallets_job.name, shard_tags)
        if running:
            skipped.append(f"shard {index}/{shards} ({running[0]})")
            continue
        jitter = random.Random(f"{scheduled.isoformat()}/{index}").randint(0, MAX_JITTER_SECONDS)
        requests.append(
            dg.RunRequest(
                run_key=f"cold-{scheduled.isoformat()}-{index}",
                run_config=sweep_run_config(start_jitter_seconds=jitter),
                tags={SWEEP_TAG: "cold", **shard_tags},
            )
        )
    if not requests:
        return dg.SkipReason(f"still queued or running: {', '.join(skipped)}")
    return requests
