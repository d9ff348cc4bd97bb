"""profit and loss: the PnL tables, their resumable state, an insertion order on the tape, event membership

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14

The PnL layer keeps one row per replayed (wallet, token) (``position_pnl``, with the unrounded
``TokenState`` it resumes from), daily and current wallet figures (``wallet_pnl_daily``,
``trader_stats``), per-user sums (``user_pnl``) and Polymarket's own series
(``wallet_pnl_official``). Money, shares and prices are NUMERIC (exact on PostgreSQL).

An incremental run must read "the rows stored since the last run" as an index range. The
writers' ``first_seen_at`` cannot serve: it is the poller's clock (pinned in tests, equal across
a whole sweep), and a transaction that stamped an earlier time may commit after a later one. So
``trades_public`` and ``activity_public`` get ``ingest_seq``, assigned by the database at insert
(a sequence on PostgreSQL; on SQLite, whose writers are serialized, a trigger taking max + 1),
with a partial index: rows stored before this migration keep NULL (the first run replays every
wallet whole) and cost the index nothing. A run takes the horizon ``max(ingest_seq)`` while no
writer is in flight (``LOCK ... IN SHARE MODE`` for an instant on PostgreSQL, the write lock on
SQLite), so no row at or below it can still appear.

A later migration that recreates ``trades_public`` or ``activity_public`` on SQLite (a batch
"move and copy") drops the trigger and must create it again (``SQLITE_TRIGGER``); ``db.pnl``
refuses to run without it.

``market_cache`` learns each market's neg-risk flag, Gamma event and resolution time (what a
conversion's YES legs and a day-end mark need).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from polymarket_pipeline.db.types import ExactDecimal, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TAPE = ("trades_public", "activity_public")

SQLITE_TRIGGER = """
CREATE TRIGGER {table}_ingest_seq AFTER INSERT ON {table}
FOR EACH ROW WHEN NEW.ingest_seq IS NULL
BEGIN
    UPDATE {table} SET ingest_seq = (
        SELECT coalesce(max(ingest_seq), 0) + 1 FROM {table} WHERE ingest_seq IS NOT NULL
    ) WHERE rowid = NEW.rowid;
END
"""


def money() -> ExactDecimal:
    return ExactDecimal(30, 6)


def price() -> ExactDecimal:
    return ExactDecimal(24, 12)


def ratio() -> ExactDecimal:
    return ExactDecimal(30, 10)


def _add_ingest_seq(table: str) -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("ingest_seq", sa.BigInteger(), nullable=True))
    if dialect == "postgresql":
        sequence = f"{table}_ingest_seq_seq"
        op.execute(f"CREATE SEQUENCE {sequence} OWNED BY {table}.ingest_seq")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN ingest_seq SET DEFAULT nextval('{sequence}')")
    elif dialect == "sqlite":
        op.execute(SQLITE_TRIGGER.format(table=table))
    stored = sa.text("ingest_seq IS NOT NULL")
    op.create_index(
        f"ix_{table}_ingest_seq", table, ["ingest_seq"], postgresql_where=stored, sqlite_where=stored
    )


def _drop_ingest_seq(table: str) -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(f"ix_{table}_ingest_seq", table_name=table)
    if dialect == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_ingest_seq")
    elif dialect == "postgresql":
        op.execute(f"ALTER TABLE {table} ALTER COLUMN ingest_seq DROP DEFAULT")
    with op.batch_alter_table(table) as batch:
        batch.drop_column("ingest_seq")  # drops the owned sequence too


def upgrade() -> None:
    for table in TAPE:
        _add_ingest_seq(table)

    with op.batch_alter_table("market_cache") as batch:
        batch.add_column(sa.Column("neg_risk", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("event_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("resolved_at", UtcDateTime(), nullable=True))

    op.create_table(
        "position_pnl",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("asset", sa.String(length=100), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_index", sa.Integer(), nullable=True),
        sa.Column("shares", money(), nullable=False),
        sa.Column("avg_price", price(), nullable=False),
        sa.Column("total_bought", money(), nullable=False),
        sa.Column("cost_basis", money(), nullable=False),
        sa.Column("buy_cost", money(), nullable=False),
        sa.Column("realized_pnl", money(), nullable=False),
        sa.Column("unrealized_pnl", money(), nullable=True),
        sa.Column("mark_price", price(), nullable=True),
        sa.Column("mark_source", sa.String(length=16), nullable=True),
        sa.Column("fees_usdc", money(), nullable=False),
        sa.Column("volume_usdc", money(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("untracked_shares", money(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("incomplete_reason", sa.Text(), nullable=True),
        sa.Column("api_avg_price", price(), nullable=True),
        sa.Column("api_realized_pnl", money(), nullable=True),
        sa.Column("first_event_at", UtcDateTime(), nullable=True),
        sa.Column("last_event_at", UtcDateTime(), nullable=True),
        sa.Column("first_fill_at", UtcDateTime(), nullable=True),
        sa.Column("last_fill_at", UtcDateTime(), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", "asset", name=op.f("pk_position_pnl")),
    )
    op.create_index("ix_position_pnl_condition_wallet", "position_pnl", ["condition_id", "wallet_address"])

    op.create_table(
        "wallet_pnl_daily",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("realized_pnl", money(), nullable=False),
        sa.Column("fees_usdc", money(), nullable=False),
        sa.Column("income_usdc", money(), nullable=False),
        sa.Column("unrealized_pnl", money(), nullable=True),
        sa.Column("unrealized_complete", sa.Boolean(), nullable=False),
        sa.Column("trade_pnl", money(), nullable=True),
        sa.Column("position_pnl", money(), nullable=True),
        sa.Column("economic_pnl", money(), nullable=True),
        sa.Column("volume_usdc", money(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("marked_positions", sa.Integer(), nullable=False),
        sa.Column("unmarked_positions", sa.Integer(), nullable=False),
        sa.Column("mark_basis", sa.String(length=16), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("incomplete_reason", sa.Text(), nullable=True),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", "day", name=op.f("pk_wallet_pnl_daily")),
    )

    op.create_table(
        "trader_stats",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("realized_pnl", money(), nullable=False),
        sa.Column("unrealized_pnl", money(), nullable=True),
        sa.Column("unrealized_complete", sa.Boolean(), nullable=False),
        sa.Column("trade_pnl", money(), nullable=True),
        sa.Column("position_pnl", money(), nullable=True),
        sa.Column("economic_pnl", money(), nullable=True),
        sa.Column("fees_usdc", money(), nullable=False),
        sa.Column("income_usdc", money(), nullable=False),
        sa.Column("volume_usdc", money(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("markets", sa.Integer(), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("open_positions", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("losses", sa.Integer(), nullable=False),
        sa.Column("win_rate", ratio(), nullable=True),
        sa.Column("roi", ratio(), nullable=True),
        sa.Column("decided_pnl", money(), nullable=False),
        sa.Column("decided_cost", money(), nullable=False),
        sa.Column("max_drawdown_usdc", money(), nullable=False),
        sa.Column("first_fill_at", UtcDateTime(), nullable=True),
        sa.Column("last_fill_at", UtcDateTime(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("incomplete_reason", sa.Text(), nullable=True),
        sa.Column("conversions", sa.Integer(), nullable=False),
        sa.Column("official_realized_pnl", money(), nullable=True),
        sa.Column("official_position_pnl", money(), nullable=True),
        sa.Column("official_delta_usdc", money(), nullable=True),
        sa.Column("official_realized_delta_usdc", money(), nullable=True),
        sa.Column("official_agrees", sa.Boolean(), nullable=True),
        sa.Column("official_likely_cause", sa.String(length=32), nullable=True),
        sa.Column("official_point_at", UtcDateTime(), nullable=True),
        sa.Column("official_checked_at", UtcDateTime(), nullable=True),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", name=op.f("pk_trader_stats")),
    )

    op.create_table(
        "user_pnl",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("wallets", sa.Integer(), nullable=False),
        sa.Column("tracked_wallets", sa.Integer(), nullable=False),
        sa.Column("realized_pnl", money(), nullable=False),
        sa.Column("unrealized_pnl", money(), nullable=True),
        sa.Column("unrealized_complete", sa.Boolean(), nullable=False),
        sa.Column("trade_pnl", money(), nullable=True),
        sa.Column("position_pnl", money(), nullable=True),
        sa.Column("economic_pnl", money(), nullable=True),
        sa.Column("fees_usdc", money(), nullable=False),
        sa.Column("income_usdc", money(), nullable=False),
        sa.Column("volume_usdc", money(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("incomplete_reason", sa.Text(), nullable=True),
        sa.Column("as_of", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_pnl")),
    )

    official_money = (
        "realized_market_pnl",
        "realized_lp_pnl",
        "realized_combo_pnl",
        "realized_pnl",
        "unrealized_pnl",
        "position_pnl",
        "wallet_income",
        "economic_pnl",
        "settled_pnl",
        "trade_pnl",
        "fees",
        "fees_paid",
        "fees_charged",
        "fees_refunded",
        "maker_rebate",
        "taker_rebate",
        "reward_income",
        "yield_income",
        "referral_income",
        "sponsored_income",
        "deposits",
        "withdrawals",
        "cashflow_net",
    )
    op.create_table(
        "wallet_pnl_official",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("timestamp", UtcDateTime(), nullable=False),
        sa.Column("source_block", sa.BigInteger(), nullable=True),
        *(sa.Column(name, money(), nullable=True) for name in official_money),
        sa.Column("volume", money(), nullable=True),
        sa.Column("volume_usdc", money(), nullable=True),
        sa.Column("trade_count", sa.BigInteger(), nullable=True),
        sa.Column("interval", sa.String(length=8), nullable=True),
        sa.Column("fidelity", sa.String(length=8), nullable=True),
        sa.Column("source_fidelity", sa.String(length=8), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("fetched_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", "timestamp", name=op.f("pk_wallet_pnl_official")),
    )

    op.create_table(
        "pnl_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("trades_seq", sa.BigInteger(), nullable=False),
        sa.Column("activity_seq", sa.BigInteger(), nullable=False),
        sa.Column("run_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_pnl_state")),
    )
    op.create_table(
        "pnl_wallet_state",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("book", sa.Text(), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.Column("trades_seq", sa.BigInteger(), nullable=False),
        sa.Column("activity_seq", sa.BigInteger(), nullable=False),
        sa.Column("history_complete", sa.Boolean(), nullable=False),
        sa.Column("positions_snapshot_at", UtcDateTime(), nullable=True),
        sa.Column("daily_day", sa.Date(), nullable=True),
        sa.Column("drawdown_through", sa.Date(), nullable=True),
        sa.Column("drawdown_peak", money(), nullable=False),
        sa.Column("drawdown_worst", money(), nullable=False),
        sa.Column("replayed_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", name=op.f("pk_pnl_wallet_state")),
    )
    op.create_table(
        "pnl_condition_state",
        sa.Column("wallet_address", sa.String(length=42), nullable=False),
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("last_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("wallet_address", "condition_id", name=op.f("pk_pnl_condition_state")),
    )
    op.create_index("ix_pnl_condition_state_condition_id", "pnl_condition_state", ["condition_id"])
    op.create_table(
        "pnl_market_state",
        sa.Column("condition_id", sa.String(length=66), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("condition_id", name=op.f("pk_pnl_market_state")),
    )


def downgrade() -> None:
    for table in (
        "pnl_market_state",
        "pnl_condition_state",
        "pnl_wallet_state",
        "pnl_state",
        "wallet_pnl_official",
        "user_pnl",
        "trader_stats",
        "wallet_pnl_daily",
    ):
        op.drop_table(table)
    op.drop_index("ix_position_pnl_condition_wallet", table_name="position_pnl")
    op.drop_table("position_pnl")
    with op.batch_alter_table("market_cache") as batch:
        for column in ("resolved_at", "event_id", "neg_risk"):
            batch.drop_column(column)
    for table in reversed(TAPE):
        _drop_ingest_seq(table)
