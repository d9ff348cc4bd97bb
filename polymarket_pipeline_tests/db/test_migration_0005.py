"""Migration 0005: the PnL tables, a database-assigned insertion order on the tape, event membership
in the market cache; rows kept, and reversible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from polymarket_pipeline.db import markets
from polymarket_pipeline.db import pnl as pnl_store
from polymarket_pipeline.db.activity import upsert_activity
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.markets import CachedMarket
from polymarket_pipeline.db.migrate import MIGRATIONS_DIR, current_revision, upgrade
from polymarket_pipeline.db.schema import MONEY, PRICE
from polymarket_pipeline.db.trades import upsert_trades
from polymarket_pipeline.domain.activity import key_activity
from polymarket_pipeline.domain.fills import key_fills
from polymarket_pipeline.domain.pnl import TokenState
from polymarket_pipeline.domain.records import Activity, Fill

WALLET = "0x" + "ab" * 20
NOW = datetime(2026, 12, 14, tzinfo=UTC)
PNL_TABLES = {
    "position_pnl", "wallet_pnl_daily", "trader_stats", "user_pnl", "wallet_pnl_official", "pnl_state",
    "pnl_wallet_state", "pnl_condition_state", "pnl_market_state",
}  # fmt: skip


def _fill(n: int) -> Fill:
    return Fill(WALLET, "BUY", str(100 + n), "0x" + "c" * 64, 1.0 + n, 0.5, 1_780_000_000 + n, f"0x{n:064x}")


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _seqs(engine: Engine, table: str) -> list[int | None]:
    with engine.connect() as connection:
        return list(
            connection.execute(sa.text(f"SELECT ingest_seq FROM {table} ORDER BY ingest_seq")).scalars()
        )


def test_0005_numbers_new_tape_rows_keeps_old_ones_and_downgrades(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO wallet_poll_state (wallet_address, created_at, updated_at) VALUES (:w, :t, :t)"
            ),
            {"w": WALLET, "t": NOW},
        )
        upsert_trades(connection, key_fills([_fill(0)]), NOW)
    before = set(sa.inspect(engine).get_table_names())

    upgrade(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert tables >= PNL_TABLES
    cache_columns = {c["name"] for c in sa.inspect(engine).get_columns("market_cache")}
    assert {"neg_risk", "event_id", "resolved_at"} <= cache_columns
    assert _seqs(engine, "trades_public") == [None]  # stored before 0005: replayed whole, never "new"

    with engine.begin() as connection:
        upsert_trades(connection, key_fills([_fill(1), _fill(2)]), NOW)
    with engine.begin() as connection:
        upsert_trades(connection, key_fills([_fill(3)]), NOW)
        upsert_trades(connection, key_fills([_fill(1)]), NOW)  # seen again: keeps its number
        upsert_activity(
            connection,
            key_activity([Activity(WALLET, "REWARD", 1_780_000_000, None, "0xr", usdc_size=1.0)]),
            NOW,
        )
    with engine.connect() as connection:
        by_asset = dict(connection.execute(sa.text("SELECT asset, ingest_seq FROM trades_public")).all())
    assert by_asset["100"] is None
    numbered = [by_asset[a] for a in ("101", "102", "103")]
    assert numbered == sorted(numbered)
    assert len(set(numbered)) == 3  # in insertion order, the re-read '101' unchanged
    with engine.begin() as connection:
        horizon = pnl_store.ingest_horizon(connection)
    activity = [s for s in _seqs(engine, "activity_public") if s is not None]
    assert horizon == pnl_store.Horizon(numbered[-1], max(activity))

    _downgrade(engine, "0004")
    assert current_revision(engine) == "0004"
    assert set(sa.inspect(engine).get_table_names()) == before
    assert "ingest_seq" not in {c["name"] for c in sa.inspect(engine).get_columns("trades_public")}
    with engine.begin() as connection:  # writes still work without the trigger / sequence
        upsert_trades(connection, key_fills([_fill(4)]), NOW)
        assert connection.execute(sa.text("SELECT count(*) FROM trades_public")).scalar_one() == 5
    upgrade(engine)  # and up again
    engine.dispose()


def test_a_missing_sqlite_trigger_is_refused_rather_than_silently_losing_rows(sqlite_url: str) -> None:
    engine = create_db_engine(sqlite_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER trades_public_ingest_seq")
    with (
        pytest.raises(pnl_store.IngestOrderMissingError, match="trades_public_ingest_seq"),
        engine.begin() as connection,
    ):
        pnl_store.ingest_horizon(connection)
    engine.dispose()


def test_money_and_prices_round_trip_exactly(engine: Engine) -> None:
    """NUMERIC on PostgreSQL; on SQLite a double read back through its shortest repr (15 digits)."""
    table = sa.Table(
        "exact_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("money", MONEY),
        sa.Column("price", PRICE),
    )
    table.create(engine)
    values = [
        (Decimal("123456789.123456"), Decimal("0.123456789012")),
        (Decimal("-0.000001"), Decimal("0.000000000001")),
        (Decimal("0.1"), Decimal("1")),
        (Decimal("-987654321.987654"), Decimal("0.999999999999")),
    ]
    with engine.begin() as connection:
        connection.execute(
            table.insert(), [{"id": i, "money": m, "price": p} for i, (m, p) in enumerate(values)]
        )
    with engine.connect() as connection:
        back = [(r.money, r.price) for r in connection.execute(sa.select(table).order_by(table.c.id))]
    assert back == values
    assert all(isinstance(m, Decimal) and isinstance(p, Decimal) for m, p in back)
    with pytest.raises(sa.exc.StatementError, match="binary float"), engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 99, "money": 0.1, "price": None}])


def test_the_market_cache_keeps_gamma_membership_when_a_clob_only_refresh_knows_none(engine: Engine) -> None:
    condition = "0x" + "e" * 64
    gamma = CachedMarket(
        condition, "q", None, None, [], ["Yes", "No"], ["1", "2"], True, True, "1", NOW, neg_risk=True,
        event_id="903193", resolved_at=NOW,
    )  # fmt: skip
    clob_only = CachedMarket(condition, "q", None, None, [], ["Yes", "No"], ["1", "2"], True, True, "1", NOW)
    with engine.begin() as connection:
        markets.store(connection, [gamma])
        markets.store(connection, [clob_only])
        (row,) = markets.load_fresh(connection, [condition], now=NOW, max_age=timedelta(hours=1)).values()
    assert (row.neg_risk, row.event_id, row.resolved_at) == (True, "903193", NOW)


def test_a_token_state_is_stored_compactly_and_its_last_key_as_an_order_keeping_bound() -> None:
    """Positional and without the row's own ids; the last key keeps the transaction hash and becomes
    an upper bound: every key after the bound is after the real key, and the rest reads back exactly."""
    condition, asset, tx = "0x" + "a" * 64, "7" * 77, "0x" + "e" * 64
    key = (2, 1, f"{tx}|{condition}|{asset}|BUY|FILL|1.5|0.3||id")
    state = TokenState(
        asset, condition, 1, amount=Decimal("1.5"), avg_price=Decimal(1) / Decimal(3), flags={"oversold"},
        first_event_at=1, last_event_at=2, last_key=key,
    )  # fmt: skip
    text = pnl_store.encode_token(state.to_dict(), ["2026-12-14", "0.45", 1], "No")
    assert condition not in text
    assert asset not in text
    token, day, label = pnl_store.decode_token(text, asset, condition)
    bound = tuple(token.pop("last_key"))
    assert token == {k: v for k, v in state.to_dict().items() if k != "last_key"}
    assert (day, label) == (["2026-12-14", "0.45", 1], "No")
    assert bound >= key
    later_tx = (2, 1, "0x" + "f" * 64 + "|x")
    same_tx_later = (2, 1, f"{tx}|{condition}|{asset}|BUY|FILL|2|0.3||id")
    assert later_tx > bound  # not late, as against the real key
    assert same_tx_later < bound  # taken as late: its condition is replayed, exactly
    assert bound < (3, 0, "")
    assert pnl_store.bound_key((2, 1, "short")) == [2, 1, "short"]
    with pytest.raises(ValueError, match="TokenState fields changed"):
        pnl_store.encode_token({**state.to_dict(), "new_field": 1}, None, None)
