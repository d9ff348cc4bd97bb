"""The shared market cache: Gamma metadata and CLOB resolution, fetched once for every user."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import MarketCache, table_of
from polymarket_pipeline.db.upsert import bulk_upsert

_cache = table_of(MarketCache)


@dataclass(frozen=True, slots=True)
class CachedMarket:
    condition_id: str
    title: str | None
    slug: str | None
    category: str | None
    tags: list[str]
    outcomes: list[str]
    token_ids: list[str]
    closed: bool
    resolved: bool
    winner_asset: str | None
    fetched_at: datetime
    neg_risk: bool | None = None
    event_id: str | None = None
    resolved_at: datetime | None = None

    def outcome_for(self, asset: str) -> str | None:
        found = self.outcome_of(asset)
        return found[1] if found else None

    def outcome_of(self, asset: str) -> tuple[int, str | None] | None:
        """(outcome index, label) of one of this market's tokens, from its token list."""
        if asset not in self.token_ids:
            return None
        index = self.token_ids.index(asset)
        return index, self.outcomes[index] if index < len(self.outcomes) else None


def load_fresh(
    connection: Connection, condition_ids: Collection[str], *, now: datetime, max_age: timedelta
) -> dict[str, CachedMarket]:
    """Cached markets younger than ``max_age``; resolved markets never change, so they never expire."""
    if not condition_ids:
        return {}
    rows = connection.execute(select(_cache).where(_cache.c.condition_id.in_(list(condition_ids))))
    result = {}
    for row in rows:
        market = CachedMarket(
            condition_id=row.condition_id,
            title=row.title,
            slug=row.slug,
            category=row.category,
            tags=list(row.tags or []),
            outcomes=list(row.outcomes or []),
            token_ids=list(row.token_ids or []),
            closed=row.closed,
            resolved=row.resolved,
            winner_asset=row.winner_asset,
            fetched_at=row.fetched_at,
            neg_risk=row.neg_risk,
            event_id=row.event_id,
            resolved_at=row.resolved_at,
        )
        if market.resolved or now - market.fetched_at <= max_age:
            result[market.condition_id] = market
    return result


def store(connection: Connection, markets: Sequence[CachedMarket]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "condition_id": m.condition_id,
            "title": m.title,
            "slug": m.slug,
            "category": m.category,
            "tags": m.tags,
            "outcomes": m.outcomes,
            "token_ids": m.token_ids,
            "closed": m.closed,
            "resolved": m.resolved,
            "winner_asset": m.winner_asset,
            "fetched_at": m.fetched_at,
            "neg_risk": m.neg_risk,
            "event_id": m.event_id,
            "resolved_at": m.resolved_at,
        }
        for m in markets
    ]
    # a CLOB-only refresh (Gamma down) knows no event: it keeps what Gamma said before
    bulk_upsert(connection, _cache, rows, key=["condition_id"], keep_known=_GAMMA_ONLY)


_GAMMA_ONLY = ("neg_risk", "event_id", "resolved_at")
