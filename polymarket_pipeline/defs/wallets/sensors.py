"""``hot_wallets_sensor``: the feed-first hot path, every 1.25 s, inside each sensor tick.

The daemon evaluates sensors every 5 s and a run costs seconds of overhead, so the sensor
does the hot work itself: each tick runs 4 cycles 1.25 s apart (``sync.hot``) and writes
the rows at once; every ``hot_report_seconds`` it records what the ticks wrote as runless
materializations, each followed by its checks, so the UI shows the assets updating. A feed gap is
handed to ``hot_wallets_job`` as a run request; an unreachable API is one line per tick.
"""

import asyncio
import threading
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dagster as dg
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.text import escape
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.defs.tags import REASON_TAG, SWEEP_TAG
from polymarket_pipeline.defs.wallets import checks
from polymarket_pipeline.defs.wallets.config import WalletSweepConfig
from polymarket_pipeline.defs.wallets.events import (
    day_events,
    failure_evaluation,
    hot_materializations,
    tick_summary,
)
from polymarket_pipeline.defs.wallets.jobs import hot_wallets_job, sweep_run_config
from polymarket_pipeline.defs.wallets.schedules import active_run_ids
from polymarket_pipeline.sync.hot import FeedCursor, HotCycleStats, HotPoller

T = TypeVar("T")

TICK_TIMEOUT_SECONDS = 45.0
"""Stay well inside the daemon's 60 s sensor evaluation timeout."""
TICK_MINIMUM_INTERVAL_SECONDS = 4
"""Ticks come every 5 s, the sensor daemon's fixed loop. The UI shows this value ("~4 sec"): 5
would race the loop's own timing and skip every other iteration (measured: ticks 5-10 s apart),
while 4 keeps them 5.0 s apart (measured 4.91-5.01 s); 1 had read "~1 sec"."""
FRESHNESS_CHECK_EVERY = timedelta(minutes=1)


class _HotLoop:
    """One event loop per process for every tick (the hot throttle itself is the resource's, kept
    per process), so waits and connections carry over from tick to tick."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="hot-wallets-loop", daemon=True).start()
        self.last_freshness_check: datetime | None = None
        self.pending = HotCycleStats()
        self.pending_api = ApiStats()
        self.last_report = time.monotonic()
        """What the ticks since the last report did: reported together every ``hot_report_seconds``."""

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()  # each wallet's writes are atomic: cancelling leaves no half-written wallet
            raise


_hot_loop: _HotLoop | None = None
_hot_loop_lock = threading.Lock()


def hot_loop() -> _HotLoop:
    global _hot_loop
    with _hot_loop_lock:
        if _hot_loop is None:
            _hot_loop = _HotLoop()
        return _hot_loop


def hot_tick(
    polymarket: PolymarketApiResource, engine: Engine, cursor: FeedCursor
) -> tuple[HotCycleStats, ApiStats, FeedCursor, bool]:
    """One sensor tick's worth of hot cycles; returns stats, the new cursor and the gap flag."""
    runtime = hot_loop()
    api_stats = ApiStats()
    client = polymarket.client("hot", engine, stats=api_stats)

    async def tick() -> tuple[HotCycleStats, FeedCursor, bool]:
        async with client:
            poller = HotPoller(client, engine, settings=polymarket.hot_settings(), cursor=cursor)
            stats = await poller.run_window()
            return stats, poller.cursor, poller.gap_detected

    stats, new_cursor, gap = runtime.run(tick(), TICK_TIMEOUT_SECONDS)
    return stats, api_stats, new_cursor, gap


def outage(exc: PolymarketError, base_url: str) -> str:
    """One line for a tick that could not read the feed (no traceback per tick while it is down)."""
    host = urlsplit(base_url).netloc or base_url
    return f"Polymarket Data API at {host} unavailable this tick: {escape(exc)}; retrying next tick"


def report(
    stats: HotCycleStats,
    api_stats: ApiStats,
    engine: Engine,
    now: datetime,
    max_failure_share: float,
    verify_rate: float,
) -> list[Any]:
    """Runless materializations of what the hot cycles wrote, each followed by its checks.

    A check evaluation belongs to the materialization before it: attaching the checks here keeps
    them visible next to the events the sensor records (instead of "not evaluated" after every
    tick). ``positions_consistent`` is scoped to the wallets the ticks touched.
    """
    materialized = hot_materializations(stats, api_stats)  # no row totals: counting is a scan
    events: list[Any] = []
    if "trades_public" in materialized:
        events.append(materialized["trades_public"])
        events += [checks.near_duplicates(engine, now), checks.hot_freshness(engine, now, verify_rate)]
        events.append(failure_evaluation(stats.sweep, max_failure_share))
    if "activity_public" in materialized:
        events.append(materialized["activity_public"])
    if "positions_current" in materialized:
        events.append(materialized["positions_current"])
        events += [
            checks.consistency(engine, sorted(stats.wallets_touched)),
            checks.cold_recency(engine, now),
        ]
    if "positions_closed" in materialized:
        events.append(materialized["positions_closed"])
    events += day_events(stats.sweep.days, {"source": "hot sensor"})
    return events


@dg.sensor(
    name="hot_wallets_sensor",
    job=hot_wallets_job,
    minimum_interval_seconds=TICK_MINIMUM_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Feed first: a tick every 5 s (the daemon's sensor loop) runs 4 cycles 1.25 s apart. "
    "Each reads the global trade feed since the last cursor and stores every registered wallet's new "
    "fills, refreshes the positions of the hot (followed or pinned) wallets that traded, and re-reads "
    "the stalest hot wallet at a fixed trickle rate. Ticks request no run, so the UI lists them as "
    "skipped: each tick's reason says what it stored.",
)
def hot_wallets_sensor(
    context: dg.SensorEvaluationContext, polymarket: PolymarketApiResource, database: DatabaseResource
) -> dg.SensorResult:
    engine = database.engine()
    cursor = FeedCursor.loads(context.cursor)
    try:
        stats, api_stats, new_cursor, gap = hot_tick(polymarket, engine, cursor)
    except PolymarketError as exc:
        line = outage(exc, polymarket.data_api_url)
        context.log.warning(line)
        return dg.SensorResult(cursor=cursor.dumps(), skip_reason=line)
    for wallet, error in stats.sweep.failures.items():
        context.log.warning(f"hot wallet {wallet} failed (retried next cycle): {error}")

    runtime = hot_loop()
    now = datetime.now(UTC)
    runtime.pending.merge(stats)
    runtime.pending_api.merge(api_stats)
    events: list[Any] = []
    if time.monotonic() - runtime.last_report >= polymarket.hot_report_seconds:
        events = report(
            runtime.pending,
            runtime.pending_api,
            engine,
            now,
            WalletSweepConfig().max_failure_share,
            polymarket.hot_verify_rate,
        )
        runtime.pending, runtime.pending_api, runtime.last_report = (
            HotCycleStats(),
            ApiStats(),
            time.monotonic(),
        )
    if runtime.last_freshness_check is None or now - runtime.last_freshness_check >= FRESHNESS_CHECK_EVERY:
        runtime.last_freshness_check = now
        if not any(
            isinstance(e, dg.AssetCheckEvaluation) and e.check_name == "hot_wallets_fresh" for e in events
        ):
            events.append(checks.hot_freshness(engine, now, polymarket.hot_verify_rate))

    run_requests = []
    if gap and not active_run_ids(context.instance, hot_wallets_job.name):
        context.log.warning(
            "the trade feed had more new fills than the page budget: polling every hot wallet"
        )
        run_requests.append(
            dg.RunRequest(
                run_config=sweep_run_config(),
                tags={SWEEP_TAG: "hot", REASON_TAG: "feed_gap"},
            )
        )
    # a tick that requests no run shows as "skipped" in the UI: its reason says what it stored
    summary = None if run_requests else tick_summary(stats, api_stats, reported=bool(events))
    return dg.SensorResult(
        asset_events=events, run_requests=run_requests, cursor=new_cursor.dumps(), skip_reason=summary
    )
