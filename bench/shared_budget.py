"""Shared rate budget across OS processes: does a tier's limit hold for the whole deployment?

Starts the simulator in its own process and a throwaway PostgreSQL database (migrated, so it has
``rate_budget``), then runs ``--processes`` real OS processes (this script with ``--child``), each
with its own ``PolymarketClient`` and 16 workers hammering the simulator (one ``GET /v2/value``
per call, random wallets, no per-wallet cooldown) for ``--seconds``. Arrivals are counted from
the simulator's own request log, inside the common window the children were told to run in.

Phases (each starts with an empty ``rate_budget`` table):

* ``shared``: every process uses ``defs.resources.tier_limiter(engine, "cold", settings)``, which
  on PostgreSQL is a ``db.budget.SharedRateLimiter`` (GCRA on the database clock) over one
  bucket ``tier:cold`` of ``--rate`` req/s, burst ``--burst``.
  Targets: the most arrivals in any 1 s window <= rate + burst, and the total >= 95 % of
  rate x seconds.
* ``local``: for contrast, each process has its own in-memory ``api.ratelimit.RateLimiter`` of
  the same rate and burst (what every process had before), so N processes send ~N x rate.
* ``positions``: the shared limiter again, but hammering ``GET /v2/positions``, a route with its
  own published ceiling (150 per 10 s, ``domain.budgets.ROUTE_CEILINGS``) that
  ``SharedRateLimiter.acquire(api, route)`` books when it is told the route. Reports the most
  ``/positions`` arrivals in any 10 s window against 150 (``--ceiling-seconds``, 0 to skip).

    /work/venvs/bench/bin/python bench/shared_budget.py [--processes 4] [--rate 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from benchlib import (
    PG_ADMIN_URL,
    RESULT_PREFIX,
    busiest_window,
    create_pg_database,
    drop_pg_database,
    emit_result,
    load_note,
    max_in_window,
    migrate_url,
    simulator_settings,
    table,
    verdict,
    version_note,
)

from polymarket_pipeline.api import ApiStats, PolymarketClient, RateLimiter
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.defs.resources import tier_limiter
from polymarket_pipeline.domain.budgets import ROUTE_CEILINGS, WINDOW_SECONDS, with_send_margin
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestRecord
from polymarket_pipeline.simulator.server import SimulatorProcess

WORKERS_PER_PROCESS = 16
TOTAL_TARGET = 0.95
PUBLISHED_POSITIONS_PER_10S = 150
SETTLE_SECONDS = 2.0
"""The steady-state column leaves out the start (each process's first connections)."""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--rate", type=float, default=20.0, help="tier budget, req/s (for the whole deployment)")
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--seconds", type=float, default=60.0, help="how long each phase hammers")
    p.add_argument("--ceiling-seconds", type=float, default=30.0, help="the /positions phase (0: skip)")
    p.add_argument("--latency-ms", type=float, default=20.0, help="simulator latency on every request")
    p.add_argument("--wallets", type=int, default=400, help="simulator wallets (split among processes)")
    p.add_argument("--startup-seconds", type=float, default=8.0, help="children start together after this")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="shared", help=argparse.SUPPRESS)
    p.add_argument("--route", default="value", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--wallet-list", default="", help=argparse.SUPPRESS)
    return p.parse_args()


# ----------------------------------------------------------------------------- child
def child(args: argparse.Namespace) -> None:
    """One deployment process: its own client and limiter, hammering until the window closes."""
    settings = simulator_settings(
        args.base_url,
        rate_limit=args.rate,
        burst=args.burst,
        wallet_cooldown_seconds=0.0,
        max_retries=0,
    )
    engine = create_db_engine(args.url)
    wallets = args.wallet_list.split(",")
    limiter: Any = (
        tier_limiter(engine, "cold", settings)
        if args.mode == "shared"
        else RateLimiter(settings.rate_limit, settings.burst)
    )
    stats = ApiStats()
    end_at = args.start_at + args.seconds
    errors: Counter[str] = Counter()

    async def worker(client: PolymarketClient, rng: random.Random) -> None:
        while time.time() < end_at:
            wallet = rng.choice(wallets)
            try:
                if args.route == "positions":
                    await client.fetch_positions(wallet)
                else:
                    await client.fetch_value(wallet)
            except Exception as exc:  # count and keep hammering: the log is what is measured
                errors[type(exc).__name__] += 1

    async def main() -> None:
        # connect (and warm the engine's pool) before the common start
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        async with PolymarketClient(settings, stats=stats, limiter=limiter) as client:
            tasks = [
                asyncio.create_task(worker(client, random.Random(args.index * 1000 + i)))
                for i in range(WORKERS_PER_PROCESS)
            ]
            # workers blocked on a slot booked past the window are abandoned
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(1.0, end_at - time.time()) + 1.0)

    asyncio.run(main())
    engine.dispose()
    emit_result({"limiter": repr(limiter), "requests": stats.requests, "errors": dict(errors)})


# ----------------------------------------------------------------------------- parent
@dataclass
class Phase:
    name: str
    mode: str
    route: str
    seconds: float


@dataclass
class PhaseResult:
    phase: Phase
    records: list[RequestRecord]
    per_process: list[int]
    limiters: list[str]
    child_errors: Counter[str]
    commits: int
    start_at: float


def reset_budgets(url: str) -> None:
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM rate_budget")
    finally:
        engine.dispose()


def commits(db_name: str) -> int:
    admin = sa.create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = %(n)s", {"n": db_name}
                ).scalar_one()
            )
    finally:
        admin.dispose()


def run_phase(
    args: argparse.Namespace, phase: Phase, sim: SimulatorProcess, url: str, db_name: str, wallets: list[str]
) -> PhaseResult:
    reset_budgets(url)
    before = commits(db_name)
    start_at = time.time() + args.startup_seconds
    shares = [wallets[i :: args.processes] for i in range(args.processes)]
    procs = []
    for i in range(args.processes):
        argv = [sys.executable, __file__, "--child", "--index", str(i), "--mode", phase.mode]
        argv += ["--route", phase.route, "--url", url, "--base-url", sim.base_url]
        argv += ["--start-at", repr(start_at), "--seconds", str(phase.seconds)]
        argv += ["--rate", str(args.rate), "--burst", str(args.burst), "--wallet-list", ",".join(shares[i])]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    limiters: list[str] = []
    errors: Counter[str] = Counter()
    for proc in procs:
        out, _ = proc.communicate(timeout=phase.seconds + args.startup_seconds + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"child exited with {proc.returncode}")
        line = next(ln for ln in reversed(out.splitlines()) if ln.startswith(RESULT_PREFIX))
        result = json.loads(line[len(RESULT_PREFIX) :])
        limiters.append(result["limiter"])
        errors.update(result["errors"])
    time.sleep(1.0)  # pg_stat_database is flushed about every second
    end_at = start_at + phase.seconds
    records = [
        r
        for r in sim.admin.requests(since=start_at)
        if r.api == "data" and r.at < end_at and r.wallet is not None
    ]
    owner = {w: i for i, share in enumerate(shares) for w in share}
    per_process = [0] * args.processes
    for r in records:
        per_process[owner[r.wallet]] += 1
    return PhaseResult(phase, records, per_process, limiters, errors, commits(db_name) - before, start_at)


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=args.wallets,
        n_markets=20,
        trades_per_wallet=3,
        latency_ms=args.latency_ms,
        start_time=int(time.time()) - 3600,
    )
    phases = [
        Phase("shared", "shared", "value", args.seconds),
        Phase("local", "local", "value", args.seconds),
    ]
    if args.ceiling_seconds > 0:
        phases.append(Phase("positions", "shared", "positions", args.ceiling_seconds))
    db_name, url = create_pg_database()
    results: list[PhaseResult] = []
    try:
        migrate_url(url)
        with SimulatorProcess(config) as sim:
            wallets = sim.admin.wallets()
            for phase in phases:
                print(f"[{phase.name}] {args.processes} processes x {WORKERS_PER_PROCESS} workers, "
                      f"{phase.seconds:g} s ...", flush=True)  # fmt: skip
                results.append(run_phase(args, phase, sim, url, db_name, wallets))
    finally:
        drop_pg_database(db_name)

    allowed_1s = args.rate + args.burst
    rows: list[list[object]] = []
    notes: list[str] = []
    for res in results:
        times = [r.at for r in res.records]
        total = len(times)
        seconds = res.phase.seconds
        one, one_at = busiest_window(times, 1.0)
        ordered = sorted(times)
        over = sum(1 for i, t in enumerate(ordered) if bisect.bisect_left(ordered, t + 1.0) - i > allowed_1s)
        notes.append(
            f"{res.phase.name}: first arrival {min(times) - res.start_at:+.2f} s after the common start, "
            f"busiest 1 s window starts at {one_at - res.start_at:+.2f} s; {over} of {total} arrivals begin "
            f"a 1 s window holding more than {allowed_1s:g}"
        )
        ten = max_in_window(times, WINDOW_SECONDS)
        budget = args.rate * seconds
        shared = res.phase.mode == "shared"
        rows.append(
            [
                res.phase.name,
                f"GET /v2/{res.phase.route}",
                seconds,
                total,
                total / seconds,
                " / ".join(str(n) for n in res.per_process),
                one,
                max(Counter(int(t - res.start_at) for t in times).values(), default=0),
                max_in_window([t for t in times if t >= res.start_at + SETTLE_SECONDS], 1.0),
                f"<= {allowed_1s:g}" if shared else "",
                verdict(one <= allowed_1s) if shared else "",
                total / budget,
                f">= {TOTAL_TARGET:.2f}" if res.phase.name == "shared" else "",
                verdict(total / budget >= TOTAL_TARGET) if res.phase.name == "shared" else "",
                ten,
                sum(1 for r in res.records if r.status == 429),
                res.commits / total if total and shared else float("nan"),
            ]
        )
    print()
    print(
        table(
            [
                "phase",
                "route",
                "s",
                "arrivals",
                "req/s",
                "per process",
                "max in 1 s",
                "max in a whole s",
                f"max in 1 s after {SETTLE_SECONDS:g} s",
                "target",
                "verdict",
                "total / (rate x s)",
                "target",
                "verdict",
                "max in 10 s",
                "429s",
                "DB commits/req",
            ],
            rows,
            title=(
                f"{args.processes} OS processes, each its own PolymarketClient with "
                f"{WORKERS_PER_PROCESS} workers, "
                f"budget {args.rate:g} req/s burst {args.burst}, simulator latency {args.latency_ms:g} ms; "
                "arrivals from the simulator's request log"
            ),
        )
    )
    positions = next((r for r in results if r.phase.name == "positions"), None)
    if positions is not None:
        booked = with_send_margin(ROUTE_CEILINGS["positions"])
        ten = max_in_window([r.at for r in positions.records], WINDOW_SECONDS)
        print(
            f"\n/positions published limit: {PUBLISHED_POSITIONS_PER_10S} per 10 s; the shared limiter's "
            f"bucket for it ({booked.name}: {booked.rate:g} req/s, burst {booked.burst}, as booked with the "
            f"send margin) allows at most {booked.burst + booked.rate * WINDOW_SECONDS:.1f} in any 10 s. "
            f"Measured: {ten} in the busiest 10 s -> {verdict(ten <= PUBLISHED_POSITIONS_PER_10S)}."
        )
    for note in notes:
        print(note)
    for res in results:
        limiters = sorted(set(res.limiters))
        print(f"{res.phase.name}: limiters {limiters}; client errors {dict(res.child_errors)}")
    print(
        "max in 1 s: the most arrivals in any sliding window [t, t + 1 s); max in a whole s: the same over "
        "the seconds counted from the common start. DB commits/req: transactions committed in the budget "
        "database per request (the GCRA booking is one transaction updating each bucket it spends from; "
        "the engine's pool pre-ping adds one more per checkout)."
    )
    print(load_note())
    print(version_note())


if __name__ == "__main__":
    main()
