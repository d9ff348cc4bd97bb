"""Bulk upsert throughput of ``db.trades.upsert_trades`` versus one statement per row.

Builds ``--rows`` synthetic ``Fill``s (1,000 wallets, 20 markets, realistic id lengths), keys
them with ``domain.fills.key_fills`` and upserts them into a fresh, migrated ``trades_public`` in
one transaction:

* pass 1: every row new (INSERT);
* pass 2: the same rows again, every row a conflict (ON CONFLICT DO UPDATE);
* baseline: ``--baseline-rows`` other new rows, one ``INSERT … ON CONFLICT DO UPDATE …
  RETURNING`` statement per row executed one at a time (same transaction, same SQLAlchemy
  statement, so only the batching differs), extrapolated to rows/s; and, for context,
  ``--commit-each-rows`` rows the same way with one transaction per row.

Targets (PostgreSQL): pass 1 >= 50,000 rows/s and bulk/row-by-row >= 20x. SQLite is reported
for reference (``--no-sqlite`` to skip). A profiled run (``--breakdown-rows``) splits pass 1's time
into its expensive steps, and ``--alternatives`` times other bulk paths on the same rows (what a
fix could reach; not the package's code).

    /work/venv/bin/python bench/upsert_throughput.py [--rows 100000] [--baseline-rows 5000] [--alternatives]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import app_database, load_note, table, verdict, version_note
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.schema import TradePublic, table_of
from polymarket_pipeline.db.trades import trade_rows, upsert_trades
from polymarket_pipeline.domain.fills import KeyedFill, key_fills
from polymarket_pipeline.domain.records import Fill

TARGET_ROWS_PER_S = 50_000
TARGET_RATIO = 20.0
_REFRESHED = ("title", "slug", "event_slug", "outcome", "outcome_index", "updated_at")
_trades = table_of(TradePublic)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--baseline-rows", type=int, default=5_000, help="rows upserted one by one")
    p.add_argument(
        "--commit-each-rows", type=int, default=1_000, help="rows upserted one by one, a commit each"
    )
    p.add_argument("--breakdown-rows", type=int, default=10_000, help="rows of the profiled run (0: skip it)")
    p.add_argument(
        "--alternatives", action="store_true", help="also time other bulk paths (what a fix could reach)"
    )
    p.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args()


def synthetic_fills(n: int, rng: random.Random) -> list[Fill]:
    wallets = [f"0x{rng.getrandbits(160):040x}" for _ in range(1000)]
    markets = []
    for i in range(20):
        condition = f"0x{rng.getrandbits(256):064x}"
        tokens = (str(rng.getrandbits(250)), str(rng.getrandbits(250)))
        markets.append((condition, tokens, f"Will event {i} happen by the end of the year?", f"event-{i}"))
    start = int((datetime.now(UTC) - timedelta(days=30)).timestamp())
    fills = []
    for _ in range(n):
        condition, tokens, title, slug = rng.choice(markets)
        idx = rng.randrange(2)
        fills.append(
            Fill(
                wallet_address=rng.choice(wallets),
                side=rng.choice(("BUY", "SELL")),
                asset=tokens[idx],
                condition_id=condition,
                size=round(rng.uniform(1, 3000), 2),
                price=round(rng.uniform(0.01, 0.99), 3),
                timestamp=start + rng.randrange(30 * 86_400),
                transaction_hash=f"0x{rng.getrandbits(256):064x}",
                title=title,
                slug=slug,
                event_slug=slug,
                outcome=("Yes", "No")[idx],
                outcome_index=idx,
            )
        )
    return fills


def bulk(engine: Engine, keyed: list[KeyedFill]) -> tuple[float, int]:
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as connection:
        inserted = upsert_trades(connection, keyed, now)
    return time.perf_counter() - started, inserted


def row_by_row(engine: Engine, keyed: list[KeyedFill], *, commit_each: bool = False) -> float:
    rows = trade_rows(keyed, datetime.now(UTC))
    started = time.perf_counter()
    if commit_each:
        for row in rows:
            with engine.begin() as connection:
                connection.execute(_single_row_statement(connection), row).all()
        return time.perf_counter() - started
    with engine.begin() as connection:
        stmt = _single_row_statement(connection)
        for row in rows:
            connection.execute(stmt, row).all()
    return time.perf_counter() - started


def _single_row_statement(connection: Connection) -> Any:
    dialect = connection.dialect.name
    ins = postgresql.insert(_trades) if dialect == "postgresql" else sqlite.insert(_trades)
    return ins.on_conflict_do_update(
        index_elements=["trade_id"], set_={c: ins.excluded[c] for c in _REFRESHED}
    ).returning(_trades.c.first_seen_at)


BREAKDOWN = [
    ("SQLAlchemy compiles statements", "sqlalchemy/sql/elements.py", "_compile_w_cache"),
    ("psycopg converts %(name)s placeholders", "psycopg/_queries.py", "convert"),
    ("psycopg waits for the server", "psycopg/connection.py", "wait"),
    ("psycopg COPY write_row", "psycopg/_copy.py", "write_row"),
    ("trade_rows() builds the dicts", "polymarket_pipeline/db/trades.py", "trade_rows"),
]


def breakdown(url: str, keyed: list[KeyedFill]) -> list[list[object]]:
    """Profile one bulk upsert of ``keyed`` and split its time into the expensive steps."""
    engine = create_db_engine(url)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        total, _ = bulk(engine, keyed)
        profiler.disable()
    finally:
        engine.dispose()
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    out: list[list[object]] = []
    for label, path, func in BREAKDOWN:
        seconds = sum(v[3] for (f, _, name), v in stats.items() if name == func and f.endswith(path))
        out.append([label, seconds, 100 * seconds / total])
    out.append(["total (under the profiler)", total, 100.0])
    return out


def alternative(engine: Engine, keyed: list[KeyedFill], how: str) -> tuple[float, int]:
    """What a different bulk path reaches (not the package's code): see the module docstring."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    rows = trade_rows(keyed, now)
    with engine.begin() as connection:
        if how == "executemany":
            returned = connection.execute(_single_row_statement(connection), rows).all()
            inserted = sum(1 for (first_seen,) in returned if _as_utc(first_seen) == now)
        else:
            cols = list(rows[0])
            cur = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cur.execute("CREATE TEMP TABLE stage (LIKE trades_public INCLUDING DEFAULTS) ON COMMIT DROP")
            with cur.copy(f"COPY stage ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in cols])
            cur.execute(
                f"INSERT INTO trades_public ({', '.join(cols)}) SELECT {', '.join(cols)} FROM stage "
                "ON CONFLICT (trade_id) DO UPDATE SET "
                + ", ".join(f"{c} = EXCLUDED.{c}" for c in _REFRESHED)
                + " RETURNING first_seen_at"
            )
            inserted = sum(1 for (first_seen,) in cur.fetchall() if first_seen == now)
    return time.perf_counter() - started, inserted


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main() -> None:
    args = parse_args()
    rng = random.Random(args.seed)
    fills = synthetic_fills(args.rows + args.baseline_rows + args.commit_each_rows, rng)
    started = time.perf_counter()
    keyed_all = key_fills(fills)
    key_seconds = time.perf_counter() - started
    rng.shuffle(keyed_all)
    keyed = keyed_all[: args.rows]
    sample = keyed_all[args.rows : args.rows + args.baseline_rows]
    sample_each = keyed_all[args.rows + args.baseline_rows :]

    rows: list[list[object]] = []
    ratios: dict[str, float] = {}
    split: list[list[object]] = []
    alternatives: list[list[object]] = []
    kinds = ["postgres"] if args.no_sqlite else ["postgres", "sqlite"]
    with tempfile.TemporaryDirectory(prefix="bench-upsert-") as tmp:
        if args.breakdown_rows:
            with app_database("postgres", Path(tmp)) as url:
                split = breakdown(url, keyed[: args.breakdown_rows])
        for kind in kinds if args.alternatives else []:
            for how in ["executemany", "copy"] if kind == "postgres" else ["executemany"]:
                with app_database(kind, Path(tmp)) as url:
                    engine = create_db_engine(url)
                    try:
                        for label in ("pass 1: all new", "pass 2: all conflicts"):
                            seconds, new = alternative(engine, keyed, how)
                            alternatives.append([kind, how, label, new, seconds, len(keyed) / seconds])
                    finally:
                        engine.dispose()
        for kind in kinds:
            with app_database(kind, Path(tmp)) as url:
                engine = create_db_engine(url)
                try:
                    t1, n1 = bulk(engine, keyed)
                    t2, n2 = bulk(engine, keyed)
                    tb = row_by_row(engine, sample)
                    te = row_by_row(engine, sample_each, commit_each=True)
                finally:
                    engine.dispose()
            r1, r2, rb, re_ = len(keyed) / t1, len(keyed) / t2, len(sample) / tb, len(sample_each) / te
            ratios[kind] = r1 / rb
            pg = kind == "postgres"
            rows += [
                [
                    kind,
                    "pass 1: bulk, all new",
                    len(keyed),
                    n1,
                    t1,
                    r1,
                    verdict(r1 >= TARGET_ROWS_PER_S) if pg else "(ref)",
                ],
                [kind, "pass 2: bulk, all conflicts", len(keyed), n2, t2, r2, "(info)"],
                [kind, "row-by-row, one transaction", len(sample), len(sample), tb, rb, "(baseline)"],
                [kind, "row-by-row, commit per row", len(sample_each), len(sample_each), te, re_, "(info)"],
            ]
    print(
        table(
            ["db", "pass", "rows", "new rows", "seconds", "rows/s", f"target>={TARGET_ROWS_PER_S:,}/s"],
            rows,
            title=f"upsert_trades: {args.rows:,} synthetic fills in one transaction per pass",
        )
    )
    print(f"key_fills({len(keyed_all):,} fills): {key_seconds:.2f} s (not included above)")
    for kind, ratio in ratios.items():
        target = verdict(ratio >= TARGET_RATIO) if kind == "postgres" else "(ref)"
        print(f"{kind}: bulk pass 1 / row-by-row = {ratio:.1f}x  (target >= {TARGET_RATIO:.0f}x: {target})")
    print(
        "Row-by-row runs the same INSERT ... ON CONFLICT DO UPDATE ... RETURNING per row in one "
        f"transaction on {args.baseline_rows:,} rows (after pass 2, so the table holds "
        f"{args.rows:,} rows), extrapolated as rows/s; 'commit per row' does the same with one "
        f"transaction per row on {args.commit_each_rows:,} rows."
    )
    print(load_note())
    print(version_note())
    if split:
        print()
        print(
            table(
                ["step (cumulative time, profiled; steps may overlap)", "seconds", "% of total"],
                split,
                title=f"Where pass 1's time goes on PostgreSQL ({args.breakdown_rows:,} rows, cProfile)",
            )
        )
    if alternatives:
        print()
        print(
            table(
                ["db", "path", "pass", "new rows", "seconds", "rows/s"],
                alternatives,
                title=f"Other bulk paths on the same {args.rows:,} rows (not the package's code)",
            )
        )
        print(
            "executemany = connection.execute(<the single-row statement above>, rows): SQLAlchemy's "
            "insertmanyvalues batches with one cached compiled statement; copy = COPY into a temp "
            "table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE ... RETURNING (psycopg 3)."
        )


if __name__ == "__main__":
    main()
