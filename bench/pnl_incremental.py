"""Does an incremental PnL run cost the rows stored since the last run, or the whole history?

Loads ``--trades`` fills (and the other tables in proportion: ``bench/synthetic.py``'s skewed
wallets and markets, a year of history) into a fresh PostgreSQL database (``COPY``) or SQLite
file (the same generated rows through SQLAlchemy), marks every history complete, then times:

- the first ``update_pnl`` (every wallet replayed whole: the one-off cost);
- a re-run with nothing new (what every ``pnl_job`` pays at least);
- runs after storing ``--new`` rows each (two thirds fills, one third activity, the last hour's
  timestamps, skewed wallets like the load), written through ``db.trades.upsert_trades`` /
  ``db.activity.upsert_activity`` as the pollers write them;
- a run after 1,000 *late* fills (timestamps anywhere in the year: a backfill), which replays
  the conditions they land in;
- a run after 1,000 wallets got a new positions snapshot (re-marked, no replay);

and, last, what migration 0005's numbering of the tape costs its writers: a
20,000-fill and a 10-fill upsert with and without it, alternated in the same database.

The table's point: the incremental rows scale with the new rows and not with the fills already
stored (compare 1M with 10M). ``rows read`` are tape rows (new ones plus those a replay read again),
``state rows`` the stored position and condition rows read back to resume books.

    .venv/bin/python bench/pnl_incremental.py [--trades 1000000 10000000] [--dialects postgres sqlite]
        [--sqlite-max 1000000] [--new 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
import synthetic
from benchlib import create_pg_database, drop_pg_database, load_note, migrate_url, table, version_note

from polymarket_pipeline.db.activity import upsert_activity
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.schema import Base
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.db.types import UtcDateTime
from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.records import Activity, Fill
from polymarket_pipeline.sync.pnl import PnlRun, update_pnl

SQLITE_TABLES = (
    ("wallet_poll_state", synthetic.STATE_COLUMNS),
    ("trades_public", synthetic.TRADE_COLUMNS),
    ("activity_public", synthetic.ACTIVITY_COLUMNS),
    ("positions_current", synthetic.POSITION_COLUMNS),
    ("market_cache", synthetic.CACHE_COLUMNS),
    ("wallet_links", synthetic.LINK_COLUMNS),
)


@dataclass
class Row:
    dialect: str
    fills: int
    case: str
    new_rows: int
    seconds: float
    run: PnlRun


def log(message: str) -> None:
    print(message, flush=True)


# --- loading ---------------------------------------------------------------------------------------


def _value(column: sa.Column[Any], text: str) -> Any:
    if text == "\\N":
        return None
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return datetime.fromisoformat(text.replace("T", " "))
    if isinstance(kind, sa.Boolean):
        return text == "t"
    if isinstance(kind, sa.Integer):
        return int(text)
    if isinstance(kind, sa.Float):
        return float(text)
    if isinstance(kind, sa.JSON):
        return json.loads(text)
    if isinstance(kind, sa.Date):
        return date.fromisoformat(text)
    return text


def _rows(table: sa.Table, columns: str, lines: Sequence[str]) -> list[dict[str, Any]]:
    names = [c.strip() for c in columns.split(",")]
    cols = [table.c[n] for n in names]
    return [
        {n: _value(c, v) for n, c, v in zip(names, cols, line.rstrip("\n").split("\t"), strict=True)}
        for line in lines
    ]


def load_sqlite(url: str, trades: int, seed: int = 1) -> synthetic.Universe:
    """``synthetic``'s rows for the tables the PnL layer reads, inserted into SQLite.

    The ingest trigger is dropped during the load (the rows then stand for history stored before
    migration 0005: unnumbered, replayed whole by the first run) and created again after.
    """
    shape = synthetic.Shape(trades)
    u = synthetic.universe(shape, seed)
    engine = create_db_engine(url)
    tables = Base.metadata.tables
    sources: dict[str, Any] = {
        "wallet_poll_state": lambda: [synthetic.state_rows(u, seed + 1)],
        "trades_public": lambda: synthetic.trade_chunks(u, shape.trades, seed + 3),
        "activity_public": lambda: synthetic.activity_chunks(u, shape.activity, seed + 4),
        "positions_current": lambda: synthetic.position_chunks(u, shape.positions, seed + 5),
        "market_cache": lambda: [synthetic.cache_rows(u)],
        "wallet_links": lambda: [synthetic.user_rows(u, seed + 8)[0]],
    }
    trigger = (
        Path(__file__).resolve().parents[1] / "polymarket_pipeline/db/migrations/versions/0005_pnl_store.py"
    )
    namespace: dict[str, Any] = {}
    exec(compile(trigger.read_text(), str(trigger), "exec"), namespace)  # SQLITE_TRIGGER, as migrated
    with engine.begin() as connection:
        for t in ("trades_public", "activity_public"):
            connection.exec_driver_sql(f"DROP TRIGGER {t}_ingest_seq")
    for name, columns in SQLITE_TABLES:
        started, count = time.monotonic(), 0
        for lines in sources[name]():
            with engine.begin() as connection:
                rows = _rows(tables[name], columns, lines)
                for start in range(0, len(rows), 20_000):
                    connection.execute(tables[name].insert(), rows[start : start + 20_000])
                count += len(rows)
        log(f"  {name}: {count:,} rows in {time.monotonic() - started:.1f} s")
    with engine.begin() as connection:
        for t in ("trades_public", "activity_public"):
            connection.exec_driver_sql(namespace["SQLITE_TRIGGER"].format(table=t))
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return u


def complete_histories(url: str) -> None:
    """The steady state: every history read back to its first row (the figures are then not flagged)."""
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE wallet_poll_state SET history_complete = true, activity_history_complete = true"
        )
    engine.dispose()


# --- new rows --------------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cumulative, rng.random(n)), len(cumulative) - 1)


def new_rows(
    u: synthetic.Universe, n: int, *, seed: int, late: bool = False
) -> tuple[list[Fill], list[Activity]]:
    """``n`` rows like the load's: 2/3 fills, 1/3 activity, recent (``late``: anywhere in the year)."""
    rng = np.random.default_rng(seed)
    now = int(time.time())
    n_fills = n if late else (2 * n) // 3
    wallets = _pick(rng, u.wallet_weights, n)
    markets = _pick(rng, u.market_weights, n)
    outcomes = rng.integers(0, 2, size=n)
    sizes = np.round(rng.lognormal(3.0, 1.5, size=n), 2) + 0.01
    prices = np.round(rng.uniform(0.01, 0.99, size=n), 3)
    span = 365 * 86_400 if late else 3_600
    stamps = now - rng.integers(60, span, size=n)
    fills, activity = [], []
    for i in range(n):
        m = u.markets[int(markets[i])]
        o = int(outcomes[i])
        tx = f"0x{random.Random(seed * 1_000_003 + i).getrandbits(256):064x}"
        wallet = u.wallets[int(wallets[i])]
        if i < n_fills:
            side = "BUY" if rng.random() < 0.6 else "SELL"
            fills.append(
                Fill(
                    wallet,
                    side,
                    m.tokens[o],
                    m.condition_id,
                    float(sizes[i]),
                    float(prices[i]),
                    int(stamps[i]),
                    tx,
                    outcome="Yes" if o == 0 else "No",
                    outcome_index=o,
                )
            )
        else:
            kind = "TRADE" if rng.random() < 0.85 else "REDEEM"
            size = float(sizes[i])
            usdc = round(size * float(prices[i]) * 1.01, 6) if kind == "TRADE" else size
            activity.append(
                Activity(
                    wallet,
                    kind,
                    int(stamps[i]),
                    m.condition_id,
                    tx,
                    size=size,
                    usdc_size=usdc,
                    price=float(prices[i]) if kind == "TRADE" else 0.0,
                    asset=m.tokens[o],
                    side="BUY" if kind == "TRADE" else None,
                    outcome_index=o,
                )
            )
    return fills, activity


def store(url: str, fills: Sequence[Fill], activity: Sequence[Activity]) -> None:
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        upsert_trades(connection, key_fills(list(fills)), now)
        upsert_activity(connection, key_activity(list(activity)), now)
    engine.dispose()


def new_snapshots(url: str, u: synthetic.Universe, n: int, seed: int) -> None:
    """``n`` wallets re-polled: their stored positions re-priced and their snapshot time moved."""
    rng = random.Random(seed)
    chosen = rng.sample(u.wallets, min(n, len(u.wallets)))
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for start in range(0, len(chosen), 500):
            batch = chosen[start : start + 500]
            connection.execute(
                sa.text(
                    "UPDATE positions_current SET cur_price = 0.42 WHERE wallet_address IN :w"
                ).bindparams(sa.bindparam("w", expanding=True)),
                {"w": batch},
            )
            connection.execute(
                sa.text(
                    "UPDATE wallet_poll_state SET positions_snapshot_at = :t WHERE wallet_address IN :w"
                ).bindparams(sa.bindparam("w", expanding=True)),
                {"w": batch, "t": now},
            )
    engine.dispose()


# --- what numbering the tape costs its writers ------------------------------------------------------


def _numbering(connection: Any, dialect: str, on: bool) -> None:
    """Migration 0005's numbering of ``trades_public`` on or off (sequence or trigger, and its index)."""
    namespace: dict[str, Any] = {}
    migration = (
        Path(__file__).resolve().parents[1] / "polymarket_pipeline/db/migrations/versions/0005_pnl_store.py"
    )
    exec(compile(migration.read_text(), str(migration), "exec"), namespace)
    where = "WHERE ingest_seq IS NOT NULL"
    if on:
        connection.exec_driver_sql(
            f"CREATE INDEX ix_trades_public_ingest_seq ON trades_public (ingest_seq) {where}"
        )
        if dialect == "postgres":
            connection.exec_driver_sql(
                "ALTER TABLE trades_public ALTER COLUMN ingest_seq "
                "SET DEFAULT nextval('trades_public_ingest_seq_seq')"
            )
        else:
            connection.exec_driver_sql(namespace["SQLITE_TRIGGER"].format(table="trades_public"))
        return
    connection.exec_driver_sql("DROP INDEX ix_trades_public_ingest_seq")
    if dialect == "postgres":
        connection.exec_driver_sql("ALTER TABLE trades_public ALTER COLUMN ingest_seq DROP DEFAULT")
    else:
        connection.exec_driver_sql("DROP TRIGGER trades_public_ingest_seq")


def write_cost(
    url: str, dialect: str, u: synthetic.Universe, rounds: int = 3
) -> list[tuple[str, bool, float]]:
    """Median seconds of a 20,000-fill upsert and of a 10-fill one (a poll), numbering on and off,
    alternated in the same database so load and table growth fall on both alike."""
    engine = create_db_engine(url, statement_timeout_ms=0)
    samples: dict[tuple[str, bool], list[float]] = {}
    seed = 5_000
    for _ in range(rounds):
        for on in (True, False):
            with engine.begin() as connection:
                if not on:
                    _numbering(connection, dialect, False)
            for shape, n, repeat in (
                ("20,000-fill upsert", 20_000, 1),
                ("10-fill upsert (one poll)", 10, 20),
            ):
                for _ in range(repeat):
                    seed += 1
                    fills, _ = new_rows(u, n, seed=seed, late=True)
                    keyed = key_fills(fills)
                    started = time.monotonic()
                    with engine.begin() as connection:
                        upsert_trades(connection, keyed, datetime.now(UTC))
                    samples.setdefault((shape, on), []).append(time.monotonic() - started)
            with engine.begin() as connection:
                if not on:
                    _numbering(connection, dialect, True)
    engine.dispose()
    return [(shape, on, float(np.median(v))) for (shape, on), v in sorted(samples.items())]


# --- the measurement -------------------------------------------------------------------------------


def timed_run(url: str) -> tuple[float, PnlRun]:
    engine = create_db_engine(url, statement_timeout_ms=0)
    started = time.monotonic()
    run = update_pnl(engine, now=datetime.now(UTC))
    seconds = time.monotonic() - started
    engine.dispose()
    return seconds, run


def pnl_bytes(url: str) -> dict[str, int]:
    if not url.startswith("postgresql"):
        return {}
    engine = create_db_engine(url)
    with engine.connect() as connection:
        out = {
            t: int(connection.exec_driver_sql(f"SELECT pg_total_relation_size('{t}')").scalar_one())
            for t in (
                "position_pnl",
                "pnl_condition_state",
                "pnl_wallet_state",
                "trader_stats",
                "trades_public",
            )
        }
    engine.dispose()
    return out


@dataclass
class Database:
    url: str
    universe: synthetic.Universe


def database(dialect: str, trades: int, tmpdir: Path) -> Iterator[Database]:
    if dialect == "postgres":
        name, url = create_pg_database()
        try:
            migrate_url(url)
            log(f"[postgres {trades:,} fills] loading (COPY) ...")
            u, _ = synthetic.load(url, trades, log=lambda m: log(m))
            yield Database(url, u)
        finally:
            drop_pg_database(name)
        return
    path = tmpdir / f"pnl-{trades}.sqlite"
    url = f"sqlite:///{path}"
    migrate_url(url)
    log(f"[sqlite {trades:,} fills] loading ...")
    u = load_sqlite(url, trades)
    try:
        yield Database(url, u)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure(
    dialect: str, trades: int, news: Sequence[int], tmpdir: Path, costs: list[tuple[Any, ...]]
) -> tuple[list[Row], dict[str, int]]:
    out: list[Row] = []
    sizes: dict[str, int] = {}
    for db in database(dialect, trades, tmpdir):
        complete_histories(db.url)

        def record(case: str, new: int, url: str = db.url) -> None:
            seconds, run = timed_run(url)
            runs = 1
            while run.rows_left:  # a backlog over the per-run cap: the next runs go on, as the sensor's would
                more, later = timed_run(url)
                seconds, runs = seconds + more, runs + 1
                run = replace(
                    later,
                    wallets_updated=max(run.wallets_updated, later.wallets_updated),
                    rows_read=run.rows_read + later.rows_read,
                    state_rows_read=run.state_rows_read + later.state_rows_read,
                    replay_reasons=dict(Counter(run.replay_reasons) + Counter(later.replay_reasons)),
                )
            if runs > 1:
                case = f"{case} in {runs} runs"
            out.append(Row(dialect, trades, case, new, seconds, run))
            log(
                f"  {case}: {seconds:.2f} s, {run.wallets_updated:,} wallets updated, {run.rows_read:,} "
                f"rows read, {run.state_rows_read:,} state rows, replays {run.replay_reasons}"
            )

        record("first run (every wallet whole)", 0)
        record("re-run, nothing new", 0)
        for i, n in enumerate(news):
            fills, activity = new_rows(db.universe, n, seed=100 + i)
            store(db.url, fills, activity)
            record(f"after {n:,} new rows", n)
        record("re-run, nothing new", 0)
        fills, _ = new_rows(db.universe, 1_000, seed=900, late=True)
        store(db.url, fills, [])
        record("after 1,000 late fills (backfill)", 1_000)
        new_snapshots(db.url, db.universe, 1_000, seed=901)
        record("after 1,000 new snapshots (marks)", 0)
        costs.extend((dialect, trades, *c) for c in write_cost(db.url, dialect, db.universe))
        sizes = pnl_bytes(db.url)
    return out, sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--dialects", nargs="+", default=["postgres", "sqlite"], choices=["postgres", "sqlite"]
    )
    parser.add_argument(
        "--sqlite-max", type=int, default=1_000_000, help="largest SQLite size (loading is slow)"
    )
    parser.add_argument("--new", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args(argv)
    print(
        f"$ .venv/bin/python bench/pnl_incremental.py {' '.join(argv if argv is not None else sys.argv[1:])}"
    )
    rows: list[Row] = []
    sizes: dict[tuple[str, int], dict[str, int]] = {}
    costs: list[tuple[Any, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for trades in args.trades:
            for dialect in args.dialects:
                if dialect == "sqlite" and trades > args.sqlite_max:
                    continue
                measured, space = measure(dialect, trades, args.new, Path(tmp), costs)
                rows.extend(measured)
                sizes[(dialect, trades)] = space
    print()
    print(
        table(
            [
                "dialect",
                "fills stored",
                "run",
                "new rows",
                "seconds",
                "wallets updated",
                "replayed",
                "rows read",
                "state rows read",
                "ms per new row",
            ],
            [
                [
                    r.dialect,
                    r.fills,
                    r.case,
                    r.new_rows,
                    round(r.seconds, 2),
                    r.run.wallets_updated,
                    r.run.wallets_replayed + r.run.wallets_partially_replayed,
                    r.run.rows_read,
                    r.run.state_rows_read,
                    round(1000 * r.seconds / r.new_rows, 3) if r.new_rows else "-",
                ]
                for r in rows
            ],
            title="update_pnl: a first run, then incremental ones (wallets fills/100, markets fills/500)",
        )
    )
    print()
    print(
        table(
            ["dialect", "fills stored", "write", "numbered (0005)", "median seconds"],
            [[d, t, shape, on, round(sec, 4)] for d, t, shape, on, sec in costs],
            title="what numbering the tape (ingest_seq: a sequence or trigger, partial index) costs writers",
        )
    )
    for (dialect, trades), space in sizes.items():
        if space:
            mb = ", ".join(f"{t} {b / 1e6:,.0f} MB" for t, b in space.items())
            print(f"{dialect} {trades:,} fills, table sizes with indexes: {mb}")
    print(load_note())
    print(version_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
