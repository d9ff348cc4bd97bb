"""Peak memory of a 10,000-wallet cold sweep (``sync.sweep.sweep``) in its own process.

The simulator runs in its own process with ``--wallets`` wallets with tiny histories (one taker
trade each, plus the maker legs others give them) and no latency; every simulator wallet is
registered in a fresh application database (SQLite; ``--postgres`` for PostgreSQL). A child
process (this script with ``--child``) opens the database and sweeps every active wallet (trades
and positions) at a high rate limit (default 1,000 req/s, burst 100, no cooldown) so the run is
bounded by CPU, not the bucket. Its peak RSS is read twice: the child's own VmHWM (the peak
RSS of its address space; ``ru_maxrss`` would include this parent's RSS, which Linux carries
over fork+exec), and the largest RSS seen by sampling the child every 100 ms from here.

Target: peak RSS <= 400 MB.

    /work/venv/bin/python bench/sweep_memory.py [--wallets 10000] [--rate 1000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
from benchlib import (
    app_database,
    emit_result,
    load_note,
    peak_rss_self_mb,
    register_all,
    run_child,
    simulator_settings,
    table,
    verdict,
    version_note,
)

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import wallets as wallet_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorProcess
from polymarket_pipeline.sync.sweep import SweepOptions, sweep

TARGET_MB = 400.0


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wallets", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=1000.0, help="client rate limit, req/s")
    p.add_argument("--burst", type=int, default=100)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    p.add_argument("--timeout", type=float, default=1800.0, help="give up on the sweep after this long")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    return p.parse_args()


def child(args: argparse.Namespace) -> None:
    """Sweep every active wallet of ``--url``; print the result line."""
    rss_start = psutil.Process().memory_info().rss / 2**20
    settings = simulator_settings(
        args.base_url,
        rate_limit=args.rate,
        burst=args.burst,
        wallet_cooldown_seconds=0.0,
    )
    engine = create_db_engine(args.url)
    with engine.connect() as connection:
        wallets = wallet_store.active_wallets(connection)

    async def main() -> tuple[dict[str, object], dict[str, int]]:
        stop = asyncio.Event()
        async with PolymarketClient(settings) as client:
            timer = asyncio.get_running_loop().call_later(args.timeout, stop.set)
            try:
                stats = await sweep(client, engine, wallets, options=SweepOptions(), stop=stop)
            finally:
                timer.cancel()
            return stats.as_metadata(), client.stats.snapshot()

    started = time.monotonic()
    stats, api = asyncio.run(main())
    engine.dispose()
    emit_result(
        {
            "stats": stats,
            "api": api,
            "seconds": time.monotonic() - started,
            "rss_start_mb": rss_start,
            "rss_end_mb": psutil.Process().memory_info().rss / 2**20,
            "peak_rss_mb": peak_rss_self_mb(),
        }
    )


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=args.wallets,
        n_markets=20,
        trades_per_wallet=1,
        latency_ms=args.latency_ms,
        start_time=int(time.time()) - 3600,
    )
    kind = "postgres" if args.postgres else "sqlite"
    with tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp, SimulatorProcess(config) as sim:
        admin = sim.admin
        wallets = admin.wallets()
        fills = int(admin.health()["fills"])
        with app_database(kind, Path(tmp)) as url:
            register_all(url, wallets)
            admin.clear_requests()
            print(f"sweeping {len(wallets)} wallets ({fills} simulator fills) on {kind} ...", flush=True)
            argv = [sys.executable, __file__, "--child", "--url", url, "--base-url", sim.base_url]
            argv += ["--rate", str(args.rate), "--burst", str(args.burst), "--timeout", str(args.timeout)]
            outcome = run_child(argv, timeout=args.timeout + 120)
            records = admin.requests()
    r = outcome.result
    stats = r["stats"]
    peak = max(float(r["peak_rss_mb"]), outcome.sampled_peak_rss_mb)
    routes = Counter(f"{x.api} {x.route}" for x in records)
    print()
    print(
        table(
            ["metric", "value", "target", "verdict"],
            [
                ["database", kind, "", ""],
                [
                    "wallets swept (polled / failed / total)",
                    f"{stats['wallets_polled']} / {stats['wallets_failed']} / {stats['wallets_total']}",
                    "",
                    "",
                ],
                ["fills stored", stats["trades_inserted"], "", ""],
                ["positions opened", stats["positions_opened"], "", ""],
                ["API requests (simulator log)", len(records), "", ""],
                ["sweep duration, s", float(r["seconds"]), "", ""],
                ["wallets/s", stats["wallets_total"] / float(r["seconds"]), "", ""],
                ["RSS after imports, before the sweep, MB", float(r["rss_start_mb"]), "", ""],
                ["RSS at the end, MB", float(r["rss_end_mb"]), "", ""],
                [
                    "peak RSS (VmHWM, reported by the child), MB",
                    float(r["peak_rss_mb"]),
                    f"<= {TARGET_MB:g}",
                    verdict(peak <= TARGET_MB),
                ],
                ["peak RSS (sampled every 100 ms), MB", outcome.sampled_peak_rss_mb, "", ""],
            ],
            title=f"Sweep memory: {len(wallets):,} wallets, rate {args.rate:g} req/s burst {args.burst}",
        )
    )
    print(load_note())
    print(version_note())
    print(f"routes: {dict(routes)}")


if __name__ == "__main__":
    main()
