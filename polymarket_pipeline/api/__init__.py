"""Speaks Polymarket: an async httpx client returning normalized ``domain.records``.

``PolymarketClient`` (built from ``ClientSettings``) covers the Data API (one adapter per version
in ``data/``: v2 default, v1 legacy), CLOB (``clob``) and Gamma (``gamma``) over one
``transport`` (shared token bucket, per-wallet cooldown, retries, bounded reads), validating
every row at the boundary (``fields``, ``validation``) and counting in ``ApiStats``.
"""

from polymarket_pipeline.api.client import IncompleteSnapshotError, PolymarketClient
from polymarket_pipeline.api.errors import (
    ApiHTTPError,
    ApiTransportError,
    PayloadError,
    PolymarketError,
    RateLimitedError,
)
from polymarket_pipeline.api.ratelimit import RateLimiter, WalletCooldown
from polymarket_pipeline.api.results import ActivityHistory, FeedPage, PositionSnapshot, TradeHistory
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.api.stats import ApiStats

__all__ = [
    "ActivityHistory",
    "ApiHTTPError",
    "ApiStats",
    "ApiTransportError",
    "ClientSettings",
    "FeedPage",
    "IncompleteSnapshotError",
    "PayloadError",
    "PolymarketClient",
    "PolymarketError",
    "PositionSnapshot",
    "RateLimitedError",
    "RateLimiter",
    "TradeHistory",
    "WalletCooldown",
]
