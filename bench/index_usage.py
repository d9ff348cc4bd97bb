"""Every index justified: which query of the package uses each index, read from PostgreSQL's plans at scale.

Loads ``--trades`` fills (default 10M) and the other tables in proportion into a fresh PostgreSQL
database (``bench/synthetic.py``, ``COPY``; or ``--url`` of a database loaded before), then calls
the package's own query functions with realistic arguments while recording every statement they
send (SQLAlchemy ``before_cursor_execute``), rolls their writes back, and replays each statement
under ``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`` in the same order (writes inside a transaction
that is rolled back). From the plans it lists, per call site, the indexes used, the sequential
scans and the time; then, per index of ``trades_public``, ``activity_public``,
``positions_current``, ``positions_closed``, ``position_events``, ``wallet_poll_state`` and
``external_markets``, the call sites that use it (as a scan or as an ``ON CONFLICT`` arbiter),
its size, and a verdict: keep (something uses it) or drop (nothing does).

Then, in the same throwaway database, it measures what the unused indexes cost: per-wallet upsert
throughput of ``trades_public`` and ``positions_current`` writes with and without them, and the
space they take. ``--candidates`` lists indexes to try for statements that scan (created, the
statement re-explained, dropped again).

    /work/venvs/bench/bin/python bench/index_usage.py [--trades 10000000] [--url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import synthetic
from benchlib import (
    create_pg_database,
    drop_pg_database,
    load_note,
    migrate_url,
    percentile,
    table,
    version_note,
)
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from polymarket_pipeline.db import activity as activity_store
from polymarket_pipeline.db import integrations as integration_store
from polymarket_pipeline.db import markets as market_store
from polymarket_pipeline.db import positions as position_store
from polymarket_pipeline.db import quality, runs, state
from polymarket_pipeline.db import wallets as wallet_store
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.trades import advance_watermark, upsert_trades
from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.portfolio import UserMarket
from polymarket_pipeline.domain.reconcile import (
    ACTIVITY_REASONS,
    CloseReason,
    EventType,
    PositionChange,
    StoredPosition,
)
from polymarket_pipeline.domain.records import Activity, Fill, Position
from polymarket_pipeline.queries import get_user_markets
from polymarket_pipeline.sync.plans import select_wallets

TABLES = (
    "trades_public",
    "activity_public",
    "positions_current",
    "positions_closed",
    "position_events",
    "wallet_poll_state",
    "external_markets",
)
_INDEX_NODE = re.compile(r"Index")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trades", type=int, default=10_000_000)
    p.add_argument("--url", help="a database loaded by an earlier --keep run (with its --now); not dropped")
    p.add_argument("--now", type=int, help="the epoch second the --url database was generated at")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--write-runs", type=int, default=1_000, help="per-wallet transactions timed per case")
    p.add_argument("--candidates", nargs="*", default=None, help="CREATE INDEX statements to try")
    p.add_argument("--keep", action="store_true", help="keep the loaded database (prints its URL)")
    return p.parse_args()


# ----------------------------------------------------------------------------- capture and explain
@dataclass
class Captured:
    statement: str
    parameters: Any


@dataclass
class Site:
    """One place in the package that queries the database, with how often it runs."""

    name: str
    when: str
    run: Callable[[Connection], Any]
    own_connection: bool = False
    """The function opens its own connection (``get_user_markets``, ``select_wallets``)."""


@dataclass
class Explained:
    site: str
    when: str
    statement: str
    indexes: list[tuple[str, str]] = field(default_factory=list)
    """(index, how: the plan node type or ``ON CONFLICT arbiter``)."""
    seq_scans: list[tuple[str, int]] = field(default_factory=list)
    """(table, rows read)."""
    ms: float = 0.0


class Recorder:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.captured: list[Captured] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._hook)

    def _hook(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if not self.on:
            return
        head = statement.lstrip().split(None, 1)[0].upper()
        if head not in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            return  # BEGIN, SET, SAVEPOINT, EXPLAIN itself
        params = parameters[0] if executemany and isinstance(parameters, list | tuple) else parameters
        self.captured.append(Captured(statement, params))

    def record(self, site: Site) -> list[Captured]:
        self.captured = []
        self.on = True
        try:
            if site.own_connection:
                site.run(None)  # type: ignore[arg-type]
            else:
                with self.engine.connect() as connection:
                    transaction = connection.begin()
                    try:
                        site.run(connection)
                    finally:
                        transaction.rollback()
        finally:
            self.on = False
        return self.captured


def _walk(node: dict[str, Any], out: Explained) -> None:
    kind = node.get("Node Type", "")
    if "Index Name" in node:
        out.indexes.append((node["Index Name"], kind))
    if kind == "Seq Scan":
        rows = int(node.get("Actual Rows", 0)) + int(node.get("Rows Removed by Filter", 0))
        out.seq_scans.append(
            (node.get("Relation Name", "?"), rows * max(1, int(node.get("Actual Loops", 1))))
        )
    for arbiter in node.get("Conflict Arbiter Indexes", []) or []:
        out.indexes.append((arbiter, "ON CONFLICT arbiter"))
    for child in node.get("Plans", []) or []:
        _walk(child, out)


def explain(engine: Engine, site: Site, captured: list[Captured]) -> list[Explained]:
    """Replay the site's statements under EXPLAIN ANALYZE in order, then roll everything back."""
    results = []
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            for c in captured:
                raw = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
                raw.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + c.statement, c.parameters or None)
                plan = raw.fetchone()[0]
                if isinstance(plan, str):
                    plan = json.loads(plan)
                top = plan[0]
                out = Explained(site.name, site.when, " ".join(c.statement.split())[:90])
                _walk(top["Plan"], out)
                out.ms = float(top.get("Execution Time", 0.0)) + float(top.get("Planning Time", 0.0))
                results.append(out)
        finally:
            transaction.rollback()
    return results


# ----------------------------------------------------------------------------- the package's call sites
def _fill(
    wallet: str, m: synthetic.Market, asset: str, side: str, size: float, price: float, at: int, tx: str,
    condition_id: str | None = None,
) -> Fill:  # fmt: skip
    return Fill(
        wallet_address=wallet, side=side, asset=asset, condition_id=condition_id or m.condition_id,
        size=size, price=price, timestamp=at, transaction_hash=tx, title=m.title, slug=m.slug,
        event_slug=m.event_slug, outcome="Yes", outcome_index=0,
    )  # fmt: skip


def sites(engine: Engine, u: synthetic.Universe, rng: random.Random) -> list[Site]:
    counts = u.fills_per_wallet
    traders = [w for w, c in zip(u.wallets, counts, strict=True) if c > 0]
    by_count = sorted((int(c), w) for w, c in zip(u.wallets, counts, strict=True) if c > 0)
    typical = by_count[len(by_count) // 2][1]
    whale = u.wallets[int(counts.argmax())]
    now = datetime.fromtimestamp(u.now, tz=UTC)
    market = u.markets[0]
    with engine.connect() as connection:
        held = connection.execute(
            sa.text("SELECT asset, condition_id, size FROM positions_current WHERE wallet_address = :w"),
            {"w": whale},
        ).all()
        existing = connection.execute(
            sa.text(
                "SELECT wallet_address, condition_id, asset, side, size, price, traded_at, transaction_hash "
                "FROM trades_public WHERE wallet_address = :w ORDER BY traded_at DESC LIMIT 5"
            ),
            {"w": typical},
        ).all()
    scope = rng.sample(traders, 10)

    def fills(wallet: str) -> list[Any]:
        new = [
            _fill(
                wallet,
                market,
                market.tokens[0],
                "BUY",
                10.0 + i,
                0.5,
                u.now - 60,
                f"0x{rng.getrandbits(256):064x}",
            )
            for i in range(10)
        ]
        seen = [
            _fill(r.wallet_address, market, r.asset, r.side, r.size, r.price, int(r.traded_at.timestamp()),
                  r.transaction_hash, condition_id=r.condition_id)
            for r in existing
        ]  # fmt: skip
        return key_fills(new + seen)

    def poll_writes(connection: Connection) -> None:
        """What one wallet's poll writes: fills, watermark, activity, snapshot with a close."""
        upsert_trades(connection, fills(typical), now)
        advance_watermark(connection, typical, now, now)
        tx = f"0x{rng.getrandbits(256):064x}"
        rows = [
            Activity(wallet_address=typical, type="REDEEM", timestamp=u.now - 30,
                     condition_id=market.condition_id, transaction_hash=tx, size=5.0, usdc_size=5.0,
                     price=0.0, asset=market.tokens[0])
        ]  # fmt: skip
        activity_store.upsert_activity(connection, key_activity(rows), now)
        activity_store.advance_activity_watermark(connection, typical, now, now)
        snapshot = position_store.load_snapshot(connection, whale)
        position_store.claim_snapshot(connection, whale, snapshot.taken_at, now)
        current = [
            Position(wallet_address=whale, asset=a, condition_id=c, size=s + 1.0) for a, c, s in held[1:]
        ]
        changes = [PositionChange(a, c, EventType.INCREASED, s, s + 1.0) for a, c, s in held[1:]]
        gone = held[0]
        closes = [
            (StoredPosition(gone[0], gone[1], gone[2]),
             PositionChange(gone[0], gone[1], EventType.CLOSED, gone[2], 0.0, CloseReason.MANUAL_CLOSE))
        ]  # fmt: skip
        position_store.write_snapshot(connection, whale, current, changes, closes, now)
        state.mark_verified(connection, typical, now)
        state.record_failure(connection, typical, "HTTP 502", now)

    def user_sync(connection: Connection) -> None:
        markets = [
            UserMarket(u.users[0], m.tokens[0], m.condition_id, m.title, "Politics", [], "Yes", 1.0, 0.5, 0.5,
                       0.0, False, 1)
            for m in u.markets[:12]
        ]  # fmt: skip
        integration_store.write_user_sync(
            connection, user_id=u.users[0], source="polymarket", sync_date=now.date(), fetched_at=now,
            payload={"positions": []}, markets=markets, run_id=None,
        )  # fmt: skip

    today = now.date()
    by_wallet = "SELECT * FROM positions_current WHERE wallet_address = :w"
    last_100 = "SELECT * FROM trades_public WHERE wallet_address = :w ORDER BY traded_at DESC LIMIT 100"
    per_poll = "every poll"
    sensor = "sensor report (30 s)"
    out = [
        Site("get_user_markets(user_id)", "user query", lambda _: get_user_markets(u.users[1], engine=engine),
             own_connection=True),
        Site("a wallet's open positions", "user query",
             lambda c: c.execute(sa.text(by_wallet), {"w": typical}).all()),
        Site("a wallet's last 100 trades (a whale)", "user query",
             lambda c: c.execute(sa.text(last_100), {"w": whale}).all()),
        Site("poll: cursors (watermarks, last verified)", per_poll,
             lambda c: (state.watermark(c, typical), activity_store.activity_watermark(c, typical),
                        state.last_verified(c, typical))),
        Site("poll: positions.load_snapshot (a whale)", per_poll,
             lambda c: position_store.load_snapshot(c, whale)),
        Site("poll: activity.activity_since (a close)", "poll with a close",
             lambda c: activity_store.activity_since(c, whale, now - timedelta(hours=2),
                                                     list(ACTIVITY_REASONS))),
        Site("poll: writes (fills, watermarks, activity, snapshot + close)", "poll that changed",
             poll_writes),
        Site("market cache lookup", "unlabeled fills, closes",
             lambda c: market_store.load_fresh(c, [m.condition_id for m in u.markets[:20]], now=now,
                                               max_age=timedelta(hours=1))),
        Site("select_wallets(cold)", "each cold sweep (shard)",
             lambda _: select_wallets(engine, "cold", now=now), own_connection=True),
        Site("select_wallets(hot)", "hot_wallets_job", lambda _: select_wallets(engine, "hot", now=now),
             own_connection=True),
        Site("hot cycle: state.stalest_hot(10)", "every hot cycle (1 s)", lambda c: state.stalest_hot(c, 10)),
        Site("hot registry: active + hot wallets", "sensor, every 30 s",
             lambda c: (wallet_store.active_wallets(c), wallet_store.hot_wallets(c))),
        Site("check hot_wallets_fresh", "sensor, every minute",
             lambda c: state.polled_before(c, wallet_store.hot_wallets(c), now - timedelta(hours=1))),
        Site("check no_duplicate_fills (3 days)", f"{sensor}, after sweeps",
             lambda c: quality.near_duplicate_fills(c, now - timedelta(days=3))),
        Site("check positions_consistent (all)", "after each cold sweep",
             lambda c: quality.inconsistent_positions(c, None)),
        Site("check positions_consistent (10 wallets)", sensor,
             lambda c: quality.inconsistent_positions(c, scope)),
        Site("check cold_sweep_recent", f"{sensor}, after sweeps",
             lambda c: runs.last_finished(c, "cold_sweep")),
        Site("totals: quality.row_count x 4", "after each cold sweep",
             lambda c: [quality.row_count(c, t) for t in quality.TABLES]),
        Site("integrations: synced_users(today)", "each integrations run",
             lambda c: integration_store.synced_users(c, "polymarket", today)),
        Site("integrations: links_by_user", "each integrations run", lambda c: wallet_store.links_by_user(c)),
        Site("integrations: write_user_sync", "each user synced", user_sync),
    ]  # fmt: skip
    return out


# ----------------------------------------------------------------------------- indexes and their cost
def table_indexes(engine: Engine) -> list[tuple[str, str, str, int, bool]]:
    """(table, index, definition, bytes, backs a constraint) for the tables this brief covers."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT i.tablename, i.indexname, i.indexdef, pg_relation_size(quote_ident(i.indexname)), "
                "EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) "
                "FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(:t) "
                "ORDER BY i.tablename, i.indexname"
            ),
            {"t": list(TABLES)},
        ).all()
    return [(r[0], r[1], r[2], int(r[3]), bool(r[4])) for r in rows]


def write_rate(engine: Engine, u: synthetic.Universe, runs_: int, seed: int) -> dict[str, float]:
    """Per-wallet transactions like a poll's: 10 new fills; a snapshot of 10 positions re-written."""
    rng = random.Random(f"{seed}-{time.time_ns()}")  # new fills even in a database written before
    now = datetime.now(UTC)
    traders = [w for w, c in zip(u.wallets, u.fills_per_wallet, strict=True) if c > 0]
    out: dict[str, float] = {}
    elapsed, rows = 0.0, 0
    for _ in range(runs_):
        wallet = rng.choice(traders)
        m = rng.choice(u.markets)
        keyed = key_fills(
            _fill(wallet, m, m.tokens[0], "BUY", 1.0 + i, 0.5, u.now - 60, f"0x{rng.getrandbits(256):064x}")
            for i in range(10)
        )
        started = time.perf_counter()
        with engine.begin() as connection:
            rows += upsert_trades(connection, keyed, now)
        elapsed += time.perf_counter() - started
    out["trades_public: 10 new fills per txn, rows/s"] = rows / elapsed
    elapsed, rows = 0.0, 0
    for _ in range(3):  # a backfill or a big first poll: the COPY path
        batch = []
        for wallet in rng.sample(traders, 1000):
            m = rng.choice(u.markets)
            batch += [
                _fill(
                    wallet,
                    m,
                    m.tokens[i % 2],
                    "BUY",
                    1.0 + i,
                    0.5,
                    u.now - 60,
                    f"0x{rng.getrandbits(256):064x}",
                )
                for i in range(20)
            ]
        keyed_batch = key_fills(batch)
        started = time.perf_counter()
        with engine.begin() as connection:
            rows += upsert_trades(connection, keyed_batch, now)
        elapsed += time.perf_counter() - started
    out["trades_public: 20,000 new fills per txn (COPY), rows/s"] = rows / elapsed
    elapsed, rows = 0.0, 0
    latencies = []
    for _ in range(runs_):
        wallet = rng.choice(traders)
        positions = [
            Position(
                wallet_address=wallet, asset=m.tokens[0], condition_id=m.condition_id, size=rng.uniform(1, 99)
            )
            for m in rng.sample(u.markets, 10)
        ]
        changes = [PositionChange(p.asset, p.condition_id, EventType.OPENED, 0.0, p.size) for p in positions]
        started = time.perf_counter()
        with engine.begin() as connection:
            position_store.write_snapshot(connection, wallet, positions, changes, [], now)
        took = time.perf_counter() - started
        elapsed += took
        latencies.append(1000 * took)
        rows += len(positions)
    out["positions_current + position_events: 10 positions per txn, rows/s"] = rows / elapsed
    out["write_snapshot p95 ms"] = percentile(latencies, 95)
    return out


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    rng = random.Random(args.seed)
    name = None
    if args.url:
        if args.now is None:
            raise SystemExit("--url needs --now (printed by the --keep run that loaded it)")
        url = args.url
        u = synthetic.universe(synthetic.Shape(args.trades), args.seed, args.now)
        u.fills_per_wallet = fills_per_wallet(url, u)
    else:
        name, url = create_pg_database()
    try:
        if name:
            migrate_url(url)
            print(f"loading {args.trades:,} fills with COPY ...", flush=True)
            started = time.monotonic()
            u, _ = synthetic.load(url, args.trades, seed=args.seed, log=lambda s: print(s, flush=True))
            print(f"loaded in {time.monotonic() - started:.0f} s", flush=True)
        engine = create_db_engine(url, statement_timeout_ms=0)
        recorder = Recorder(engine)
        explained: list[Explained] = []
        for site in sites(engine, u, rng):
            captured = recorder.record(site)
            explained += explain(engine, site, captured)
        report(engine, explained)
        if args.candidates:
            try_candidates(engine, u, rng, args.candidates, recorder)
        unused = [
            (t, i) for t, i, _, _, constraint in table_indexes(engine)
            if not constraint
            and not any(i == name_ for e in explained if justifies(e) for name_, _ in e.indexes)
        ]  # fmt: skip
        write_cost(engine, u, args, unused)
        engine.dispose()
    finally:
        if args.keep:
            print(f"kept {url} (--now {u.now})")
        elif name:
            drop_pg_database(name)
    print(f"total runtime {(time.monotonic() - began) / 60:.1f} min")
    print(load_note())
    print(version_note())


def fills_per_wallet(url: str, u: synthetic.Universe) -> Any:
    """Fills per wallet of a database loaded earlier (what ``synthetic.load`` counted as it went)."""
    import numpy as np

    engine = create_db_engine(url, statement_timeout_ms=0)
    with engine.connect() as connection:
        counts = dict(
            connection.execute(sa.text("SELECT wallet_address, count(*) FROM trades_public GROUP BY 1")).all()
        )
    engine.dispose()
    return np.array([counts.get(w, 0) for w in u.wallets], dtype=np.int64)


def report(engine: Engine, explained: list[Explained]) -> None:
    rows: list[list[object]] = []
    for e in explained:
        rows.append(
            [
                e.site,
                e.statement,
                ", ".join(sorted({f"{i} ({how})" for i, how in e.indexes})) or "-",
                ", ".join(f"{t} ({n:,} rows)" for t, n in e.seq_scans) or "-",
                e.ms,
            ]
        )
    print()
    print(
        table(
            ["call site", "statement", "indexes used", "sequential scans", "ms"],
            rows,
            title="EXPLAIN (ANALYZE) of every statement the package's call sites send (writes rolled back)",
        )
    )
    print()
    index_rows: list[list[object]] = []
    for tbl, index, definition, size, constraint in table_indexes(engine):
        users = sorted(
            {
                f"{e.site} [{_how(how)}]"
                for e in explained
                for i, how in e.indexes
                if i == index and justifies(e)
            }
        )
        counted = any(i == index for e in explained if not justifies(e) for i, _ in e.indexes)
        verdict_ = "keep" if users else ("keep (constraint)" if constraint else "DROP: nothing uses it")
        index_rows.append(
            [tbl, index, definition.split(" USING btree ")[-1], size / 2**20, "; ".join(users) or "-",
             "yes" if counted else "", verdict_]
        )  # fmt: skip
    print(
        table(
            ["table", "index", "columns", "MB", "used by", "count(*) picked it", "verdict"],
            index_rows,
            title="Every index (the totals' count(*) scans the smallest index: no reason to keep one)",
        )
    )


def justifies(e: Explained) -> bool:
    """``count(*)`` (the sweep's totals) scans whichever index is smallest: any index or the heap will do."""
    return not e.site.startswith("totals")


def _how(node: str) -> str:
    return "arbiter" if "arbiter" in node else node.replace(" Scan", "").lower()


def try_candidates(
    engine: Engine, u: synthetic.Universe, rng: random.Random, candidates: list[str], recorder: Recorder
) -> None:
    print()
    for statement in candidates:
        match = re.search(r"INDEX\s+(\w+)", statement, re.IGNORECASE)
        index = match.group(1) if match else "?"
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ANALYZE")
        try:
            after: list[Explained] = []
            for site in sites(engine, u, rng):
                after += explain(engine, site, recorder.record(site))
            users = sorted({e.site for e in after for i, _ in e.indexes if i == index})
            print(f"candidate {statement}: used by {users or 'nothing'}")
            for e in after:
                if e.site in users:
                    print(f"  {e.site}: {e.ms:.2f} ms, scans {e.seq_scans or '-'}")
        finally:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")


def write_cost(
    engine: Engine, u: synthetic.Universe, args: argparse.Namespace, unused: list[tuple[str, str]]
) -> None:
    """Per-wallet write throughput with every index, then without the unused ones."""
    if not unused:
        return
    print()
    indexes = {i: (d, s) for _, i, d, s, _ in table_indexes(engine)}
    with_all: list[dict[str, float]] = []
    without: list[dict[str, float]] = []
    for attempt in range(2):  # A/B twice: the machine is shared, its speed drifts
        with_all.append(write_rate(engine, u, args.write_runs, args.seed + 2 * attempt))
        with engine.begin() as connection:
            for _, index in unused:
                connection.exec_driver_sql(f'DROP INDEX "{index}"')
        without.append(write_rate(engine, u, args.write_runs, args.seed + 2 * attempt + 1))
        with engine.begin() as connection:  # back as migrated (a kept database is explained again)
            connection.exec_driver_sql("SET maintenance_work_mem = '512MB'")
            for _, index in unused:
                connection.exec_driver_sql(indexes[index][0])
    sizes = {i: s for i, (_, s) in indexes.items()}

    def mean(runs_: list[dict[str, float]], key: str) -> float:
        return sum(r[key] for r in runs_) / len(runs_)

    rows = [
        [k, *(r[k] for r in with_all), *(r[k] for r in without), mean(without, k) / mean(with_all, k)]
        for k in with_all[0]
    ]
    print(
        table(
            ["write path", "all indexes (A1)", "A2", "unused dropped (B1)", "B2", "mean B / mean A"],
            rows,
            title=f"What the unused indexes cost: {', '.join(i for _, i in unused)} "
            f"({sum(sizes.get(i, 0) for _, i in unused) / 2**20:,.0f} MB)",
        )
    )


if __name__ == "__main__":
    main()
