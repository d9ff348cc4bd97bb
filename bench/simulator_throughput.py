"""Simulator throughput: start it in a subprocess and hammer it with an async httpx client.

The server runs out of process so client and server do not share a GIL. The run is bounded
(``--requests``), mixes the routes a pipeline calls, and prints req/s and latency percentiles.

    /work/venv/bin/python bench/simulator_throughput.py [--requests 20000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import defaultdict

import httpx
import psutil
import uvloop

from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorProcess

MIX: list[tuple[str, int]] = [
    ("v2 /trades poll", 25),
    ("v2 /trades page", 10),
    ("v1 /trades page", 10),
    ("v2 /positions", 15),
    ("v1 /positions", 10),
    ("v2 /activity page", 10),
    ("v1 /activity page", 5),
    ("clob /markets/{id}", 10),
    ("gamma /markets", 5),
]
"""(label, weight): a pipeline's steady state is mostly incremental polls (``start`` = its
watermark, few new rows), plus full pages while back-filling, positions and market metadata."""


def build_requests(
    n: int, wallets: list[str], markets: list[dict[str, object]], watermark: int, seed: int
) -> list[tuple[str, str]]:
    """``n`` (label, path) pairs drawn from the mix, reproducible per seed."""
    rng = random.Random(seed)
    labels = [label for label, weight in MIX for _ in range(weight)]
    cids = [str(m["condition_id"]) for m in markets]
    paths = {
        "v2 /trades poll": "/data/v2/trades?user={w}&start=" + str(watermark),
        "v2 /trades page": "/data/v2/trades?user={w}&limit=100&start=1&taker_only=false",
        "v1 /trades page": "/data/trades?user={w}&limit=100&takerOnly=false",
        "v2 /positions": "/data/v2/positions?user={w}&limit=100",
        "v1 /positions": "/data/positions?user={w}&limit=100",
        "v2 /activity page": "/data/v2/activity?user={w}&limit=100&start=1",
        "v1 /activity page": "/data/activity?user={w}&limit=100",
        "clob /markets/{id}": "/clob/markets/{c}",
        "gamma /markets": "/gamma/markets?condition_ids={cs}&closed=false",
    }
    out: list[tuple[str, str]] = []
    for _ in range(n):
        label = rng.choice(labels)
        chosen = rng.sample(cids, min(5, len(cids)))
        path = paths[label].format(w=rng.choice(wallets), c=chosen[0], cs=",".join(chosen))
        out.append((label, path))
    return out


async def hammer(
    base_url: str, requests: list[tuple[str, str]], concurrency: int
) -> tuple[float, list[tuple[str, int, float]]]:
    """Send every request with ``concurrency`` workers; returns wall time and (label, status, ms)."""
    results: list[tuple[str, int, float]] = []
    pending = iter(requests)

    async def worker() -> None:
        # One single-connection client per worker: httpx's shared pool degrades with many
        # connections, and we want to measure the server, not the pool.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0) as client:
            for label, path in pending:
                t0 = time.perf_counter()
                try:
                    response = await client.get(path)
                    status = response.status_code
                except httpx.HTTPError:
                    status = -1
                results.append((label, status, (time.perf_counter() - t0) * 1000))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, results


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def print_table(wall: float, results: list[tuple[str, int, float]]) -> None:
    by_label: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    for label, status, ms in results:
        by_label[label].append(ms)
        if status != 200:
            errors[label] += 1
    header = f"{'route':<22}{'n':>7}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header)
    print("-" * len(header))
    everything: list[float] = []
    for label, _ in MIX:
        times = by_label.get(label, [])
        if not times:
            continue
        everything += times
        print(
            f"{label:<22}{len(times):>7}{len(times) / wall:>9.0f}{statistics.median(times):>9.1f}"
            f"{percentile(times, 95):>9.1f}{percentile(times, 99):>9.1f}{errors[label]:>8}"
        )
    print("-" * len(header))
    total = len(everything)
    print(
        f"{'total':<22}{total:>7}{total / wall:>9.0f}{statistics.median(everything):>9.1f}"
        f"{percentile(everything, 95):>9.1f}{percentile(everything, 99):>9.1f}{sum(errors.values()):>8}"
    )
    print(f"\nwall time {wall:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--wallets", type=int, default=200)
    parser.add_argument("--markets", type=int, default=50)
    parser.add_argument("--trades-per-wallet", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="simulated server latency per request")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=args.wallets,
        n_markets=args.markets,
        trades_per_wallet=args.trades_per_wallet,
        latency_ms=args.latency_ms,
        edge_cache_seconds=0,  # measure the origin: with the cache, repeated URLs would be edge hits
    )
    with SimulatorProcess(config) as sim:
        wallets = sim.admin.wallets()
        markets = sim.admin.markets()
        health = sim.admin.health()
        fills = health["fills"]
        watermark = int(health["start_time"]) - 2 * 86_400  # polls see the last two days only
        requests = build_requests(args.requests, wallets, markets, watermark, args.seed)
        print(
            f"simulator {sim.base_url}: {len(wallets)} wallets, {len(markets)} markets, {fills} fills; "
            f"{len(requests)} requests, concurrency {args.concurrency}, latency {args.latency_ms} ms\n"
        )
        assert sim.process is not None
        server = psutil.Process(sim.process.pid)
        warm = build_requests(2000, wallets, markets, watermark, args.seed + 1)
        uvloop.run(hammer(sim.base_url, warm, args.concurrency))  # warm-up (connections, row cache)
        cpu0, client0 = server.cpu_times(), time.process_time()
        wall, results = uvloop.run(hammer(sim.base_url, requests, args.concurrency))
        cpu1, client1 = server.cpu_times(), time.process_time()
    print_table(wall, results)
    server_cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    per_request_ms = server_cpu / len(results) * 1000
    print(
        f"server CPU {server_cpu / wall * 100:.0f}% of one core ({per_request_ms:.2f} ms/request, "
        f"so ~{1000 / per_request_ms:.0f} req/s when saturated); client CPU "
        f"{(client1 - client0) / wall * 100:.0f}% of one core"
    )


if __name__ == "__main__":
    main()
