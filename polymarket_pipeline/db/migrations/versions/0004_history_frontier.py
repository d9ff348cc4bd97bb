"""complete histories: a frontier per route, and history_complete only where it is proven

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

A walk that stopped at the page limit used to advance the watermark and leave the oldest fills
unread for ever, and the next incremental walk then set ``history_complete``. The new columns
remember how far back each route's stored history reaches (``history_frontier_at``,
``activity_frontier_at``), where the wallet's history starts (``history_first_at``) and why it is
incomplete. No stored flag can be trusted (an incremental walk may have set it), so every wallet
starts incomplete with no frontier: the next cold sweeps re-read each history backwards from its
watermark, inside the backfill share of their budget, and set the flags when a walk reaches the
first row (``downgrade`` drops the columns and leaves the reset flags as they are).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polymarket_pipeline.db.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "wallet_poll_state"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("history_frontier_at", UtcDateTime(), nullable=True))
        batch.add_column(
            sa.Column("activity_history_complete", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("activity_frontier_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("history_first_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("history_incomplete_reason", sa.Text(), nullable=True))
    op.execute(
        sa.text(
            f"UPDATE {TABLE} SET history_complete = :no, activity_history_complete = :no, "
            "history_incomplete_reason = :why"
        ).bindparams(no=False, why="not proven complete before migration 0004: re-reading")
    )


def downgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        for column in (
            "history_incomplete_reason",
            "history_first_at",
            "activity_frontier_at",
            "activity_history_complete",
            "history_frontier_at",
        ):
            batch.drop_column(column)
