"""Simulator throughput measured with wrk (a C load generator), so the client is not the limit.

``bench/simulator_throughput.py`` drives the simulator from Python and tops out near the
client's own CPU cost (~0.7 ms/request). This script starts the simulator out of process and
runs ``wrk`` (``apt-get install wrk``) against three representative routes for a bounded time.
Target: >= 1,000 req/s on every route.

    python bench/simulator_wrk.py [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorProcess


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+(\S+)", out)
    return rate, p50.group(1) if p50 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    # The origin's own throughput: no edge cache (identical URLs would all be cache hits).
    config = SimulatorConfig(seed=1, n_wallets=200, n_markets=40, edge_cache_seconds=0)
    with SimulatorProcess(config) as sim:
        wallet = sim.admin.wallets()[0]
        page = f"user={wallet}&taker_only=false&start=1&limit=100"
        routes = {
            "v2 /trades (global feed, idle poll)": f"{sim.data_api_url}/v2/trades?limit=1",
            "v2 /trades?user (100-row page)": f"{sim.data_api_url}/v2/trades?{page}",
            "v2 /positions?user (all pages)": f"{sim.data_api_url}/v2/positions?user={wallet}&limit=1000",
            "clob /markets/{id}": f"{sim.clob_api_url}/markets/{sim.admin.markets()[0]['condition_id']}",
        }  # fmt: skip
        print(f"{'route':42} {'req/s':>9} {'p50':>9}")
        for label, url in routes.items():
            rate, p50 = wrk(url, args.seconds, args.connections)
            print(f"{label:42} {rate:9.0f} {p50:>9}")
        sim.admin.set_edge_cache(seconds=300)  # the live default: a repeated feed URL is an edge hit
        rate, p50 = wrk(routes["v2 /trades?user (100-row page)"], args.seconds, args.connections)
        print(f"{'v2 /trades?user (100 rows, edge cache hit)':42} {rate:9.0f} {p50:>9}")


if __name__ == "__main__":
    main()
