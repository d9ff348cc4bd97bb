"""Scale curves: does the cost per wallet and per row stay flat from 1k to 100k wallets and 1M to 10M fills?

**Sweeps** (``--sizes``, default 1k, 10k, 100k wallets): for each size the simulator runs in its own
process with that many wallets (small histories: 2 taker trades each plus maker legs, no
latency), every wallet is registered (cold) in a fresh database (PostgreSQL; SQLite too up to
``--sqlite-max``), and child processes sweep them twice the way ``cold_wallets_job`` does
(``select_wallets`` + ``sync.sweep.sweep`` with ``sweep_plan("cold")`` through ``tier_limiter``,
so on PostgreSQL every request is booked in the shared ``rate_budget``), split in ``--shards``
processes (each shard i/n, as ``POLYMARKET_COLD_SHARDS`` runs are): the **first** sweep
(positions, trades and activity of every wallet) and an **idle** one right after (no new activity:
positions only). The rate limit is raised (``--rate``) so the sweep is bound by CPU and the
database, not the bucket. On PostgreSQL the shared limiter also books Polymarket's published
ceilings (``domain.budgets``: the Data API's 1,000 per 10 s is 90 req/s for the whole deployment),
which would cap every sweep at 90 req/s; ``--ceilings off`` (the default here) makes the sweep
processes book only their tier bucket (``db.budget.ceilings_for`` returns nothing in them), so
the booking transaction is still paid but the published ceiling does not set the pace.
Reported per sweep: wall time, ms per wallet, Data API requests per
wallet (from the simulator's request log, drained as it goes), CPU seconds of the sweeping
process, the simulator and the PostgreSQL backends serving the sweep, peak RSS of the sweeping
processes (VmHWM; each sweep runs in new processes) and the database size.

**Fills at scale** (``--trades``, default 1M and 10M rows in ``trades_public``): a fresh PostgreSQL
database is bulk-loaded with ``COPY`` (``bench/synthetic.py``: skewed wallets and markets,
settlements, a year of history, every other table in proportion), then:

* upsert throughput of ``db.trades.upsert_trades``: large batches of new fills (one transaction of
  ``--batch-rows``, the COPY path), per-wallet batches of new fills (10 fills, one transaction per
  wallet, as a poll writes them) and per-wallet re-reads of stored fills (the overlap every poll
  re-reads: conflicts, nothing rewritten);
* latency p50/p95 over ``--runs`` runs (after a warm-up, so the working set is cached) of the
  queries users run: ``queries.get_user_markets(user_id)``, a wallet's open positions
  (``positions_current WHERE wallet_address = :w``), a wallet's last 100 trades, plus two per-wallet
  reads every poll makes (``positions.load_snapshot``, ``activity.activity_since``);
* database size and bytes per fill.

Cost per unit (ms per wallet, rows/s, query latency, bytes per row) must stay within 2x from the
smallest to the largest size: the ratio is printed for each.

    /work/venvs/bench/bin/python bench/scale_curves.py [--sizes 1000 10000 100000] [--trades 1000000 10000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
import synthetic
from benchlib import (
    RESULT_PREFIX,
    CpuMeter,
    RequestCollector,
    app_database,
    database_bytes,
    emit_result,
    load_note,
    peak_rss_self_mb,
    percentile,
    pg_backend_pids,
    register_all,
    simulator_settings,
    table,
    verdict,
    version_note,
)

from polymarket_pipeline.api import ApiStats, PolymarketClient
from polymarket_pipeline.db import activity as activity_store
from polymarket_pipeline.db import budget
from polymarket_pipeline.db import positions as position_store
from polymarket_pipeline.db.engine import create_db_engine, reading
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.defs.resources import PolymarketApiResource, tier_limiter
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.reconcile import ACTIVITY_REASONS
from polymarket_pipeline.domain.records import Fill
from polymarket_pipeline.queries import get_user_markets
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorProcess
from polymarket_pipeline.sync.plans import select_wallets, sweep_plan
from polymarket_pipeline.sync.sweep import SweepOptions, sweep

FLAT = 2.0
SWEEPS = ("first", "idle")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000], help="wallets swept")
    p.add_argument("--sqlite-max", type=int, default=10_000, help="also sweep on SQLite up to this size")
    p.add_argument("--trades", type=int, nargs="*", default=[1_000_000, 10_000_000], help="rows loaded")
    p.add_argument("--rate", type=float, default=5_000.0, help="client rate limit (raised), req/s")
    p.add_argument("--burst", type=int, default=500)
    p.add_argument("--runs", type=int, default=300, help="runs of each query")
    p.add_argument("--batch-rows", type=int, default=20_000, help="rows of one large upsert batch")
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--wallet-batches", type=int, default=1_000, help="per-wallet transactions timed")
    p.add_argument("--sweep-timeout", type=float, default=3_000.0)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--shards", type=int, default=2, help="processes per sweep (each a shard i/n)")
    p.add_argument(
        "--ceilings", choices=["off", "on"], default="off", help="book the published ceilings (PostgreSQL)"
    )
    p.add_argument("--shard", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    return p.parse_args()


# ============================================================================ sweeps: child
def child(args: argparse.Namespace) -> None:
    """One shard of one sweep (the way ``POLYMARKET_COLD_SHARDS`` runs split the cold tier)."""
    if args.ceilings == "off":
        budget.ceilings_for = lambda api, route: []  # the tier bucket only: CPU/DB-bound, not 90 req/s
    settings = simulator_settings(
        args.base_url,
        rate_limit=args.rate,
        burst=args.burst,
        wallet_cooldown_seconds=0.0,
    )
    engine = create_db_engine(args.url)
    resource = PolymarketApiResource()
    me = psutil.Process()
    api = ApiStats()
    shard = (args.shard, args.shards) if args.shards > 1 else None
    cpu0, started_at, started = me.cpu_times(), time.time(), time.monotonic()
    wallets = select_wallets(engine, "cold", shard=shard)
    limiter = tier_limiter(engine, "cold", settings)

    async def main() -> Any:
        async with PolymarketClient(settings, stats=api, limiter=limiter) as client:
            return await sweep(
                client, engine, wallets, options=SweepOptions(plan=sweep_plan("cold", resource.verify_every))
            )

    stats = asyncio.run(main())
    seconds = time.monotonic() - started
    cpu1 = me.cpu_times()
    engine.dispose()
    emit_result(
        {
            "start": started_at,
            "end": time.time(),
            "seconds": seconds,
            "cpu": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
            "peak_rss_mb": peak_rss_self_mb(),
            "stats": stats.as_metadata(),
            "api_requests": api.requests,
        }
    )


# ============================================================================ sweeps: parent
@dataclass
class SweepResult:
    size: int
    db: str
    name: str
    seconds: float
    wallets: int
    failed: int
    data_requests: int
    client_requests: int
    client_cpu: float
    sim_cpu: float
    db_cpu: float
    peak_rss_mb: float
    db_bytes: int
    fills: int

    @property
    def ms_per_wallet(self) -> float:
        return 1000 * self.seconds / max(1, self.wallets)

    @property
    def per_wallet(self) -> float:
        return self.data_requests / max(1, self.wallets)

    @property
    def busy_cores(self) -> float:
        return (self.client_cpu + self.sim_cpu + self.db_cpu) / self.seconds

    @property
    def bound(self) -> str:
        parts = {"client": self.client_cpu, "simulator": self.sim_cpu, "postgres": self.db_cpu}
        top = max(parts, key=lambda k: parts[k])
        return f"CPU ({top} {parts[top] / sum(parts.values()):.0%})"


@dataclass
class CpuTimeline:
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def at(self, t: float) -> dict[str, float]:
        """The last sample at or before ``t`` (the first one if none)."""
        chosen = self.samples[0][1]
        for when, values in self.samples:
            if when > t:
                break
            chosen = values
        return chosen

    def between(self, start: float, end: float, group: str) -> float:
        after = next((v for w, v in self.samples if w >= end), self.samples[-1][1])
        return after.get(group, 0.0) - self.at(start).get(group, 0.0)


def run_phase(
    args: argparse.Namespace, url: str, db: str, sim: SimulatorProcess, name: str
) -> tuple[list[dict[str, Any]], CpuTimeline]:
    """Start every shard of one sweep at once; sample the simulator's and PostgreSQL's CPU meanwhile."""
    procs = []
    for shard in range(args.shards):
        argv = [sys.executable, __file__, "--child", "--url", url, "--base-url", sim.base_url]
        argv += ["--rate", str(args.rate), "--burst", str(args.burst)]
        argv += ["--shards", str(args.shards), "--shard", str(shard), "--ceilings", args.ceilings]
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, text=True))
    outputs: list[list[str]] = [[] for _ in procs]
    pumps = []
    for proc, out in zip(procs, outputs, strict=True):
        stdout = proc.stdout
        assert stdout is not None
        pumps.append(threading.Thread(target=lambda s=stdout, o=out: o.extend(s), daemon=True))
        pumps[-1].start()
    meter, timeline = CpuMeter(), CpuTimeline()
    assert sim.process is not None
    deadline = time.monotonic() + args.sweep_timeout
    last_pg, pg_pids = 0.0, list[int]()
    while any(p.poll() is None for p in procs):
        if time.monotonic() > deadline:
            for p in procs:
                p.kill()
            raise TimeoutError(f"{name} sweep did not finish in {args.sweep_timeout:.0f} s")
        meter.sample("simulator", [sim.process.pid])
        if db == "postgres" and time.monotonic() - last_pg > 2.0:
            pg_pids = pg_backend_pids(url)
            last_pg = time.monotonic()
        meter.sample("postgres", pg_pids)
        timeline.samples.append((time.time(), {g: meter.seconds(g) for g in ("simulator", "postgres")}))
        time.sleep(0.5)
    timeline.samples.append((time.time(), {g: meter.seconds(g) for g in ("simulator", "postgres")}))
    results = []
    for proc, pump, out in zip(procs, pumps, outputs, strict=True):
        pump.join(10)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} sweep shard exited with {proc.returncode}")
        payload = next(ln for ln in reversed(out) if ln.startswith(RESULT_PREFIX))
        results.append(json.loads(payload[len(RESULT_PREFIX) :]))
    return results, timeline


def run_sweeps(
    args: argparse.Namespace, size: int, db: str, sim: SimulatorProcess, tmp: Path
) -> list[SweepResult]:
    results = []
    with app_database(db, tmp) as url:
        wallets = sim.admin.wallets()
        register_all(url, wallets)
        for name in SWEEPS:
            print(f"[{db} {size:,} wallets] {name} sweep, {args.shards} shard process(es) ...", flush=True)
            collector = RequestCollector(sim, interval=2.0)
            collector.drain()  # skip what came before
            collector.records.clear()
            collector.start()
            shards, timeline = run_phase(args, url, db, sim, name)
            records = collector.stop()
            start, end = min(s["start"] for s in shards), max(s["end"] for s in shards)
            results.append(
                SweepResult(
                    size=size,
                    db=db,
                    name=name,
                    seconds=end - start,
                    wallets=sum(s["stats"]["wallets_total"] for s in shards),
                    failed=sum(s["stats"]["wallets_failed"] for s in shards),
                    data_requests=sum(1 for r in records if start <= r.at <= end and r.api == "data"),
                    client_requests=sum(s["api_requests"] for s in shards),
                    client_cpu=sum(s["cpu"] for s in shards),
                    sim_cpu=timeline.between(start, end, "simulator"),
                    db_cpu=timeline.between(start, end, "postgres"),
                    peak_rss_mb=max(s["peak_rss_mb"] for s in shards),
                    db_bytes=database_bytes(url),
                    fills=sum(s["stats"]["trades_inserted"] for s in shards),
                )
            )
            print(f"  {end - start:.1f} s", flush=True)
    return results


def sweep_report(args: argparse.Namespace, results: list[SweepResult]) -> None:
    rows: list[list[object]] = []
    for r in results:
        rows.append(
            [
                r.db,
                r.size,
                r.name,
                r.wallets,
                r.failed,
                r.seconds,
                r.ms_per_wallet,
                r.per_wallet,
                r.client_requests,
                r.fills,
                r.client_cpu,
                r.sim_cpu,
                r.db_cpu if r.db == "postgres" else float("nan"),
                r.busy_cores,
                r.bound,
                r.peak_rss_mb,
                r.db_bytes / 2**20,
                r.db_bytes / max(1, r.wallets) / 1024,
            ]
        )
    print(
        table(
            ["db", "wallets", "sweep", "swept", "failed", "s", "ms/wallet", "Data API req/wallet",
             "client requests", "fills stored", "client CPU s", "sim CPU s", "postgres CPU s", "cores busy",
             "bound by", "peak RSS MB/process", "DB MB", "DB KB/wallet"],
            rows,
            title="Cold sweeps at a raised rate limit (CPU/DB-bound): first sweep, then an idle one"
            + ("" if args.ceilings == "off" else " (published ceilings booked)"),
        )
    )  # fmt: skip
    print()
    ratio_rows: list[list[object]] = []
    for db in sorted({r.db for r in results}):
        for name in SWEEPS:
            mine = sorted((r for r in results if r.db == db and r.name == name), key=lambda r: r.size)
            if len(mine) < 2:
                continue
            lo, hi = mine[0], mine[-1]
            for metric, get in [
                ("ms per wallet", lambda r: r.ms_per_wallet),
                ("Data API requests per wallet", lambda r: r.per_wallet),
                ("DB KB per wallet", lambda r: r.db_bytes / max(1, r.wallets) / 1024),
            ]:
                ratio = get(hi) / get(lo) if get(lo) else float("nan")
                ratio_rows.append(
                    [db, name, metric, f"{lo.size:,}", get(lo), f"{hi.size:,}", get(hi), ratio,
                     f"<= {FLAT:g}", verdict(ratio <= FLAT)]
                )  # fmt: skip
            ratio_rows.append(
                [db, name, "peak RSS MB (absolute)", f"{lo.size:,}", lo.peak_rss_mb, f"{hi.size:,}",
                 hi.peak_rss_mb, hi.peak_rss_mb / lo.peak_rss_mb, "", ""]
            )  # fmt: skip
    if ratio_rows:
        print(
            table(
                ["db", "sweep", "cost per unit", "smallest", "value", "largest", "value", "ratio", "target",
                 "verdict"],
                ratio_rows,
                title="Cost per unit, largest / smallest size",
            )
        )  # fmt: skip


# ============================================================================ fills at scale
@dataclass
class TradesResult:
    trades: int
    load_seconds: float
    index_seconds: float
    db_bytes: int
    trades_bytes: int
    upsert: dict[str, float]
    latency: dict[str, tuple[float, float]]


def _new_fills(rng: random.Random, u: synthetic.Universe, wallet: str, n: int) -> list[Fill]:
    fills = []
    for _ in range(n):
        m = rng.choice(u.markets)
        o = rng.randrange(2)
        fills.append(
            Fill(
                wallet_address=wallet,
                side="BUY" if rng.random() < 0.6 else "SELL",
                asset=m.tokens[o],
                condition_id=m.condition_id,
                size=round(rng.lognormvariate(3.0, 1.5), 2) + 0.01,
                price=round(rng.uniform(0.01, 0.99), 3),
                timestamp=u.now - rng.randrange(0, 3600),
                transaction_hash=f"0x{rng.getrandbits(256):064x}",
                title=m.title,
                slug=m.slug,
                event_slug=m.event_slug,
                outcome="Yes" if o == 0 else "No",
                outcome_index=o,
            )
        )
    return fills


def _active_wallets(rng: random.Random, u: synthetic.Universe, n: int) -> list[str]:
    """Wallets picked like the trading is: by their share of fills."""
    counts = u.fills_per_wallet
    population = [w for w, c in zip(u.wallets, counts, strict=True) if c > 0]
    weights = [int(c) for c in counts if c > 0]
    return rng.choices(population, weights=weights, k=n)


def measure_upserts(args: argparse.Namespace, url: str, u: synthetic.Universe) -> dict[str, float]:
    rng = random.Random(args.seed)
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    out: dict[str, float] = {}
    try:
        # large batches (the COPY path): a backfill or a first poll of a big wallet
        rows = elapsed = 0.0
        for _ in range(args.batches):
            keyed = key_fills(
                f for w in _active_wallets(rng, u, args.batch_rows // 20) for f in _new_fills(rng, u, w, 20)
            )
            started = time.perf_counter()
            with engine.begin() as connection:
                inserted = upsert_trades(connection, keyed, now)
            elapsed += time.perf_counter() - started
            rows += inserted
        out["batch of new fills"] = rows / elapsed
        # per-wallet transactions of new fills (a poll that found 10 new fills)
        stored: list[list[Any]] = []
        rows = elapsed = 0.0
        for wallet in _active_wallets(rng, u, args.wallet_batches):
            keyed = key_fills(_new_fills(rng, u, wallet, 10))
            stored.append(keyed)
            started = time.perf_counter()
            with engine.begin() as connection:
                rows += upsert_trades(connection, keyed, now)
            elapsed += time.perf_counter() - started
        out["per-wallet new fills (10 per txn)"] = rows / elapsed
        # per-wallet re-reads (the overlap window): every row a conflict, nothing changes
        rows = elapsed = 0.0
        for keyed in stored:
            started = time.perf_counter()
            with engine.begin() as connection:
                upsert_trades(connection, keyed, now)
            elapsed += time.perf_counter() - started
            rows += len(keyed)
        out["per-wallet re-read (10 per txn)"] = rows / elapsed
    finally:
        engine.dispose()
    return out


def measure_queries(
    args: argparse.Namespace, url: str, u: synthetic.Universe
) -> dict[str, tuple[float, float]]:
    rng = random.Random(args.seed + 1)
    engine = create_db_engine(url)
    traders = [w for w, c in zip(u.wallets, u.fills_per_wallet, strict=True) if c > 0]
    since = datetime.now(UTC) - timedelta(days=7)
    positions_sql = sa.text("SELECT * FROM positions_current WHERE wallet_address = :w")
    trades_sql = sa.text(
        "SELECT * FROM trades_public WHERE wallet_address = :w ORDER BY traded_at DESC LIMIT 100"
    )

    def user_markets() -> Any:
        return get_user_markets(rng.choice(u.users), engine=engine)

    def open_positions() -> Any:
        with reading(engine) as connection:
            return connection.execute(positions_sql, {"w": rng.choice(traders)}).all()

    def last_trades() -> Any:
        with reading(engine) as connection:
            return connection.execute(trades_sql, {"w": rng.choice(traders)}).all()

    def snapshot() -> Any:
        with reading(engine) as connection:
            return position_store.load_snapshot(connection, rng.choice(traders))

    def activity() -> Any:
        with reading(engine) as connection:
            return activity_store.activity_since(
                connection, rng.choice(traders), since, list(ACTIVITY_REASONS)
            )

    queries: dict[str, Callable[[], Any]] = {
        "get_user_markets(user_id)": user_markets,
        "a wallet's open positions": open_positions,
        "a wallet's last 100 trades": last_trades,
        "positions.load_snapshot (every poll)": snapshot,
        "activity.activity_since 7 d (a close)": activity,
    }
    out: dict[str, tuple[float, float]] = {}
    try:
        for name, run in queries.items():
            for _ in range(min(50, args.runs)):
                run()  # warm-up: pool, plan cache, pages
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                run()
                times.append(1000 * (time.perf_counter() - started))
            out[name] = (percentile(times, 50), percentile(times, 95))
    finally:
        engine.dispose()
    return out


def run_trades(args: argparse.Namespace, n: int, tmp: Path) -> TradesResult:
    with app_database("postgres", tmp) as url:
        print(f"[{n:,} fills] loading with COPY ...", flush=True)
        started = time.monotonic()
        u, report = synthetic.load(url, n, seed=args.seed, log=lambda s: print(s, flush=True))
        load_seconds = time.monotonic() - started
        engine = create_db_engine(url)
        with engine.connect() as connection:
            trades_bytes = int(
                connection.exec_driver_sql("SELECT pg_total_relation_size('trades_public')").scalar_one()
            )
        engine.dispose()
        db_bytes = database_bytes(url)
        print(f"[{n:,} fills] upserts ...", flush=True)
        upsert = measure_upserts(args, url, u)
        print(f"[{n:,} fills] queries ...", flush=True)
        latency = measure_queries(args, url, u)
    return TradesResult(
        n, load_seconds, report.seconds.get("indexes", 0.0), db_bytes, trades_bytes, upsert, latency
    )


def trades_report(results: list[TradesResult]) -> None:
    rows: list[list[object]] = []
    for r in results:
        rows.append(["load (COPY + index rebuild + VACUUM ANALYZE), s", r.trades, r.load_seconds])
        rows.append(["database size, MB", r.trades, r.db_bytes / 2**20])
        rows.append(["trades_public with its indexes, MB", r.trades, r.trades_bytes / 2**20])
        rows.append(["trades_public bytes per fill", r.trades, r.trades_bytes / r.trades])
        for name, value in r.upsert.items():
            rows.append([f"upsert rows/s: {name}", r.trades, value])
        for name, (p50, p95) in r.latency.items():
            rows.append([f"{name}: p50 ms", r.trades, p50])
            rows.append([f"{name}: p95 ms", r.trades, p95])
    print(table(["metric", "fills", "value"], rows, title="trades_public at scale (PostgreSQL)"))
    if len(results) < 2:
        return
    lo, hi = results[0], results[-1]
    ratio_rows: list[list[object]] = []

    def add(metric: str, a: float, b: float, higher_is_better: bool = False) -> None:
        cost = (a / b) if higher_is_better else (b / a)
        ratio_rows.append([metric, a, b, cost, f"<= {FLAT:g}", verdict(cost <= FLAT)])

    add("bytes per fill (trades_public + indexes)", lo.trades_bytes / lo.trades, hi.trades_bytes / hi.trades)
    for name in lo.upsert:
        add(f"upsert: {name} (time per row)", lo.upsert[name], hi.upsert[name], higher_is_better=True)
    for name in lo.latency:
        add(f"{name} p50", lo.latency[name][0], hi.latency[name][0])
        add(f"{name} p95", lo.latency[name][1], hi.latency[name][1])
    print()
    print(
        table(
            ["cost per unit", f"{lo.trades:,}", f"{hi.trades:,}", "cost ratio", "target", "verdict"],
            ratio_rows,
            title=f"Cost per unit, {hi.trades:,} / {lo.trades:,} fills (a ratio of time or bytes per unit)",
        )
    )


# ============================================================================ main
def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    began = time.monotonic()
    sweep_results: list[SweepResult] = []
    trade_results: list[TradesResult] = []
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for size in args.sizes:
            config = SimulatorConfig(
                seed=args.seed,
                n_wallets=size,
                n_markets=50,
                trades_per_wallet=2,
                start_time=int(time.time()) - 3600,
            )
            with SimulatorProcess(config) as sim:
                for db in ["postgres", *(["sqlite"] if size <= args.sqlite_max else [])]:
                    sweep_results += run_sweeps(args, size, db, sim, Path(tmp))
                    loads.append(f"after {db} {size:,}: {load_note()}")
        for n in args.trades:
            trade_results.append(run_trades(args, n, Path(tmp)))
            loads.append(f"after {n:,} fills: {load_note()}")
    print()
    if sweep_results:
        sweep_report(args, sweep_results)
        print()
    if trade_results:
        trades_report(trade_results)
        print()
    print(f"total runtime {(time.monotonic() - began) / 60:.1f} min")
    for line in loads:
        print(line)
    print(version_note())


if __name__ == "__main__":
    main()
