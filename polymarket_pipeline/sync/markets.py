"""Market metadata and resolution, read through the shared cache.

Gamma gives titles, classification, outcomes and its own resolution view (``closed``,
``umaResolutionStatus``, ``outcomePrices``) for many markets per request; CLOB answers one market
at a time (``closed`` plus a winner flag, or settled 1/0 prices), so it is only asked about
markets Gamma reports closed, or that Gamma does not know. A market is resolved when either
says so. Resolution only ever goes one way, so a resolved cache entry is final, while an
unresolved one is re-checked whenever a close must be classified (:meth:`MarketDirectory.resolved`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PayloadError
from polymarket_pipeline.db import markets as market_cache
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.markets import CachedMarket
from polymarket_pipeline.domain.markets import market_category, market_tags
from polymarket_pipeline.domain.records import MarketMetadata, MarketResolution

log = logging.getLogger(__name__)

CACHE_MAX_AGE = timedelta(hours=1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class MarketDirectory:
    """Looks markets up once per process and at most hourly across processes (the DB cache)."""

    def __init__(
        self,
        client: PolymarketClient,
        engine: Engine,
        *,
        max_age: timedelta = CACHE_MAX_AGE,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._client = client
        self._engine = engine
        self._max_age = max_age
        self._now = now
        self._known: dict[str, CachedMarket] = {}
        self._events_read: set[str] = set()
        self._lock = asyncio.Lock()

    async def get(self, condition_ids: Collection[str]) -> dict[str, CachedMarket]:
        """Cached or freshly fetched markets for ``condition_ids`` (unknown ids are left out)."""
        async with self._lock:  # concurrent wallets asking for the same market fetch it once
            missing = [c for c in dict.fromkeys(condition_ids) if c not in self._known]
            if missing:
                now = self._now()
                cached = await asyncio.to_thread(self._load, missing, now)
                self._known.update(cached)
                to_fetch = [c for c in missing if c not in cached]
                if to_fetch:
                    fetched = await self._fetch(to_fetch, now)
                    await asyncio.to_thread(self._store, list(fetched.values()))
                    self._known.update(fetched)
        return {c: self._known[c] for c in condition_ids if c in self._known}

    async def with_event_members(self, condition_ids: Collection[str]) -> None:
        """Cache every market of the neg-risk events these markets belong to (once per event and
        process): a conversion's legs are the other markets of its event, which the PnL replay
        can only name when they are in the cache."""
        known = await self.get(condition_ids)
        events = sorted({m.event_id for m in known.values() if m.neg_risk and m.event_id} - self._events_read)
        if not events:
            return
        members = await self._client.fetch_event_markets(events)
        await self.get([m.condition_id for m in members])  # each member as any market is cached
        self._events_read.update(events)

    async def resolved(self, condition_ids: Collection[str]) -> set[str]:
        """Markets resolved *now*: cached resolutions are final, anything else is asked again."""
        wanted = list(dict.fromkeys(condition_ids))
        if not wanted:
            return set()
        known = await self.get(wanted)
        recheck = [c for c in wanted if not (c in known and known[c].resolved)]
        if recheck:
            async with self._lock:
                now = self._now()
                fetched = await self._fetch(recheck, now)
                await asyncio.to_thread(self._store, list(fetched.values()))
                self._known.update(fetched)
        return {c for c in wanted if c in self._known and self._known[c].resolved}

    def _load(self, condition_ids: list[str], now: datetime) -> dict[str, CachedMarket]:
        with reading(self._engine) as connection:
            return market_cache.load_fresh(connection, condition_ids, now=now, max_age=self._max_age)

    def _store(self, markets: list[CachedMarket]) -> None:
        if markets:
            with self._engine.begin() as connection:
                market_cache.store(connection, markets)

    async def _fetch(self, condition_ids: list[str], now: datetime) -> dict[str, CachedMarket]:
        metadata = {m.condition_id: m for m in await self._client.fetch_market_metadata(condition_ids)}
        need_clob = [c for c in condition_ids if c not in metadata or metadata[c].closed]
        resolutions = await asyncio.gather(*(self._resolution(c) for c in need_clob))
        by_id = {r.condition_id: r for r in resolutions if r is not None}
        result = {}
        for condition_id in condition_ids:
            meta, resolution = metadata.get(condition_id), by_id.get(condition_id)
            if meta is None and resolution is None:
                continue
            result[condition_id] = _merge(condition_id, meta, resolution, now)
        return result

    async def _resolution(self, condition_id: str) -> MarketResolution | None:
        """CLOB's view of one market; a malformed answer is skipped with a warning, never fatal."""
        try:
            return await self._client.fetch_market_resolution(condition_id)
        except PayloadError as exc:
            if exc.retryable:
                raise
            log.warning("market %s skipped: CLOB sent an unusable market (%s)", condition_id, exc)
            return None


def _merge(
    condition_id: str, meta: MarketMetadata | None, resolution: MarketResolution | None, now: datetime
) -> CachedMarket:
    tokens = resolution.tokens if resolution else ()
    token_ids = list(meta.clob_token_ids) if meta and meta.clob_token_ids else [t.token_id for t in tokens]
    outcomes = list(meta.outcomes) if meta and meta.outcomes else [t.outcome or "" for t in tokens]
    winner = (resolution.winner_asset if resolution and resolution.closed else None) or (
        meta.winner_asset if meta else None
    )
    clob_tags = tuple(resolution.tags) if resolution else ()
    return CachedMarket(
        condition_id=condition_id,
        title=(meta.question if meta else None) or (resolution.question if resolution else None),
        slug=meta.slug if meta else None,
        category=market_category(meta, clob_tags),
        tags=market_tags(meta, clob_tags),
        outcomes=outcomes,
        token_ids=token_ids,
        closed=bool((resolution and resolution.closed) or (meta and meta.closed)),
        resolved=winner is not None,
        winner_asset=winner,
        fetched_at=now,
        neg_risk=meta.neg_risk if meta else None,
        event_id=meta.event_id if meta else None,
        resolved_at=meta.closed_time if meta and winner is not None else None,
    )
