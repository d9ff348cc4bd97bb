"""The daily integrations sync (``sync.integrations.sync_users``) at the production cold limit.

``--users`` users (default 1,000) get 1 to 3 linked wallets each (``wallet_links``, seeded
random, every wallet linked once); the simulator (own process, 50 ms latency) has exactly those
wallets, with small histories. A child process (this script with ``--child``) runs
``sync_users`` for today with the real ``PolymarketClient`` at 5 req/s, burst 10 (the cold
tier, which the integrations asset uses) and reports its own peak RSS; here we count the
requests in the simulator's log.

Targets: duration <= 1.1 x the bound the rate limit sets (requests / rate); requests per
wallet and peak RSS are reported. At 5 req/s, 1,000 users (~2,000 wallets, ~4,000 requests)
take ~14 minutes.

    /work/venv/bin/python bench/integrations_sync.py [--users 1000] [--rate 5] [--burst 10]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchlib import (
    app_database,
    emit_result,
    load_note,
    peak_rss_self_mb,
    run_child,
    simulator_settings,
    table,
    verdict,
    version_note,
)

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import wallets as wallet_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.schema import WalletLink, new_id, table_of
from polymarket_pipeline.db.upsert import bulk_insert
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorProcess
from polymarket_pipeline.sync.integrations import sync_users

TARGET_RATIO = 1.1


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=1000)
    p.add_argument("--rate", type=float, default=5.0)
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--cooldown", type=float, default=5.0)
    p.add_argument("--latency-ms", type=float, default=50.0)
    p.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--seed", type=int, default=9)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    return p.parse_args()


def child(args: argparse.Namespace) -> None:
    settings = simulator_settings(
        args.base_url,
        rate_limit=args.rate,
        burst=args.burst,
        wallet_cooldown_seconds=args.cooldown,
    )
    engine = create_db_engine(args.url)
    with engine.connect() as connection:
        links = wallet_store.links_by_user(connection)

    async def main() -> tuple[dict[str, object], dict[str, int]]:
        async with PolymarketClient(settings) as client:
            summary = await asyncio.wait_for(
                sync_users(client, engine, links, sync_date=datetime.now(UTC).date()), args.timeout
            )
            return summary.as_metadata(), client.stats.snapshot()

    started = time.monotonic()
    meta, api = asyncio.run(main())
    engine.dispose()
    emit_result(
        {
            "summary": meta,
            "api": api,
            "seconds": time.monotonic() - started,
            "peak_rss_mb": peak_rss_self_mb(),
        }
    )


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    rng = random.Random(args.seed)
    per_user = [rng.randint(1, 3) for _ in range(args.users)]
    n_wallets = sum(per_user)
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=n_wallets,
        n_markets=20,
        trades_per_wallet=2,
        latency_ms=args.latency_ms,
        start_time=int(time.time()) - 3600,
    )
    kind = "postgres" if args.postgres else "sqlite"
    with tempfile.TemporaryDirectory(prefix="bench-integ-") as tmp, SimulatorProcess(config) as sim:
        admin = sim.admin
        wallets = iter(admin.wallets())
        now = datetime.now(UTC)
        links = [
            {
                "id": new_id(),
                "user_id": f"user-{u:04d}",
                "chain": "polygon",
                "address": next(wallets),
                "created_at": now,
            }
            for u, n in enumerate(per_user)
            for _ in range(n)
        ]
        with app_database(kind, Path(tmp)) as url:
            engine = create_db_engine(url)
            with engine.begin() as connection:
                bulk_insert(connection, table_of(WalletLink), links)
            engine.dispose()
            admin.clear_requests()
            print(
                f"syncing {args.users} users / {n_wallets} wallets on {kind} at {args.rate:g} req/s ...",
                flush=True,
            )
            argv = [sys.executable, __file__, "--child", "--url", url, "--base-url", sim.base_url]
            argv += ["--rate", str(args.rate), "--burst", str(args.burst), "--cooldown", str(args.cooldown)]
            argv += ["--timeout", str(args.timeout)]
            outcome = run_child(argv, timeout=args.timeout + 120)
            records = admin.requests()
    r = outcome.result
    meta = r["summary"]
    seconds = float(meta["duration_seconds"])
    n = len(records)
    bound = n / args.rate
    ratio = seconds / bound
    routes = Counter(f"{x.api} {x.route}" for x in records)
    statuses = Counter(x.status for x in records)
    print()
    print(
        table(
            ["metric", "value", "target", "verdict"],
            [
                [
                    "users (synced / failed / skipped)",
                    f"{meta['users_succeeded']} / {meta['users_failed']} / {meta['users_skipped']}",
                    "",
                    "",
                ],
                ["wallets", n_wallets, "", ""],
                ["markets rows written", meta["markets_processed"], "", ""],
                ["API requests (simulator log)", n, "", ""],
                ["API requests (client stats)", int(r["api"]["requests"]), "", ""],
                ["requests per wallet", n / n_wallets, "", ""],
                ["429 responses", statuses.get(429, 0), "", ""],
                ["duration, s", seconds, "", ""],
                ["bound = requests / rate, s", bound, "", ""],
                ["duration / bound", ratio, f"<= {TARGET_RATIO}", verdict(ratio <= TARGET_RATIO)],
                ["peak RSS (VmHWM, reported by the child), MB", float(r["peak_rss_mb"]), "", ""],
                ["peak RSS (sampled every 100 ms), MB", outcome.sampled_peak_rss_mb, "", ""],
            ],
            title=(
                f"Integrations sync: {args.users} users, {n_wallets} wallets, rate {args.rate:g} req/s "
                f"burst {args.burst}, simulator latency {args.latency_ms:g} ms, {kind}"
            ),
        )
    )
    print(load_note())
    print(version_note())
    print(f"routes: {dict(routes)}")


if __name__ == "__main__":
    main()
