"""Client configuration: one frozen value object so a Dagster resource can build it from config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

V1_MAX_POSITIONS_LIMIT = 500
"""v1 ``/positions`` and ``/activity`` reject ``limit`` above 500."""
V2_MAX_LIMIT = 1000
"""v2 routes reject ``limit`` above 1000."""
MIN_CLOCK_SKEW_ALLOWANCE = 300


@dataclass(frozen=True)
class ClientSettings:
    """Where the APIs live and how politely to call them.

    Base URLs may carry a path prefix (the simulator serves ``http://127.0.0.1:PORT/data`` etc.).
    """

    data_api_url: str = "https://data-api.polymarket.com"
    clob_api_url: str = "https://clob.polymarket.com"
    gamma_api_url: str = "https://gamma-api.polymarket.com"
    data_api_version: Literal["v1", "v2"] = "v2"
    rate_limit: float = 5.0
    """Requests per second (token bucket refill)."""
    burst: int = 10
    """Token bucket capacity."""
    wallet_cooldown_seconds: float = 5.0
    max_retries: int = 3
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    max_retry_after_seconds: float = 60.0
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 15.0
    max_concurrency: int = 16
    """Requests in flight at once."""
    v2_page_size: int = 1000
    v1_trades_page_size: int = 1000
    v1_positions_page_size: int = 500
    """Also the v1 ``/activity`` page size (both routes cap ``limit`` at 500)."""
    v1_offset_cap: int = 3000
    """v1 ``/trades``: offsets above 3,000 are rejected (observed), so paging stops there."""
    v1_positions_offset_cap: int = 10_000
    """v1 ``/positions``: offsets up to 10,000 (documented)."""
    v1_activity_offset_cap: int = 5_000
    """v1 ``/activity``: offsets above 5,000 are rejected (observed); the walk re-anchors ``start``."""
    max_pages_per_walk: int = 200
    """A paged walk stops after this many pages and is reported incomplete (an endless cursor)."""
    max_response_bytes: int = 8 * 1024 * 1024
    """A body larger than this (decoded) is aborted while it is read: a non-retryable error."""
    clock_skew_allowance_seconds: int = 86_400
    """Moving ``end`` bounds are now + this. The API's own default for an omitted ``end`` is
    now + 1 day; sending it explicitly keeps the meaning and changes the URL every second, so an
    edge cache (``max-age=300``) can never serve an old page. At least 300 s, since a bound
    behind the server's clock would hide positions and fills."""
    gamma_batch_size: int = 50
    position_size_floor: float = 0.1
    """The same dust floor on v1 (``sizeThreshold``) and v2 (``filter_amount``)."""

    def __post_init__(self) -> None:
        if self.data_api_version not in ("v1", "v2"):
            raise ValueError(f"data_api_version must be 'v1' or 'v2', not {self.data_api_version!r}")
        positive = {
            "rate_limit": self.rate_limit,
            "burst": self.burst,
            "max_concurrency": self.max_concurrency,
            "v2_page_size": self.v2_page_size,
            "v1_trades_page_size": self.v1_trades_page_size,
            "v1_positions_page_size": self.v1_positions_page_size,
            "gamma_batch_size": self.gamma_batch_size,
            "connect_timeout_seconds": self.connect_timeout_seconds,
            "read_timeout_seconds": self.read_timeout_seconds,
            "max_pages_per_walk": self.max_pages_per_walk,
            "max_response_bytes": self.max_response_bytes,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive, not {value!r}")
        non_negative = {
            "wallet_cooldown_seconds": self.wallet_cooldown_seconds,
            "max_retries": self.max_retries,
            "backoff_base_seconds": self.backoff_base_seconds,
            "backoff_max_seconds": self.backoff_max_seconds,
            "max_retry_after_seconds": self.max_retry_after_seconds,
            "v1_offset_cap": self.v1_offset_cap,
            "v1_positions_offset_cap": self.v1_positions_offset_cap,
            "v1_activity_offset_cap": self.v1_activity_offset_cap,
            "position_size_floor": self.position_size_floor,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ValueError(f"{name} must not be negative, not {value!r}")
        if self.clock_skew_allowance_seconds < MIN_CLOCK_SKEW_ALLOWANCE:
            raise ValueError(
                f"clock_skew_allowance_seconds must be at least {MIN_CLOCK_SKEW_ALLOWANCE}, "
                f"not {self.clock_skew_allowance_seconds!r}"
            )

    @property
    def timeout(self) -> httpx.Timeout:
        """Every phase is bounded, so no call can hang on a silent server."""
        return httpx.Timeout(
            connect=self.connect_timeout_seconds,
            read=self.read_timeout_seconds,
            write=self.read_timeout_seconds,
            pool=self.connect_timeout_seconds + self.read_timeout_seconds,
        )

    @property
    def attempt_deadline_seconds(self) -> float:
        """Hard cap on one attempt: a server that drips bytes never trips the read timeout."""
        return self.connect_timeout_seconds + 2 * self.read_timeout_seconds
