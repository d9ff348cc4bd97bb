"""index review at scale: drop the indexes no query uses, index the failing wallets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

``bench/index_usage.py`` replays every statement the package sends under EXPLAIN ANALYZE on
10 million fills (``bench/results/index_usage.txt``). None of the seven indexes dropped here serves
a query or a write path (the totals' ``count(*)`` scans whichever index is smallest, which is no
reason to keep one); together they took 190 MB at 10 million fills and made a 20,000-row upsert
of ``trades_public`` 1.5x slower. ``state.resting`` (every sweep) scanned all of
``wallet_poll_state`` for the few wallets backing off: a partial index holds just those.
``downgrade`` restores the previous indexes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UNUSED = [
    # (index, table, columns)
    ("ix_trades_public_condition_id", "trades_public", ["condition_id"]),
    ("ix_positions_current_condition_id", "positions_current", ["condition_id"]),
    ("ix_positions_closed_closed_at", "positions_closed", ["closed_at"]),
    ("ix_positions_closed_wallet_closed_at", "positions_closed", ["wallet_address", "closed_at"]),
    ("ix_position_events_detected_at", "position_events", ["detected_at"]),
    ("ix_wallet_poll_state_active_hot", "wallet_poll_state", ["is_active", "is_hot_pinned"]),
    ("ix_external_markets_market_id", "external_markets", ["market_id"]),
]


RESTING = "ix_wallet_poll_state_retry_after"


def upgrade() -> None:
    for name, table, _ in UNUSED:
        op.drop_index(name, table_name=table)
    backing_off = sa.text("retry_after IS NOT NULL")
    op.create_index(
        RESTING,
        "wallet_poll_state",
        ["retry_after"],
        unique=False,
        postgresql_where=backing_off,
        sqlite_where=backing_off,
    )


def downgrade() -> None:
    op.drop_index(RESTING, table_name="wallet_poll_state")
    for name, table, columns in UNUSED:
        op.create_index(name, table, columns, unique=False)
