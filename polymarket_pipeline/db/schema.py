"""The application tables (SQLAlchemy 2 declarative models).

Column names of the public contract (interface.md) are kept; extra bookkeeping columns are added
where reconciliation or restart safety needs them. Migrations in ``db/migrations`` mirror this file.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from polymarket_pipeline.db.types import ExactDecimal, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def new_id() -> str:
    """A random hex id for surrogate keys."""
    return uuid.uuid4().hex


class WalletPollState(Base):
    """The wallet registry and each wallet's polling cursor (one row per registered wallet)."""

    __tablename__ = "wallet_poll_state"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_hot_pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    last_trade_time_seen: Mapped[datetime | None] = mapped_column(nullable=True)
    """Newest stored fill time; advanced only after that wallet's fills are committed."""
    history_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """True only once every fill from the wallet's first one to the watermark has been read: a
    walk from the first fill completed (the first poll, or the last backward step)."""
    history_frontier_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """While the trade history is incomplete: every fill from this second (re-read whole by the
    next backward step) to the watermark is stored; older ones are still to read. NULL with the
    history incomplete: not started (the next step starts at the watermark)."""
    activity_history_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Like ``history_complete``, for ``activity_public``."""
    activity_frontier_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Like ``history_frontier_at``, for activity (v2 walks it newest first)."""
    history_first_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """The wallet's first activity, as the API told it: how far back an incomplete history goes."""
    history_incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Why the history is incomplete (the walk that stopped early, and where); NULL once whole."""
    official_fetched_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Last read of the wallet's ``/v2/user-pnl`` series (read at most daily, hot wallets only)."""
    last_polled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_trades_polled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_positions_polled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    positions_snapshot_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Fetch time of the stored position snapshot; an older fetch never overwrites a newer one."""
    positions_complete: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False while the last snapshot was known to be incomplete (no closes were derived from it)."""
    last_activity_time_seen: Mapped[datetime | None] = mapped_column(nullable=True)
    """Newest stored ``activity_public`` row of the wallet: the activity watermark."""
    last_verified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Last full per-wallet verification (``/trades`` and ``/activity`` since the watermarks)."""
    retry_after: Mapped[datetime | None] = mapped_column(nullable=True)
    """A failing wallet is not polled again before this (exponential backoff)."""
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        # only wallets backing off after failures: what ``state.resting`` looks for at each sweep
        Index(
            "ix_wallet_poll_state_retry_after",
            "retry_after",
            postgresql_where=text("retry_after IS NOT NULL"),
            sqlite_where=text("retry_after IS NOT NULL"),
        ),
    )


class Follow(Base):
    """A user following a trader: followed wallets are hot."""

    __tablename__ = "follows"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    wallet_address: Mapped[str] = mapped_column(
        String(42), ForeignKey("wallet_poll_state.wallet_address"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index("ix_follows_wallet_address", "wallet_address"),)


class TradePublic(Base):
    """One fill of one wallet (taker or maker leg), keyed by its natural-key hash."""

    __tablename__ = "trades_public"

    trade_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wallet_address: Mapped[str] = mapped_column(String(42))
    condition_id: Mapped[str] = mapped_column(String(66))
    asset: Mapped[str] = mapped_column(String(100))
    side: Mapped[str] = mapped_column(String(4))
    size: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    traded_at: Mapped[datetime] = mapped_column()
    transaction_hash: Mapped[str] = mapped_column(String(66))
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    slug: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_slug: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """0 for the first fill with a natural key; n for the n-th exact repeat in one response."""
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ingest_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Insertion order, assigned by the database (a sequence on PostgreSQL, a trigger on SQLite;
    migration 0005), never by a writer's clock: the PnL layer's cursor. NULL on rows stored
    before 0005 (the first PnL run replays every wallet whole)."""

    __table_args__ = (
        Index("ix_trades_public_wallet_traded_at", "wallet_address", "traded_at"),
        Index("ix_trades_public_traded_at", "traded_at"),
        Index(
            "ix_trades_public_ingest_seq",
            "ingest_seq",
            postgresql_where=text("ingest_seq IS NOT NULL"),
            sqlite_where=text("ingest_seq IS NOT NULL"),
        ),
    )


class ActivityPublic(Base):
    """One on-chain activity row of one wallet (TRADE, REDEEM, SPLIT, MERGE, CONVERSION, REWARD…)."""

    __tablename__ = "activity_public"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    wallet_address: Mapped[str] = mapped_column(String(42))
    type: Mapped[str] = mapped_column(String(32))
    condition_id: Mapped[str | None] = mapped_column(String(66), nullable=True)
    asset: Mapped[str | None] = mapped_column(String(100), nullable=True)
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    size: Mapped[float | None] = mapped_column(Float, nullable=True)
    usdc_size: Mapped[float | None] = mapped_column(Float, nullable=True)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    slug: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_slug: Mapped[str | None] = mapped_column(Text, nullable=True)
    transaction_hash: Mapped[str] = mapped_column(String(66))
    occurred_at: Mapped[datetime] = mapped_column()
    occurrence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ingest_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    """Like ``trades_public.ingest_seq``."""

    __table_args__ = (
        Index("ix_activity_public_wallet_occurred_at", "wallet_address", "occurred_at"),
        Index(
            "ix_activity_public_ingest_seq",
            "ingest_seq",
            postgresql_where=text("ingest_seq IS NOT NULL"),
            sqlite_where=text("ingest_seq IS NOT NULL"),
        ),
    )


class RateBudget(Base):
    """Shared token buckets (GCRA): one row per budget, shared by every process of a deployment."""

    __tablename__ = "rate_budget"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    theoretical_arrival: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    """Epoch seconds (database clock) at which the bucket is next empty: GCRA's TAT."""


class PositionCurrent(Base):
    """The latest snapshot of each open position."""

    __tablename__ = "positions_current"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    asset: Mapped[str] = mapped_column(String(100), primary_key=True)
    condition_id: Mapped[str] = mapped_column(String(66))
    size: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    cur_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    current_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    initial_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    cash_pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    realized_pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    redeemable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    mergeable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    slug: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PositionClosed(Base):
    """One row per closing of a position, with the reason it closed."""

    __tablename__ = "positions_closed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wallet_address: Mapped[str] = mapped_column(String(42))
    asset: Mapped[str] = mapped_column(String(100))
    condition_id: Mapped[str] = mapped_column(String(66))
    reason: Mapped[str] = mapped_column(String(20))
    closed_at: Mapped[datetime] = mapped_column()
    last_size: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    cur_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    realized_pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    first_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PositionEvent(Base):
    """One row per detected change of a position (opened, increased, decreased, closed)."""

    __tablename__ = "position_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wallet_address: Mapped[str] = mapped_column(String(42))
    asset: Mapped[str] = mapped_column(String(100))
    condition_id: Mapped[str | None] = mapped_column(String(66), nullable=True)
    event_type: Mapped[str] = mapped_column(String(10))
    size_before: Mapped[float] = mapped_column(Float)
    size_after: Mapped[float] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    detected_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_position_events_wallet_asset", "wallet_address", "asset", "id"),)


class WalletLink(Base):
    """A user's linked wallet, the input of the daily integrations sync."""

    __tablename__ = "wallet_links"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(255))
    chain: Mapped[str] = mapped_column(String(32), default="polygon", server_default="polygon")
    address: Mapped[str] = mapped_column(String(42))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        UniqueConstraint("user_id", "chain", "address", name="uq_wallet_links_user_chain_address"),
        Index("ix_wallet_links_address", "address"),
    )


class ExternalPositionsRaw(Base):
    """Payloads exactly as received, one per (user, source, UTC day) unless a sync was forced."""

    __tablename__ = "external_positions_raw"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))
    sync_date: Mapped[date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """0 for the day's sync; 1, 2, ... for forced re-syncs of the same day."""
    fetched_at: Mapped[datetime] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        UniqueConstraint(
            "user_id", "source", "sync_date", "revision", name="uq_external_positions_raw_user_day_rev"
        ),
    )


class ExternalMarket(Base):
    """A user's position in one token, summed across all the user's linked wallets."""

    __tablename__ = "external_markets"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    asset: Mapped[str] = mapped_column(String(100), primary_key=True)
    market_id: Mapped[str] = mapped_column(String(66))
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    category: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[float] = mapped_column(Float)
    avg_price: Mapped[float | None] = mapped_column(Float, nullable=True)
    current_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    pnl: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    wallet_count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    as_of: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MarketCache(Base):
    """Market metadata (Gamma) and resolution (CLOB), shared by all users, refreshed at most hourly."""

    __tablename__ = "market_cache"

    condition_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text, nullable=True)
    slug: Mapped[str | None] = mapped_column(Text, nullable=True)
    category: Mapped[str | None] = mapped_column(Text, nullable=True)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outcomes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    token_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    winner_asset: Mapped[str | None] = mapped_column(String(100), nullable=True)
    fetched_at: Mapped[datetime] = mapped_column()
    neg_risk: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """Gamma's ``negRisk``; NULL when Gamma did not say (legacy markets, CLOB-only rows)."""
    event_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """Gamma's event of the market (``events[0].id``): the neg-risk event a conversion spans."""
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Gamma's ``closedTime`` of a resolved market (NULL when not given): which day-end marks see
    the payout."""


class SyncRun(Base):
    """One summary row per sweep, hot cycle or integrations run (what the seeds printed)."""

    __tablename__ = "sync_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="running")
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_sync_runs_kind_finished_at", "kind", "finished_at"),)


# --- profit and loss (interface.md "Profit and loss"; rules in pnl.md) -----------------------------
# Money, shares and prices are exact decimals (``ExactDecimal``): NUMERIC on PostgreSQL; on SQLite
# a double read back through its shortest repr (exact to 15 significant digits). Values written
# are the quantized Decimals of ``domain.pnl``: USDC and shares to 6 decimals, prices to 12.

MONEY = ExactDecimal(30, 6)
SHARES = ExactDecimal(30, 6)
PRICE = ExactDecimal(24, 12)
RATIO = ExactDecimal(30, 10)


class PositionPnl(Base):
    """One (wallet, token) of the replayed ledger, and the resumable state it was computed from."""

    __tablename__ = "position_pnl"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    asset: Mapped[str] = mapped_column(String(100), primary_key=True)
    condition_id: Mapped[str] = mapped_column(String(66))
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shares: Mapped[Decimal] = mapped_column(SHARES)
    """Held per the ledger (tracked shares only)."""
    avg_price: Mapped[Decimal] = mapped_column(PRICE)
    total_bought: Mapped[Decimal] = mapped_column(SHARES)
    cost_basis: Mapped[Decimal] = mapped_column(MONEY)
    buy_cost: Mapped[Decimal] = mapped_column(MONEY)
    """Sum of size x price over every buy (the ROI denominator)."""
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    mark_price: Mapped[Decimal | None] = mapped_column(PRICE, nullable=True)
    mark_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    fees_usdc: Mapped[Decimal] = mapped_column(MONEY)
    volume_usdc: Mapped[Decimal] = mapped_column(MONEY)
    fills: Mapped[int] = mapped_column(Integer)
    untracked_shares: Mapped[Decimal] = mapped_column(SHARES)
    status: Mapped[str] = mapped_column(String(10))
    complete: Mapped[bool] = mapped_column(Boolean)
    incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    api_avg_price: Mapped[Decimal | None] = mapped_column(PRICE, nullable=True)
    api_realized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    first_event_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_event_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_fill_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_fill_at: Mapped[datetime | None] = mapped_column(nullable=True)
    state: Mapped[str] = mapped_column(Text)
    """JSON: the unrounded ``TokenState`` and today's fills and volume of the token (what an
    incremental run resumes from; text rather than JSON so large batches take the COPY path)."""
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        # a market's holders (its info changed) and a wallet's tokens in some conditions
        Index("ix_position_pnl_condition_wallet", "condition_id", "wallet_address"),
    )


class WalletPnlDaily(Base):
    """A wallet's figures at the end of one UTC day (today's row: as of the last run)."""

    __tablename__ = "wallet_pnl_daily"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    fees_usdc: Mapped[Decimal] = mapped_column(MONEY)
    income_usdc: Mapped[Decimal] = mapped_column(MONEY)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    unrealized_complete: Mapped[bool] = mapped_column(Boolean)
    trade_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    position_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    economic_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    volume_usdc: Mapped[Decimal] = mapped_column(MONEY)
    """That day only (USDC notional of its fills)."""
    fills: Mapped[int] = mapped_column(Integer)
    """That day only."""
    marked_positions: Mapped[int] = mapped_column(Integer)
    unmarked_positions: Mapped[int] = mapped_column(Integer)
    mark_basis: Mapped[str] = mapped_column(String(16))
    """``live`` (today's row: the API's marks) or ``day_end`` (resolution payouts and last fills)."""
    complete: Mapped[bool] = mapped_column(Boolean)
    incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    computed_at: Mapped[datetime] = mapped_column()


class TraderStats(Base):
    """A wallet's current totals; the official comparison columns are written by the check."""

    __tablename__ = "trader_stats"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    unrealized_complete: Mapped[bool] = mapped_column(Boolean)
    trade_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    position_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    economic_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fees_usdc: Mapped[Decimal] = mapped_column(MONEY)
    income_usdc: Mapped[Decimal] = mapped_column(MONEY)
    volume_usdc: Mapped[Decimal] = mapped_column(MONEY)
    """USDC notional of the fills (Polymarket's boards count shares)."""
    fills: Mapped[int] = mapped_column(Integer)
    markets: Mapped[int] = mapped_column(Integer)
    positions: Mapped[int] = mapped_column(Integer)
    open_positions: Mapped[int] = mapped_column(Integer)
    wins: Mapped[int] = mapped_column(Integer)
    losses: Mapped[int] = mapped_column(Integer)
    win_rate: Mapped[Decimal | None] = mapped_column(RATIO, nullable=True)
    roi: Mapped[Decimal | None] = mapped_column(RATIO, nullable=True)
    decided_pnl: Mapped[Decimal] = mapped_column(MONEY)
    decided_cost: Mapped[Decimal] = mapped_column(MONEY)
    max_drawdown_usdc: Mapped[Decimal] = mapped_column(MONEY)
    first_fill_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_fill_at: Mapped[datetime | None] = mapped_column(nullable=True)
    complete: Mapped[bool] = mapped_column(Boolean)
    incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    conversions: Mapped[int] = mapped_column(Integer)
    official_realized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    official_position_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    official_delta_usdc: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    """Our position PnL minus the official one (the latest ``wallet_pnl_official`` point)."""
    official_realized_delta_usdc: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    official_agrees: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    official_likely_cause: Mapped[str | None] = mapped_column(String(32), nullable=True)
    official_point_at: Mapped[datetime | None] = mapped_column(nullable=True)
    official_checked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    as_of: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class UserPnl(Base):
    """``trader_stats`` summed over a user's ``wallet_links``."""

    __tablename__ = "user_pnl"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    wallets: Mapped[int] = mapped_column(Integer)
    """Distinct linked addresses."""
    tracked_wallets: Mapped[int] = mapped_column(Integer)
    """Linked addresses with ``trader_stats`` (registered and computed)."""
    realized_pnl: Mapped[Decimal] = mapped_column(MONEY)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    unrealized_complete: Mapped[bool] = mapped_column(Boolean)
    trade_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    position_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    economic_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fees_usdc: Mapped[Decimal] = mapped_column(MONEY)
    income_usdc: Mapped[Decimal] = mapped_column(MONEY)
    volume_usdc: Mapped[Decimal] = mapped_column(MONEY)
    fills: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean)
    """False when a linked wallet is incomplete or not tracked."""
    incomplete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    as_of: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class WalletPnlOfficial(Base):
    """Polymarket's ``/v2/user-pnl`` points as received (None means "not covered", never 0)."""

    __tablename__ = "wallet_pnl_official"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(primary_key=True)
    source_block: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    realized_market_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    realized_lp_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    realized_combo_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    realized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    position_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    wallet_income: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    economic_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    settled_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    trade_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fees: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fees_paid: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fees_charged: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    fees_refunded: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    maker_rebate: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    taker_rebate: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    reward_income: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    yield_income: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    referral_income: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    sponsored_income: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    deposits: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    withdrawals: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    cashflow_net: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    volume: Mapped[Decimal | None] = mapped_column(SHARES, nullable=True)
    """Shares traded (Polymarket's boards)."""
    volume_usdc: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    trade_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    interval: Mapped[str | None] = mapped_column(String(8), nullable=True)
    fidelity: Mapped[str | None] = mapped_column(String(8), nullable=True)
    source_fidelity: Mapped[str | None] = mapped_column(String(8), nullable=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The point exactly as received."""
    fetched_at: Mapped[datetime] = mapped_column()


class ApiClosedPosition(Base):
    """Polymarket's own figures for a position with no shares left (``status=CLOSED``), as last read."""

    __tablename__ = "api_closed_positions"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    asset: Mapped[str] = mapped_column(String(100), primary_key=True)
    condition_id: Mapped[str] = mapped_column(String(66))
    avg_price: Mapped[Decimal | None] = mapped_column(PRICE, nullable=True)
    realized_pnl: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    total_bought: Mapped[Decimal | None] = mapped_column(SHARES, nullable=True)
    cur_price: Mapped[Decimal | None] = mapped_column(PRICE, nullable=True)
    fetched_at: Mapped[datetime] = mapped_column()


class PnlState(Base):
    """The PnL layer's global cursor: the ``ingest_seq`` up to which every wallet's rows are applied."""

    __tablename__ = "pnl_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    trades_seq: Mapped[int] = mapped_column(BigInteger)
    activity_seq: Mapped[int] = mapped_column(BigInteger)
    run_at: Mapped[datetime] = mapped_column()


class PnlWalletState(Base):
    """One wallet's resumable book (its wallet-level part) and running totals."""

    __tablename__ = "pnl_wallet_state"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    """Bumped by every write: a run writes a wallet only if no other run did since it read it."""
    book: Mapped[str] = mapped_column(Text)
    """JSON: ``Book.wallet_dict()`` without the per-condition keys (``pnl_condition_state``)."""
    totals: Mapped[str] = mapped_column(Text)
    """JSON: exact sums over the wallet's position rows (trader_stats without a full read)."""
    trades_seq: Mapped[int] = mapped_column(BigInteger)
    activity_seq: Mapped[int] = mapped_column(BigInteger)
    """``ingest_seq`` up to which this wallet's rows are applied (beyond the global cursor after a
    run restricted to some wallets)."""
    history_complete: Mapped[bool] = mapped_column(Boolean)
    """The registry's flags (trades and activity) the book was replayed under."""
    positions_snapshot_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """The ``positions_current`` snapshot whose marks the figures use."""
    daily_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    """The day of the last ``wallet_pnl_daily`` row written live."""
    drawdown_through: Mapped[date | None] = mapped_column(Date, nullable=True)
    """Running peak and drawdown of the stored daily curve up to this day (NULL: re-read it)."""
    drawdown_peak: Mapped[Decimal] = mapped_column(MONEY)
    drawdown_worst: Mapped[Decimal] = mapped_column(MONEY)
    replayed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    """Last replay of the whole wallet."""
    updated_at: Mapped[datetime] = mapped_column()


class PnlConditionState(Base):
    """The key of the last share-moving event applied per (wallet, condition): what ``is_late`` reads."""

    __tablename__ = "pnl_condition_state"

    wallet_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    condition_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    last_key: Mapped[str] = mapped_column(Text)
    """JSON list [timestamp, phase, tie-break]."""

    __table_args__ = (Index("ix_pnl_condition_state_condition_id", "condition_id"),)  # a market's holders


class PnlMarketState(Base):
    """What the replay last knew of each market (tokens, payouts, event members), as a fingerprint:
    a market whose fingerprint changed has its holders' positions in it replayed."""

    __tablename__ = "pnl_market_state"

    condition_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column()


def table_of(model: type[Base]) -> Table:
    """The Core ``Table`` of a model, typed as one (``__table__`` is typed as a bare FromClause)."""
    return cast(Table, model.__table__)
