from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import (
    SchemaNotCurrentError,
    SchemaTooNewError,
    current_revision,
    ensure_current,
    head_revision,
    upgrade,
)
from polymarket_pipeline.db.schema import Base

CONTRACT_COLUMNS = {
    "follows": {"user_id", "wallet_address", "created_at"},
    "wallet_poll_state": {
        "wallet_address",
        "is_active",
        "is_hot_pinned",
        "last_trade_time_seen",
        "last_polled_at",
        "last_error",
        "updated_at",
    },
    "trades_public": {
        "trade_id",
        "wallet_address",
        "condition_id",
        "asset",
        "side",
        "size",
        "price",
        "traded_at",
        "transaction_hash",
        "title",
        "outcome",
        "outcome_index",
    },
    "positions_current": {
        "wallet_address",
        "asset",
        "condition_id",
        "size",
        "avg_price",
        "cur_price",
        "current_value",
        "cash_pnl",
        "realized_pnl",
        "redeemable",
        "title",
        "outcome",
        "first_seen_at",
        "last_seen_at",
    },
    "activity_public": {
        "wallet_address",
        "type",
        "condition_id",
        "asset",
        "size",
        "usdc_size",
        "price",
        "transaction_hash",
        "occurred_at",
    },
    "positions_closed": {
        "wallet_address",
        "asset",
        "condition_id",
        "reason",
        "closed_at",
        "last_size",
        "avg_price",
        "title",
        "outcome",
    },
    "position_events": {
        "wallet_address",
        "asset",
        "event_type",
        "size_before",
        "size_after",
        "detected_at",
    },
    "wallet_links": {"id", "user_id", "chain", "address"},
    "external_positions_raw": {"id", "user_id", "source", "fetched_at", "payload"},
    "external_markets": {
        "user_id",
        "asset",
        "market_id",
        "title",
        "category",
        "tags",
        "outcome",
        "size",
        "avg_price",
        "current_value",
        "pnl",
        "resolved",
        "as_of",
        "updated_at",
    },
    # interface.md "Profit and loss"
    "position_pnl": {
        "wallet_address", "asset", "condition_id", "outcome", "shares", "avg_price", "total_bought",
        "cost_basis", "realized_pnl", "unrealized_pnl", "mark_price", "mark_source", "fees_usdc", "status",
        "complete", "incomplete_reason", "api_avg_price", "api_realized_pnl", "updated_at",
    },
    "wallet_pnl_daily": {
        "wallet_address", "day", "realized_pnl", "fees_usdc", "income_usdc", "unrealized_pnl", "trade_pnl",
        "position_pnl", "economic_pnl", "volume_usdc", "fills",
    },
    "trader_stats": {
        "wallet_address", "realized_pnl", "unrealized_pnl", "trade_pnl", "position_pnl", "economic_pnl",
        "fees_usdc", "income_usdc", "volume_usdc", "fills", "markets", "wins", "losses", "win_rate", "roi",
        "max_drawdown_usdc", "first_fill_at", "last_fill_at", "complete", "official_position_pnl",
        "official_delta_usdc", "as_of",
    },
    "user_pnl": {
        "user_id", "wallets", "realized_pnl", "unrealized_pnl", "position_pnl", "economic_pnl", "volume_usdc",
        "as_of", "complete",
    },
    "wallet_pnl_official": {
        "wallet_address", "timestamp", "realized_pnl", "unrealized_pnl", "position_pnl", "wallet_income",
        "economic_pnl", "trade_pnl", "fees_paid", "source_block", "fetched_at",
    },
}  # fmt: skip


def test_upgrade_creates_every_contract_table_and_is_idempotent(db_url: str) -> None:
    engine = create_db_engine(db_url)
    with pytest.raises(SchemaNotCurrentError, match="db upgrade"):
        ensure_current(engine)
    upgrade(engine)
    upgrade(engine)  # second run is a no-op
    assert current_revision(engine) == head_revision()
    ensure_current(engine)
    inspector = sa.inspect(engine)
    for table, columns in CONTRACT_COLUMNS.items():
        present = {c["name"] for c in inspector.get_columns(table)}
        assert columns <= present, f"{table} lacks {columns - present}"
    engine.dispose()


def test_migrations_match_the_models(db_url: str) -> None:
    """The migration chain produces exactly the schema the models describe (no drift)."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def _stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_a_database_migrated_by_a_newer_release_is_refused_with_advice_that_works(db_url: str) -> None:
    """'run db upgrade' was wrong advice here: Alembic cannot migrate from a revision it has no
    script for. Both the check and the upgrade say to upgrade the code, and change nothing."""
    engine = create_db_engine(db_url)
    upgrade(engine)
    _stamp(engine, "0099_from_the_future")
    for attempt in (ensure_current, upgrade):
        with pytest.raises(SchemaTooNewError) as raised:
            attempt(engine)
        message = str(raised.value)
        assert "newer polymarket_pipeline" in message
        assert "0099_from_the_future" in message
        assert "upgrade the code" in message
        assert "db upgrade" not in message
    assert current_revision(engine) == "0099_from_the_future"
    engine.dispose()


def test_an_older_schema_is_upgraded(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0001")
    with pytest.raises(SchemaNotCurrentError, match="db upgrade") as raised:
        ensure_current(engine)
    assert not isinstance(raised.value, SchemaTooNewError)
    upgrade(engine)
    ensure_current(engine)
    engine.dispose()
