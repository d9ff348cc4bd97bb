"""Writing a PnL test's world through the pipeline's own write paths, and reading the PnL tables back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import history, wallets
from polymarket_pipeline.db import markets as market_cache
from polymarket_pipeline.db import positions as snapshots
from polymarket_pipeline.db.activity import upsert_activity
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.markets import CachedMarket
from polymarket_pipeline.db.migrate import upgrade
from polymarket_pipeline.db.pnl import decode_token
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.history import HistoryState
from polymarket_pipeline.domain.records import Activity, Fill, Position
from polymarket_pipeline_tests.conftest import create_pg_database, drop_pg_database

VOLATILE = {"updated_at", "as_of", "computed_at", "replayed_at", "official_checked_at"}
"""Run times: they differ between an incremental history and a single run by design."""


class Tape:
    """Stores fills, activity, markets, snapshots and history flags as the pollers would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, *addresses: str, complete: bool = True, at: datetime | None = None) -> None:
        with self.engine.begin() as connection:
            wallets.register_wallets(connection, list(addresses))
        for address in addresses:
            self.history(address, complete=complete, at=at)

    def history(self, wallet: str, *, complete: bool, at: datetime | None = None) -> None:
        state = HistoryState(True) if complete else HistoryState(False, None)
        reason = None if complete else "cut by the page limit"
        with self.engine.begin() as connection:
            for route in ("trades", "activity"):
                history.record(connection, wallet, route, state, reason=reason, now=at or datetime.now(UTC))

    def fills(self, fills: Sequence[Fill], at: datetime) -> int:
        with self.engine.begin() as connection:
            return upsert_trades(connection, key_fills(list(fills)), at)

    def activity(self, rows: Sequence[Activity], at: datetime) -> int:
        with self.engine.begin() as connection:
            return upsert_activity(connection, key_activity(list(rows)), at)

    def markets(self, markets: Sequence[CachedMarket]) -> None:
        with self.engine.begin() as connection:
            market_cache.store(connection, list(markets))

    def snapshot(self, wallet: str, positions: Sequence[Position], at: datetime) -> None:
        """A new positions snapshot (what a poll writes), replacing the wallet's previous one."""
        with self.engine.begin() as connection:
            stored = snapshots.load_snapshot(connection, wallet)
            assert snapshots.claim_snapshot(connection, wallet, stored.taken_at, at)
            connection.execute(
                sa.text("DELETE FROM positions_current WHERE wallet_address = :w"), {"w": wallet}
            )
            snapshots.write_snapshot(connection, wallet, list(positions), [], [], at)

    def link(self, user: str, address: str) -> None:
        with self.engine.begin() as connection:
            wallets.add_link(connection, user, address)


def market(
    condition: str,
    tokens: tuple[str, str],
    *,
    winner: str | None = None,
    at: datetime,
    resolved_at: datetime | None = None,
    neg_risk: bool | None = None,
    event_id: str | None = None,
) -> CachedMarket:
    return CachedMarket(
        condition_id=condition,
        title=f"market {condition[-4:]}",
        slug=None,
        category=None,
        tags=[],
        outcomes=["Yes", "No"],
        token_ids=list(tokens),
        closed=winner is not None,
        resolved=winner is not None,
        winner_asset=winner,
        fetched_at=at,
        neg_risk=neg_risk,
        event_id=event_id,
        resolved_at=resolved_at,
    )


def rows(engine: Engine, table: str, *, where: str = "", order: str = "") -> list[dict[str, Any]]:
    sql = (
        f"SELECT * FROM {table}"
        + (f" WHERE {where}" if where else "")
        + (f" ORDER BY {order}" if order else "")
    )
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.text(sql)).mappings()]


def _normal(value: Any) -> Any:
    """Dialect-neutral values: SQLite hands back floats and text where PostgreSQL gives Decimals and dates."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float | int):
        return round(float(value), 9)
    if hasattr(value, "is_finite"):  # Decimal
        return round(float(value), 9)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    return str(value)


def _state_json(row: dict[str, Any], today: str) -> Any:
    token, day, label = decode_token(row["state"], row["asset"], row["condition_id"])
    if day and day[0] != today:
        day = None  # yesterday's count of a token untouched since: not part of today's figures
    return {"token": token, "day": day, "label": label}


def snapshot_of(engine: Engine, today: str) -> dict[str, Any]:
    """The PnL tables' figures, comparable across databases (run times left out)."""
    out: dict[str, Any] = {}
    keys = {
        "position_pnl": "wallet_address, asset",
        "trader_stats": "wallet_address",
        "user_pnl": "user_id",
        "pnl_condition_state": "wallet_address, condition_id",
    }
    for table, order in keys.items():
        out[table] = [
            {
                k: (_state_json(r, today) if k == "state" else _normal(v))
                for k, v in r.items()
                if k not in VOLATILE
            }
            for r in rows(engine, table, order=order)
        ]
    out["wallet_pnl_daily"] = [
        {k: _normal(v) for k, v in r.items() if k not in VOLATILE}
        for r in rows(engine, "wallet_pnl_daily", where=f"day = '{today}'", order="wallet_address")
    ]
    return out


@contextmanager
def twin_engine(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A second, empty, migrated database on the same dialect as ``db_url``."""
    if db_url.startswith("sqlite"):
        engine = create_db_engine(f"sqlite:///{tmp_path / 'twin.sqlite'}")
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    admin = request.getfixturevalue("pg_server")
    name, url = create_pg_database(admin)
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        drop_pg_database(admin, name)


def count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def addresses(n: int, prefix: str) -> list[str]:
    return [f"0x{prefix}{i:0{40 - len(prefix)}x}" for i in range(n)]
