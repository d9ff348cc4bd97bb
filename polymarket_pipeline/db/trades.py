"""Writing fills to ``trades_public`` and advancing a wallet's trade watermark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, literal, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import TradePublic, WalletPollState, table_of
from polymarket_pipeline.db.types import UtcDateTime
from polymarket_pipeline.db.upsert import bulk_upsert
from polymarket_pipeline.domain.fills import KeyedFill

_trades = table_of(TradePublic)
_state = table_of(WalletPollState)

# Columns refreshed when a fill is seen again (the API enriches titles after the fact); a fill
# re-read unchanged (every poll re-reads its overlap window) is not rewritten, and an unknown
# value (the global feed's 999 and empty slugs, parsed as None) never replaces a known one.
_ENRICHED = ("title", "slug", "event_slug", "outcome", "outcome_index")


def trade_rows(keyed: Sequence[KeyedFill], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "trade_id": k.trade_id,
            "wallet_address": k.fill.wallet_address,
            "condition_id": k.fill.condition_id,
            "asset": k.fill.asset,
            "side": k.fill.side,
            "size": k.fill.size,
            "price": k.fill.price,
            "traded_at": datetime.fromtimestamp(k.fill.timestamp, tz=UTC),
            "transaction_hash": k.fill.transaction_hash,
            "title": k.fill.title,
            "slug": k.fill.slug,
            "event_slug": k.fill.event_slug,
            "outcome": k.fill.outcome,
            "outcome_index": k.fill.outcome_index,
            "occurrence": k.occurrence,
            "first_seen_at": now,
            "updated_at": now,
        }
        for k in keyed
    ]


def upsert_trades(connection: Connection, keyed: Sequence[KeyedFill], now: datetime) -> int:
    """Upsert fills by ``trade_id``; returns how many were new rows."""
    if not keyed:
        return 0
    return bulk_upsert(
        connection,
        _trades,
        trade_rows(keyed, now),
        key=["trade_id"],
        update=(*_ENRICHED, "updated_at"),
        skip_unchanged=_ENRICHED,
        keep_known=_ENRICHED,
        count_inserted=True,
    )


def advance_watermark(connection: Connection, wallet: str, newest: datetime | None, now: datetime) -> None:
    """Move ``last_trade_time_seen`` forward to ``newest`` (never backwards, never past ``now``).

    A fill dated in the future must not freeze the wallet: its watermark would skip every later
    fill. The parser refuses timestamps beyond now + 5 minutes; the clamp covers the rest. How
    far back the history reaches is ``db.history``'s, written in the same transaction.
    """
    if newest is not None:
        newest = min(newest, now)
    values: dict[str, Any] = {
        "last_trades_polled_at": now,
        "last_polled_at": now,
        "updated_at": now,
        "last_error": None,
        "last_error_at": None,
        "consecutive_failures": 0,
        "retry_after": None,
    }
    if newest is not None:
        current = _state.c.last_trade_time_seen
        candidate = literal(newest, type_=UtcDateTime())
        values["last_trade_time_seen"] = case(
            (current.is_(None), candidate), (current < candidate, candidate), else_=current
        )
    connection.execute(update(_state).where(_state.c.wallet_address == wallet).values(**values))
