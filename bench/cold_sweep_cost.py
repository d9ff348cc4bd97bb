"""Data API requests per wallet of the adaptive cold sweep, and whether fills are stored once.

Starts the simulator in its own process (``--wallets`` wallets with small histories), registers
them all (cold) in a fresh application database (PostgreSQL and/or SQLite) and sweeps them the
way ``cold_wallets_job`` does: ``sync.plans.select_wallets(engine, "cold")`` (stalest
first) swept by ``sync.sweep.sweep`` with ``sweep_plan("cold", PolymarketApiResource().verify_every)``, i.e.
``PollPlan(verify_every=12 h)``, through the tier's limiter (``tier_limiter``: shared in
PostgreSQL, in-process on SQLite) at a raised rate (the count of requests does not depend on it).
Requests are counted from the simulator's own request log, per route.

Sweeps, in order:

1. **first**: nothing stored yet: positions, trades and activity of every wallet;
2. **no new activity**: the same wallets again at once. Target: <= 1.2 Data API requests/wallet;
3. **after trades**: ``--trade-share`` of the wallets each take one trade (with 1-2 maker legs
   from other wallets) and ``--closes`` wallets close a position, through ``/_sim``; then a
   sweep. Stored fills are compared with the simulator's ground truth (every fill once);
4. **no new activity** again (back to one request per wallet);
5. **12 h later**: the same sweep with the pipeline's clock moved ``verify_hours`` ahead (the
   ``now`` the sweep is given), when every wallet's verification falls due at once.

Then what the measured costs mean for 15,000 cold wallets an hour at the default cold limit
of 5 req/s (18,000 requests an hour).

    /work/venvs/bench/bin/python bench/cold_sweep_cost.py [--wallets 1000] [--db postgres sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from benchlib import app_database, client_settings, load_note, register_all, table, verdict, version_note

from polymarket_pipeline.api import ApiStats, PolymarketClient
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.schema import TradePublic, table_of
from polymarket_pipeline.defs.resources import PolymarketApiResource, tier_limiter
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestRecord
from polymarket_pipeline.simulator.server import SimulatorAdmin, SimulatorProcess
from polymarket_pipeline.sync.plans import select_wallets, sweep_plan
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep

TARGET_IDLE = 1.2
COLD_WALLETS_PER_HOUR = 15_000
COLD_RATE = 5.0

FillKey = tuple[str, str, str, str, float, float, int]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wallets", type=int, default=1000)
    p.add_argument("--trades-per-wallet", type=int, default=4, help="simulator history per wallet")
    p.add_argument("--markets", type=int, default=40)
    p.add_argument("--db", nargs="+", default=["postgres", "sqlite"], choices=["postgres", "sqlite"])
    p.add_argument("--rate", type=float, default=300.0, help="client rate limit (raised: counts, not speed)")
    p.add_argument("--burst", type=int, default=50)
    p.add_argument("--trade-share", type=float, default=0.05, help="share of wallets that take a trade")
    p.add_argument("--closes", type=int, default=10, help="wallets that close a position")
    p.add_argument("--seed", type=int, default=21)
    return p.parse_args()


@dataclass
class SweepRow:
    db: str
    name: str
    stats: SweepStats
    api: ApiStats
    records: list[RequestRecord]
    seconds: float
    fills_missing: int | None = None
    fills_extra: int | None = None
    fills_truth: int | None = None

    @property
    def data_requests(self) -> int:
        return sum(1 for r in self.records if r.api == "data")

    def per_wallet(self) -> float:
        return self.data_requests / max(1, self.stats.wallets_total)


def run_sweep(url: str, settings: Any, now: Callable[[], datetime]) -> tuple[SweepStats, ApiStats]:
    engine = create_db_engine(url)
    api = ApiStats()
    resource = PolymarketApiResource()
    try:
        wallets = select_wallets(engine, "cold", now=now())
        limiter = tier_limiter(engine, "cold", settings)

        async def main() -> SweepStats:
            async with PolymarketClient(settings, stats=api, limiter=limiter) as client:
                options = SweepOptions(plan=sweep_plan("cold", resource.verify_every))
                return await sweep(client, engine, wallets, options=options, now=now)

        return asyncio.run(main()), api
    finally:
        engine.dispose()


def stored_fills(url: str) -> Counter[FillKey]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            t = table_of(TradePublic)
            rows = connection.execute(
                sa.select(t.c.wallet_address, t.c.transaction_hash, t.c.asset, t.c.side, t.c.size,
                          t.c.price, t.c.traded_at)
            ).all()  # fmt: skip
    finally:
        engine.dispose()
    return Counter(
        (w, tx.lower(), asset, side, float(size), float(price), int(at.timestamp()))
        for w, tx, asset, side, size, price, at in rows
    )


def truth_fills(admin: SimulatorAdmin) -> Counter[FillKey]:
    return Counter(
        (f["wallet"], f["transaction_hash"].lower(), f["asset"], f["side"], float(f["size"]),
         float(f["price"]), int(f["timestamp"]))
        for f in admin.truth()["fills"]
    )  # fmt: skip


def make_activity(
    admin: SimulatorAdmin, wallets: list[str], share: float, closes: int, rng: random.Random
) -> tuple[int, int]:
    """Trades by ``share`` of the wallets (each with 1-2 makers) and ``closes`` manual closes."""
    markets = [m for m in admin.markets() if not m["closed"]]
    takers = rng.sample(wallets, max(1, int(len(wallets) * share)))
    fills = 0
    now = int(time.time())
    for taker in takers:
        market = rng.choice(markets)
        idx = rng.randrange(2)
        price = round(min(0.95, max(0.05, float(market["last_prices"][idx]))), 2)
        makers = rng.sample([w for w in wallets if w != taker], rng.randint(1, 2))
        fills += len(admin.inject_trade(taker, market["token_ids"][idx], "BUY", rng.randint(5, 50), price,
                                        makers=makers, timestamp=now - 60))  # fmt: skip
    closed = 0
    open_markets = {m["condition_id"] for m in markets}
    positions = [
        p
        for p in admin.truth()["positions"]
        if p["size"] >= 1 and p["wallet"] not in takers and p["condition_id"] in open_markets
    ]
    for position in rng.sample(positions, min(closes, len(positions))):
        closed += bool(admin.close_position(position["wallet"], position["asset"], timestamp=now - 30))
    return fills, closed


def sweep_into(
    rows: list[SweepRow], db: str, name: str, sim: SimulatorProcess, url: str, settings: Any,
    shift: timedelta = timedelta(0),
) -> SweepRow:  # fmt: skip
    print(f"[{db}] sweep: {name} ...", flush=True)
    since = time.time()
    started = time.monotonic()
    stats, api = run_sweep(url, settings, lambda: datetime.now(UTC) + shift)
    seconds = time.monotonic() - started
    records = [r for r in sim.admin.requests(since=since) if r.api != "_sim"]
    row = SweepRow(db, name, stats, api, records, seconds)
    rows.append(row)
    return row


def main() -> None:
    args = parse_args()
    config = SimulatorConfig(
        seed=args.seed,
        n_wallets=args.wallets,
        n_markets=args.markets,
        trades_per_wallet=args.trades_per_wallet,
        start_time=int(time.time()) - 3 * 3600,
    )
    verify_hours = PolymarketApiResource().verify_hours
    rows: list[SweepRow] = []
    activity_notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
        for db in args.db:
            # a fresh simulator per database: the injected trades must not carry over
            with SimulatorProcess(config) as sim, app_database(db, Path(tmp)) as url:
                wallets = sim.admin.wallets()
                register_all(url, wallets)
                settings = client_settings(
                    sim, rate_limit=args.rate, burst=args.burst, wallet_cooldown_seconds=0.0
                )
                sweep_into(rows, db, "1 first (nothing stored)", sim, url, settings)
                sweep_into(rows, db, "2 no new activity", sim, url, settings)
                rng = random.Random(args.seed)  # the same activity on every database
                fills, closed = make_activity(sim.admin, wallets, args.trade_share, args.closes, rng)
                activity_notes.append(
                    f"{db}: before sweep 3, {int(len(wallets) * args.trade_share)} wallets took a trade "
                    f"({fills} fills with their maker legs) and {closed} wallets closed a position"
                )
                row = sweep_into(rows, db, "3 after trades and closes", sim, url, settings)
                truth, stored = truth_fills(sim.admin), stored_fills(url)
                row.fills_truth = sum(truth.values())
                row.fills_missing = sum((truth - stored).values())
                row.fills_extra = sum((stored - truth).values())
                sweep_into(rows, db, "4 no new activity", sim, url, settings)
                sweep_into(
                    rows, db, f"5 {verify_hours:g} h later (verification due)", sim, url, settings,
                    shift=timedelta(hours=verify_hours, minutes=1),
                )  # fmt: skip

    print()
    table_rows: list[list[object]] = []
    for r in rows:
        routes = Counter(r.route for r in r.records if r.api == "data")
        is_idle = r.name.endswith("no new activity")
        table_rows.append(
            [
                r.db,
                r.name,
                r.stats.wallets_polled,
                r.stats.wallets_failed,
                r.stats.wallets_verified,
                routes["/v2/positions"],
                routes["/v2/trades"],
                routes["/v2/activity"],
                r.data_requests,
                r.per_wallet(),
                f"<= {TARGET_IDLE:g}" if is_idle else "",
                verdict(r.per_wallet() <= TARGET_IDLE) if is_idle else "",
                sum(1 for x in r.records if x.api != "data"),
                r.stats.trades_inserted,
                r.seconds,
            ]
        )
    print(
        table(
            [
                "db",
                "sweep",
                "polled",
                "failed",
                "verified",
                "/v2/positions",
                "/v2/trades",
                "/v2/activity",
                "Data API req",
                "req/wallet",
                "target",
                "verdict",
                "CLOB+Gamma req",
                "fills inserted",
                "s",
            ],
            table_rows,
            title=(
                f"Adaptive cold sweep of {args.wallets:,} wallets "
                f"(PollPlan(verify_every={verify_hours:g} h)), requests from the simulator's log, "
                f"client at {args.rate:g} req/s"
            ),
        )
    )
    for note in activity_notes:
        print(note)
    for r in rows:
        if r.fills_truth is not None:
            ok = r.fills_missing == 0 and r.fills_extra == 0
            print(
                f"{r.db}: after sweep 3, trades_public vs the simulator's ground truth: "
                f"{r.fills_truth:,} fills in the truth, {r.fills_missing} missing, {r.fills_extra} extra "
                "-> every fill stored once: "
                f"{verdict(ok)}"
            )

    # what it means for 15,000 wallets an hour at 5 req/s
    budget = COLD_RATE * 3600
    print()
    idle = max(r.per_wallet() for r in rows if r.name.endswith("no new activity"))
    verify = max(r.per_wallet() for r in rows if "verification due" in r.name)
    third = [r for r in rows if r.name.startswith("3")]
    after = max(r.per_wallet() for r in third)
    changed = max(r.stats.wallets_verified / max(1, r.stats.wallets_polled) for r in third)
    amortized = ((verify_hours - 1) * idle + verify) / verify_hours
    plan_rows: list[list[object]] = []
    for label, per_wallet in [
        ("no new activity (measured)", idle),
        (f"after trades: {changed:.0%} of wallets changed (measured)", after),
        (f"every wallet verified ({verify_hours:g} h later, measured)", verify),
        (f"amortized: 1 verification sweep in {verify_hours:g}, the rest idle", amortized),
    ]:
        needed = COLD_WALLETS_PER_HOUR * per_wallet
        plan_rows.append(
            [
                label,
                per_wallet,
                needed,
                needed / COLD_RATE / 60,
                verdict(needed <= budget),
                budget / per_wallet,
            ]
        )
    print(
        table(
            ["15,000 cold wallets per hour at 5 req/s", "req/wallet", "requests", "minutes", "fits in 1 h",
             "wallets/h at 5 req/s"],
            plan_rows,
            title=f"Budget: {COLD_RATE:g} req/s x 3,600 s = {budget:,.0f} requests an hour",
        )
    )  # fmt: skip
    per_changed = 2.0  # a changed wallet re-reads /trades and /activity (measured above: 3 in all)
    share = (budget / COLD_WALLETS_PER_HOUR - idle) / per_changed
    print(
        f"Break-even: with {idle:.2f} req/wallet idle and 2 more per changed wallet, 15,000 wallets fit in "
        f"the hour while at most {share:.1%} of them changed since the last sweep. Verification is "
        "synchronized: wallets first swept together fall due together, so that sweep costs "
        f"{verify:.2f} req/wallet ({COLD_WALLETS_PER_HOUR * verify / COLD_RATE / 3600:.1f} h at 5 req/s) "
        "unless verification is spread (see the report)."
    )
    print(load_note())
    print(version_note())


if __name__ == "__main__":
    main()
