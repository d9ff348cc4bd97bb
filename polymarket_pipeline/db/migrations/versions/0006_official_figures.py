"""Polymarket's own figures for closed positions, and when each wallet's official series was read

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

``positions_current`` carries the API's own avg price and realized PnL of *open* positions; a
position with no shares left is only in ``/v2/positions?status=CLOSED`` (v1
``/closed-positions``). ``api_closed_positions`` keeps those rows (one per wallet and token,
replaced at each read), so the PnL check compares closed positions as well.
``wallet_poll_state.official_fetched_at`` records the last read of a wallet's ``/v2/user-pnl``
series, so it is read at most daily even when the series is empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polymarket_pipeline.db.types import ExactDecimal, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_closed_positions",
        sa.Column("wallet_address", sa.String(42), nullable=False),
        sa.Column("asset", sa.String(100), nullable=False),
        sa.Column("condition_id", sa.String(66), nullable=False),
        sa.Column("avg_price", ExactDecimal(24, 12), nullable=True),
        sa.Column("realized_pnl", ExactDecimal(30, 6), nullable=True),
        sa.Column("total_bought", ExactDecimal(30, 6), nullable=True),
        sa.Column("cur_price", ExactDecimal(24, 12), nullable=True),
        sa.Column("fetched_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", "asset", name=op.f("pk_api_closed_positions")),
    )
    with op.batch_alter_table("wallet_poll_state") as batch:
        batch.add_column(sa.Column("official_fetched_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wallet_poll_state") as batch:
        batch.drop_column("official_fetched_at")
    op.drop_table("api_closed_positions")
