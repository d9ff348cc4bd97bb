"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import polymarket_pipeline.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_markets",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("asset", sa.String(length=100), nullable=False),
        sa.Column("market_id", sa.String(length=66), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("avg_price", sa.Float(), nullable=True),
        sa.Column("current_value", sa.Float(), nullable=True),
        sa.Column("pnl", sa.Float(), nullable=True),
        sa.Column("resolved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("wallet_count", sa.Integer(), server_default="1", nullable=False),
        sa.Column("as_of", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("user_id", "asset", name=op.f("pk_external_markets")),
    )
    op.create_index("ix_external_markets_market_id", "external_markets", ["market_id"], unique=False)

    op.create_table(
        "external_positions_raw",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("sync_date", sa.Date(), nullable=False),
        sa.Column("revision", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fetched_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_positions_raw")),
        sa.UniqueConstraint(
            "user_id", "source", "sync_date", "revision", name="uq_external_positions_raw_user_day_rev"
        ),
    )
    op.create_table(
        "market_cache",
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("slug", sa.Text(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("token_ids", sa.JSON(), nullable=False),
        sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("resolved", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("winner_asset", sa.String(length=100), nullable=True),
        sa.Column("fetched_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("condition_id", name=op.f("pk_market_cache")),
    )
    op.create_table(
        "position_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=100), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=True),
        sa.Column("event_type", sa.String(length=10), nullable=False),
        sa.Column("size_before", sa.Float(), nullable=False),
        sa.Column("size_after", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("detected_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_events")),
    )
    op.create_index("ix_position_events_detected_at", "position_events", ["detected_at"], unique=False)
    op.create_index(
        "ix_position_events_wallet_asset", "position_events", ["wallet_address", "asset", "id"], unique=False
    )

    op.create_table(
        "positions_closed",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=100), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("closed_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_size", sa.Float(), nullable=False),
        sa.Column("avg_price", sa.Float(), nullable=True),
        sa.Column("cur_price", sa.Float(), nullable=True),
        sa.Column("realized_pnl", sa.Float(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("first_seen_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions_closed")),
    )
    op.create_index("ix_positions_closed_closed_at", "positions_closed", ["closed_at"], unique=False)
    op.create_index(
        "ix_positions_closed_wallet_closed_at",
        "positions_closed",
        ["wallet_address", "closed_at"],
        unique=False,
    )

    op.create_table(
        "positions_current",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=100), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("avg_price", sa.Float(), nullable=True),
        sa.Column("cur_price", sa.Float(), nullable=True),
        sa.Column("current_value", sa.Float(), nullable=True),
        sa.Column("initial_value", sa.Float(), nullable=True),
        sa.Column("cash_pnl", sa.Float(), nullable=True),
        sa.Column("realized_pnl", sa.Float(), nullable=True),
        sa.Column("redeemable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("mergeable", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("slug", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_index", sa.Integer(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("first_seen_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("wallet_address", "asset", name=op.f("pk_positions_current")),
    )
    op.create_index("ix_positions_current_condition_id", "positions_current", ["condition_id"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="running", nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index("ix_sync_runs_kind_finished_at", "sync_runs", ["kind", "finished_at"], unique=False)

    op.create_table(
        "trades_public",
        sa.Column("trade_id", sa.String(length=64), nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("asset", sa.String(length=100), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("size", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("traded_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("slug", sa.Text(), nullable=True),
        sa.Column("event_slug", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_index", sa.Integer(), nullable=True),
        sa.Column("occurrence", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "first_seen_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("trade_id", name=op.f("pk_trades_public")),
    )
    op.create_index("ix_trades_public_condition_id", "trades_public", ["condition_id"], unique=False)
    op.create_index("ix_trades_public_traded_at", "trades_public", ["traded_at"], unique=False)
    op.create_index(
        "ix_trades_public_wallet_traded_at", "trades_public", ["wallet_address", "traded_at"], unique=False
    )

    op.create_table(
        "wallet_links",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("chain", sa.String(length=32), server_default="polygon", nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column(
            "created_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_links")),
        sa.UniqueConstraint("user_id", "chain", "address", name="uq_wallet_links_user_chain_address"),
    )
    op.create_index("ix_wallet_links_address", "wallet_links", ["address"], unique=False)

    op.create_table(
        "wallet_poll_state",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_hot_pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "last_trade_time_seen", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("history_complete", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_polled_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_trades_polled_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_positions_polled_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "positions_snapshot_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", polymarket_pipeline.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("wallet_address", name=op.f("pk_wallet_poll_state")),
    )
    op.create_index(
        "ix_wallet_poll_state_active_hot", "wallet_poll_state", ["is_active", "is_hot_pinned"], unique=False
    )

    op.create_table(
        "follows",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column(
            "created_at",
            polymarket_pipeline.db.types.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["wallet_address"],
            ["wallet_poll_state.wallet_address"],
            name=op.f("fk_follows_wallet_address_wallet_poll_state"),
        ),
        sa.PrimaryKeyConstraint("user_id", "wallet_address", name=op.f("pk_follows")),
    )
    op.create_index("ix_follows_wallet_address", "follows", ["wallet_address"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_follows_wallet_address", table_name="follows")

    op.drop_table("follows")
    op.drop_index("ix_wallet_poll_state_active_hot", table_name="wallet_poll_state")

    op.drop_table("wallet_poll_state")
    op.drop_index("ix_wallet_links_address", table_name="wallet_links")

    op.drop_table("wallet_links")
    op.drop_index("ix_trades_public_wallet_traded_at", table_name="trades_public")
    op.drop_index("ix_trades_public_traded_at", table_name="trades_public")
    op.drop_index("ix_trades_public_condition_id", table_name="trades_public")

    op.drop_table("trades_public")
    op.drop_index("ix_sync_runs_kind_finished_at", table_name="sync_runs")

    op.drop_table("sync_runs")
    op.drop_index("ix_positions_current_condition_id", table_name="positions_current")

    op.drop_table("positions_current")
    op.drop_index("ix_positions_closed_wallet_closed_at", table_name="positions_closed")
    op.drop_index("ix_positions_closed_closed_at", table_name="positions_closed")

    op.drop_table("positions_closed")
    op.drop_index("ix_position_events_wallet_asset", table_name="position_events")
    op.drop_index("ix_position_events_detected_at", table_name="position_events")

    op.drop_table("position_events")
    op.drop_table("market_cache")
    op.drop_table("external_positions_raw")
    op.drop_index("ix_external_markets_market_id", table_name="external_markets")

    op.drop_table("external_markets")
