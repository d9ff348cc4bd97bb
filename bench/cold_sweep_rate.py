"""Cold sweep request rate: does ``sync.sweep.sweep`` keep the client's token bucket busy?

Starts the simulator in its own process (``SimulatorProcess``, 50 ms latency on every request,
>= 1,000 wallets with small histories), registers every simulator wallet in a fresh application
database (SQLite; with ``--postgres`` also PostgreSQL), and cold-sweeps the first ``--wallets``
of them with the real ``PolymarketClient`` at the cold limit (default 5 req/s, burst 10, 5 s
per-wallet cooldown). The achieved rate is read from the simulator's own request log:
requests / (last arrival - first arrival); "steady" leaves out the bucket's initial burst.

Target: achieved / configured rate >= 0.95 (both the plain and the steady rate), and never above
the bucket's allowance in any window: for every window length from 1 s to the whole run, the
busiest window at the server holds at most rate x length + burst requests.

A full sweep of 1,000 wallets at 5 req/s is ~2,000 requests, ~400 s.

    /work/venv/bin/python bench/cold_sweep_rate.py [--wallets 1000] [--rate 5 20] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchlib import app_database, client_settings, load_note, rate_of, table, verdict, version_note

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import wallets as wallet_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.domain.budgets import busiest_window, window_allowance
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorProcess
from polymarket_pipeline.sync.sweep import SweepOptions, sweep

TARGET = 0.95


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wallets", type=int, default=1000, help="wallets swept (default 1000)")
    p.add_argument("--sim-wallets", type=int, default=1000, help="wallets in the simulator (>= --wallets)")
    p.add_argument("--rate", type=float, nargs="+", default=[5.0], help="client rate limit(s), req/s")
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--cooldown", type=float, default=5.0, help="per-(wallet, route) cooldown, s")
    p.add_argument("--latency-ms", type=float, default=50.0, help="simulator latency on every request")
    p.add_argument("--trades-per-wallet", type=int, default=2, help="simulator history size per wallet")
    p.add_argument("--markets", type=int, default=20)
    p.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL database")
    p.add_argument("--max-seconds", type=float, default=1800.0, help="stop a sweep after this long")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


async def run_sweep(settings: Any, url: str, wallets: list[str], max_seconds: float) -> tuple[Any, Any]:
    engine = create_db_engine(url)
    stop = asyncio.Event()
    try:
        async with PolymarketClient(settings) as client:
            timer = asyncio.get_running_loop().call_later(max_seconds, stop.set)
            try:
                stats = await sweep(client, engine, wallets, options=SweepOptions(), stop=stop)
            finally:
                timer.cancel()
            return stats, client.stats
    finally:
        engine.dispose()


def window_lengths(duration: float) -> list[float]:
    """1, 2, 5, 10, 20, 30 s, then every minute-ish step, and the whole run."""
    steps = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0]
    return [w for w in steps if w < duration] + [math.ceil(duration) + 1.0]


def window_rows(kind: str, rate: float, burst: int, arrivals: list[float]) -> list[list[object]]:
    if not arrivals:
        return []
    out: list[list[object]] = []
    for length in window_lengths(max(arrivals) - min(arrivals)):
        busiest = busiest_window(arrivals, length)
        allowed = window_allowance(rate, burst, length)
        out.append([kind, rate, length, busiest, allowed, busiest / allowed, verdict(busiest <= allowed)])
    return out


def main() -> None:
    args = parse_args()
    n_sim = max(args.sim_wallets, args.wallets)
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=n_sim,
        n_markets=args.markets,
        trades_per_wallet=args.trades_per_wallet,
        latency_ms=args.latency_ms,
        start_time=int(time.time()) - 3600,
    )
    kinds = ["sqlite", "postgres"] if args.postgres else ["sqlite"]
    rows: list[list[object]] = []
    windows: list[list[object]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp, SimulatorProcess(config) as sim:
        admin = sim.admin
        all_wallets = admin.wallets()
        swept = all_wallets[: args.wallets]
        for kind in kinds:
            for rate in args.rate:
                with app_database(kind, Path(tmp)) as url:
                    engine = create_db_engine(url)
                    with engine.begin() as connection:
                        wallet_store.register_wallets(connection, all_wallets)
                    engine.dispose()
                    settings = client_settings(
                        sim, rate_limit=rate, burst=args.burst, wallet_cooldown_seconds=args.cooldown
                    )
                    admin.clear_requests()
                    since = time.time()
                    print(f"[{kind} rate={rate:g}] sweeping {len(swept)} wallets ...", flush=True)
                    stats, api = asyncio.run(run_sweep(settings, url, swept, args.max_seconds))
                    records = [r for r in admin.requests(since=since) if r.api != "_sim"]
                    rep = rate_of(records, args.burst)
                    ratio = min(rep.rate, rep.steady_rate) / rate
                    rows.append(
                        [
                            kind,
                            rate,
                            stats.wallets_polled,
                            stats.wallets_failed,
                            rep.requests,
                            rep.requests / max(1, stats.wallets_polled + stats.wallets_failed),
                            rep.status_429,
                            stats.duration_seconds,
                            (rep.requests - args.burst) / rate,
                            rep.rate,
                            rep.steady_rate,
                            ratio,
                            verdict(ratio >= TARGET),
                        ]
                    )
                    windows.extend(window_rows(kind, rate, args.burst, [r.at for r in records]))
                    routes = Counter(f"{r.api} {r.route}" for r in records)
                    notes.append(
                        f"{kind} rate={rate:g}: routes {dict(routes)}; client stats: {api.requests} "
                        f"requests, {api.retries} retries; sweep stopped early: {stats.stopped_early}"
                    )
    print()
    print(
        table(
            [
                "db",
                "rate",
                "polled",
                "failed",
                "requests",
                "req/wallet",
                "429s",
                "duration s",
                "bound s",
                "achieved r/s",
                "steady r/s",
                "achieved/cfg",
                f"target>={TARGET}",
            ],
            rows,
            title=(
                f"Cold sweep: {args.wallets} wallets of {n_sim} registered, simulator latency "
                f"{args.latency_ms:g} ms, burst {args.burst}, cooldown {args.cooldown:g} s, "
                f"{args.trades_per_wallet} taker trades/wallet"
            ),
        )
    )
    print("bound s = (requests - burst) / rate: the fastest the token bucket allows.")
    print()
    print(
        table(
            ["db", "rate", "window s", "busiest window", "allowance", "busiest/allowance", "never above"],
            windows,
            title="Busiest window of each length at the server vs the bucket's allowance (rate x w + burst)",
        )
    )
    print(load_note())
    print(version_note())
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
