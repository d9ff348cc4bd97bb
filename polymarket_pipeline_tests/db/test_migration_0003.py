"""Migration 0003 (bench/index_usage.py's review): unused indexes dropped, failing wallets indexed, rows
kept, and reversible."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import MIGRATIONS_DIR, current_revision, ensure_current, upgrade

DROPPED = {
    "trades_public": {"ix_trades_public_condition_id"},
    "positions_current": {"ix_positions_current_condition_id"},
    "positions_closed": {"ix_positions_closed_closed_at", "ix_positions_closed_wallet_closed_at"},
    "position_events": {"ix_position_events_detected_at"},
    "wallet_poll_state": {"ix_wallet_poll_state_active_hot"},
    "external_markets": {"ix_external_markets_market_id"},
}
KEPT = {
    "trades_public": {"ix_trades_public_wallet_traded_at", "ix_trades_public_traded_at"},
    "activity_public": {"ix_activity_public_wallet_occurred_at"},
    "position_events": {"ix_position_events_wallet_asset"},
}
WALLET = "0x" + "ab" * 20


def _indexes(engine: sa.engine.Engine) -> dict[str, set[str]]:
    inspector = sa.inspect(engine)
    return {t: {str(i["name"]) for i in inspector.get_indexes(t)} for t in {*DROPPED, *KEPT}}


def test_0003_drops_only_the_unused_indexes_keeps_rows_and_downgrades(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine, "0002")
    now = datetime(2026, 11, 30, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO wallet_poll_state (wallet_address, created_at, updated_at) VALUES (:w, :t, :t)"
            ),
            {"w": WALLET, "t": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO trades_public (trade_id, wallet_address, condition_id, asset, side, size, "
                "price, traded_at, transaction_hash, first_seen_at, updated_at) VALUES "
                "('t1', :w, '0xc', '1', 'BUY', 1.5, 0.5, :t, '0xtx', :t, :t)"
            ),
            {"w": WALLET, "t": now},
        )
    before = _indexes(engine)
    for table, names in DROPPED.items():
        assert names <= before[table]

    upgrade(engine)
    ensure_current(engine)
    after = _indexes(engine)
    for table, names in DROPPED.items():
        assert not names & after[table], f"{table} still has {names & after[table]}"
    for table, names in KEPT.items():
        assert names <= after[table]
    assert "ix_wallet_poll_state_retry_after" in after["wallet_poll_state"]
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM trades_public")).scalar_one() == 1
        assert connection.execute(sa.text("SELECT count(*) FROM wallet_poll_state")).scalar_one() == 1

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert current_revision(engine) == "0002"
    assert _indexes(engine) == before
    engine.dispose()
