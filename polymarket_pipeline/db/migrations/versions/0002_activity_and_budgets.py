"""activity_public, shared rate budgets, snapshot completeness, activity watermark, backoff

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import polymarket_pipeline.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UTC = polymarket_pipeline.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "activity_public",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=True),
        sa.Column("asset", sa.String(length=100), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=True),
        sa.Column("size", sa.Float(), nullable=True),
        sa.Column("usdc_size", sa.Float(), nullable=True),
        sa.Column("price", sa.Float(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_index", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("slug", sa.Text(), nullable=True),
        sa.Column("event_slug", sa.Text(), nullable=True),
        sa.Column("transaction_hash", sa.String(length=66), nullable=False),
        sa.Column("occurred_at", _UTC, nullable=False),
        sa.Column("occurrence", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_seen_at", _UTC, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", _UTC, server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", name=op.f("pk_activity_public")),
    )
    op.create_index(
        "ix_activity_public_wallet_occurred_at", "activity_public", ["wallet_address", "occurred_at"]
    )
    op.create_table(
        "rate_budget",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("theoretical_arrival", sa.Float(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rate_budget")),
    )
    with op.batch_alter_table("wallet_poll_state") as batch:
        batch.add_column(
            sa.Column("positions_complete", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.add_column(sa.Column("last_activity_time_seen", _UTC, nullable=True))
        batch.add_column(sa.Column("last_verified_at", _UTC, nullable=True))
        batch.add_column(sa.Column("retry_after", _UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wallet_poll_state") as batch:
        batch.drop_column("retry_after")
        batch.drop_column("last_verified_at")
        batch.drop_column("last_activity_time_seen")
        batch.drop_column("positions_complete")
    op.drop_table("rate_budget")
    op.drop_index("ix_activity_public_wallet_occurred_at", table_name="activity_public")
    op.drop_table("activity_public")
