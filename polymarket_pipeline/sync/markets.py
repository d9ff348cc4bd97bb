"""Market metadata and resolution, read through the shared cache.

Gamma gives titles, categories, tags and outcomes for many markets per request; CLOB is the
authority on resolution (``closed`` plus a winning token) but answers one market at a time, so it
is only asked about markets Gamma reports closed, or that Gamma does not know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.db import markets as market_cache
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.markets import CachedMarket
from polymarket_pipeline.domain.records import MarketMetadata, MarketResolution

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

    async def resolved(self, condition_ids: Collection[str]) -> set[str]:
        markets = await self.get(condition_ids)
        return {c for c, m in markets.items() if m.resolved}

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
        resolutions = await asyncio.gather(*(self._client.fetch_market_resolution(c) for c in need_clob))
        by_id = {r.condition_id: r for r in resolutions if r is not None}
        result = {}
        for condition_id in condition_ids:
            meta, resolution = metadata.get(condition_id), by_id.get(condition_id)
            if meta is None and resolution is None:
                continue
            result[condition_id] = _merge(condition_id, meta, resolution, now)
        return result


def _merge(
    condition_id: str, meta: MarketMetadata | None, resolution: MarketResolution | None, now: datetime
) -> CachedMarket:
    tokens = resolution.tokens if resolution else ()
    token_ids = list(meta.clob_token_ids) if meta and meta.clob_token_ids else [t.token_id for t in tokens]
    outcomes = list(meta.outcomes) if meta and meta.outcomes else [t.outcome or "" for t in tokens]
    return CachedMarket(
        condition_id=condition_id,
        title=(meta.question if meta else None) or (resolution.question if resolution else None),
        slug=meta.slug if meta else None,
        category=meta.category if meta else None,
        tags=list(meta.tags) if meta and meta.tags else list(resolution.tags if resolution else ()),
        outcomes=outcomes,
        token_ids=token_ids,
        closed=bool((resolution and resolution.closed) or (meta and meta.closed)),
        resolved=bool(resolution and resolution.resolved),
        winner_asset=resolution.winner_asset if resolution else None,
        fetched_at=now,
    )
