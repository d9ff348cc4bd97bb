"""Speaks Polymarket: an async httpx client returning normalized ``domain.records``.

``PolymarketClient`` (built from ``ClientSettings``) covers the Data API (v2 default, v1 legacy),
CLOB and Gamma, with a shared token bucket, per-wallet cooldown, retries and ``ApiStats``.
"""

from polymarket_pipeline.api.client import FeedPage, PolymarketClient, TradeHistory
from polymarket_pipeline.api.errors import (
    ApiHTTPError,
    ApiTransportError,
    PayloadError,
    PolymarketError,
    RateLimitedError,
)
from polymarket_pipeline.api.ratelimit import RateLimiter, WalletCooldown
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.api.stats import ApiStats

__all__ = [
    "ApiHTTPError",
    "ApiStats",
    "ApiTransportError",
    "ClientSettings",
    "FeedPage",
    "PayloadError",
    "PolymarketClient",
    "PolymarketError",
    "RateLimitedError",
    "RateLimiter",
    "TradeHistory",
    "WalletCooldown",
]
