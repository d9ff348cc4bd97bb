"""Writing ``activity_public`` and reading back what explains a wallet's closed positions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, literal, select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import ActivityPublic, WalletPollState, table_of
from polymarket_pipeline.db.types import UtcDateTime
from polymarket_pipeline.db.upsert import bulk_upsert
from polymarket_pipeline.domain.activity import KeyedActivity
from polymarket_pipeline.domain.records import Activity

_activity = table_of(ActivityPublic)
_state = table_of(WalletPollState)

_ENRICHED = ("title", "slug", "event_slug", "outcome", "outcome_index")


def activity_rows(keyed: Sequence[KeyedActivity], now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "activity_id": k.activity_id,
            "wallet_address": k.activity.wallet_address,
            "type": k.activity.type,
            "condition_id": k.activity.condition_id,
            "asset": k.activity.asset,
            "side": k.activity.side,
            "size": k.activity.size,
            "usdc_size": k.activity.usdc_size,
            "price": k.activity.price,
            "outcome": k.activity.outcome,
            "outcome_index": k.activity.outcome_index,
            "title": k.activity.title,
            "slug": k.activity.slug,
            "event_slug": k.activity.event_slug,
            "transaction_hash": k.activity.transaction_hash,
            "occurred_at": datetime.fromtimestamp(k.activity.timestamp, tz=UTC),
            "occurrence": k.occurrence,
            "first_seen_at": now,
            "updated_at": now,
        }
        for k in keyed
    ]


def upsert_activity(connection: Connection, keyed: Sequence[KeyedActivity], now: datetime) -> int:
    """Upsert activity rows by ``activity_id``; returns how many were new."""
    if not keyed:
        return 0
    return bulk_upsert(
        connection,
        _activity,
        activity_rows(keyed, now),
        key=["activity_id"],
        update=(*_ENRICHED, "updated_at"),
        skip_unchanged=_ENRICHED,
        keep_known=_ENRICHED,
        count_inserted=True,
    )


def advance_activity_watermark(
    connection: Connection, wallet: str, newest: datetime | None, now: datetime
) -> None:
    """Move ``last_activity_time_seen`` forward (never backwards, never past ``now``)."""
    if newest is None:
        return
    candidate = literal(min(newest, now), type_=UtcDateTime())
    current = _state.c.last_activity_time_seen
    connection.execute(
        update(_state)
        .where(_state.c.wallet_address == wallet)
        .values(
            last_activity_time_seen=case(
                (current.is_(None), candidate), (current < candidate, candidate), else_=current
            )
        )
    )


def activity_watermark(connection: Connection, wallet: str) -> datetime | None:
    return connection.scalar(
        select(_state.c.last_activity_time_seen).where(_state.c.wallet_address == wallet)
    )


def activity_since(
    connection: Connection, wallet: str, since: datetime, types: Sequence[str]
) -> list[Activity]:
    """The wallet's stored activity of ``types`` at or after ``since`` (oldest first)."""
    a = _activity.c
    rows = connection.execute(
        select(
            a.wallet_address, a.type, a.occurred_at, a.condition_id, a.transaction_hash, a.size,
            a.usdc_size, a.price, a.asset, a.side, a.outcome, a.outcome_index, a.title, a.slug,
            a.event_slug,
        )
        .where(a.wallet_address == wallet, a.occurred_at >= since, a.type.in_(list(types)))
        .order_by(a.occurred_at)
    )  # fmt: skip
    return [
        Activity(
            wallet_address=r.wallet_address,
            type=r.type,
            timestamp=int(r.occurred_at.timestamp()),
            condition_id=r.condition_id,
            transaction_hash=r.transaction_hash,
            size=r.size,
            usdc_size=r.usdc_size,
            price=r.price,
            asset=r.asset,
            side=r.side,
            outcome=r.outcome,
            outcome_index=r.outcome_index,
            title=r.title,
            slug=r.slug,
            event_slug=r.event_slug,
        )
        for r in rows
    ]
