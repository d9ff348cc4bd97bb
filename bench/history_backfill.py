"""Histories bigger than one walk: sweeps and requests needed per 100,000 fills of history.

Starts the simulator (in a thread: the ground truth is read from its model) with one heavy
wallet (``--settlements`` taker settlements: over that many fills, and as many TRADE activity
rows) plus a few ordinary ones,
registers the heavy wallet in a fresh application database (SQLite; with ``--postgres`` also
PostgreSQL), and runs cold sweeps (as the hourly schedule does: positions first, then the history
phase) until its history is complete. Prints, per database: sweeps, Data API requests, requests
per 100,000 fills, the history phase's pages per sweep, and whether every fill was stored once
(compared with the simulator's ground truth).

The budget is the cold sweep's: ``--share`` of the sweep's own requests, at least ``--min-pages``
per sweep. With one wallet the floor sets it; a deployment of thousands of wallets gives the
share more to work with.

    .venv/bin/python bench/history_backfill.py [--settlements 250000] [--postgres] [--min-pages 50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from benchlib import app_database, load_note, register_all, simulator_settings, table, verdict, version_note

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.db import history as history_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.history import HistoryOptions
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan

MAX_SWEEPS = 50


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settlements", type=int, default=250_000, help="the heavy wallet's taker settlements")
    p.add_argument("--share", type=float, default=0.25, help="history share of a sweep's requests")
    p.add_argument("--min-pages", type=int, default=50, help="history pages per sweep at least")
    p.add_argument("--rate", type=float, default=50.0, help="client rate limit, req/s")
    p.add_argument("--latency-ms", type=float, default=0.0, help="simulator latency on every request")
    p.add_argument("--postgres", action="store_true", help="also run on a throwaway PostgreSQL database")
    p.add_argument("--seed", type=int, default=5)
    return p.parse_args()


async def one_sweep(
    settings: ClientSettings, url: str, wallet: str, history: HistoryOptions
) -> tuple[SweepStats, int]:
    engine = create_db_engine(url)
    try:
        async with PolymarketClient(settings) as client:
            options = SweepOptions(plan=PollPlan(verify_every=timedelta(hours=12)), history=history)
            stats = await sweep(client, engine, [wallet], options=options)
            return stats, client.stats.requests
    finally:
        engine.dispose()


def stored(url: str, wallet: str) -> tuple[int, bool]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                sa.text("SELECT count(*) FROM trades_public WHERE wallet_address = :w"), {"w": wallet}
            ).scalar_one()
            found = history_store.wallet_history(connection, wallet)
        return int(count), bool(found and found.complete)
    finally:
        engine.dispose()


def main() -> None:
    args = parse_args()
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=3,
        n_markets=30,
        history_days=90,
        trades_per_wallet=3,
        heavy_wallet_settlements=args.settlements,
        latency_ms=args.latency_ms,
        edge_cache_seconds=0.0,
    )
    kinds = ["sqlite", "postgres"] if args.postgres else ["sqlite"]
    history = HistoryOptions(share=args.share, min_pages=args.min_pages)
    rows: list[list[object]] = []
    print(f"building the simulator's history ({args.settlements} heavy settlements) ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp, SimulatorServer(config) as sim:
        wallet = sim.model.wallets[0]
        truth = sum(1 for f in sim.model.ground_truth()["fills"] if f["wallet"] == wallet)
        settings = simulator_settings(
            sim.base_url, rate_limit=args.rate, burst=int(args.rate), wallet_cooldown_seconds=0.0
        )
        for kind in kinds:
            with app_database(kind, Path(tmp)) as url:
                register_all(url, [wallet])
                requests = 0
                pages: list[int] = []
                began = time.monotonic()
                complete = False
                sweeps = 0
                while not complete and sweeps < MAX_SWEEPS:
                    stats, sent = asyncio.run(one_sweep(settings, url, wallet, history))
                    sweeps += 1
                    requests += sent
                    pages.append(stats.history.pages)
                    count, complete = stored(url, wallet)
                    print(f"[{kind}] sweep {sweeps}: {count} of {truth} fills, {sent} requests", flush=True)
                elapsed = time.monotonic() - began
                count, complete = stored(url, wallet)
                rows.append(
                    [
                        kind,
                        truth,
                        sweeps,
                        requests,
                        round(requests / truth * 100_000, 1),
                        round(sweeps / truth * 100_000, 2),
                        " ".join(map(str, pages)),
                        round(elapsed, 1),
                        verdict(complete and count == truth),
                    ]
                )
    print()
    print(
        table(
            [
                "db",
                "fills",
                "sweeps",
                "requests",
                "req per 100k fills",
                "sweeps per 100k fills",
                "history pages per sweep",
                "seconds",
                "complete, each fill once",
            ],
            rows,
            title=(
                f"History backfill: one wallet, {args.settlements} heavy settlements, cold sweeps with "
                f"history share {args.share:g} (floor {args.min_pages} pages), {args.rate:g} req/s, "
                f"simulator latency {args.latency_ms:g} ms"
            ),
        )
    )
    print(
        "requests include each sweep's regular polls (positions, trades and activity since the "
        "watermarks) and the walks' boundary re-reads; activity is read back as well as fills."
    )
    print(load_note())
    print(version_note())


if __name__ == "__main__":
    main()
