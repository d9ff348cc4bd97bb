"""Dagster resources: the Polymarket client and the application database, configured from env vars."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.ratelimit import Limiter, RateLimiter, WalletCooldown
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.db.budget import SharedRateLimiter
from polymarket_pipeline.db.engine import create_db_engine
from polymarket_pipeline.db.migrate import ensure_current
from polymarket_pipeline.domain.budgets import Budget
from polymarket_pipeline.settings import (
    DEFAULT_CLOB_API_URL,
    DEFAULT_DATA_API_URL,
    DEFAULT_GAMMA_API_URL,
    load_settings,
)
from polymarket_pipeline.sync.hot import HotSettings

_HOT_DEFAULTS = HotSettings()

Tier = Literal["hot", "cold"]


class PolymarketApiResource(dg.ConfigurableResource):
    """Where and how fast to talk to Polymarket. Each tier has its own token bucket."""

    data_api_url: str = DEFAULT_DATA_API_URL
    clob_api_url: str = DEFAULT_CLOB_API_URL
    gamma_api_url: str = DEFAULT_GAMMA_API_URL
    data_api_version: str = Field(default="v2", description="v2 (cursor paging) or v1 (legacy offsets)")
    hot_rate_limit: str = Field(default="10", description="hot tier requests/s (a number)")
    hot_burst: int = 20
    cold_rate_limit: str = Field(default="5", description="cold tier and integrations requests/s")
    cold_burst: int = 10
    hot_wallet_cooldown_seconds: float = 1.0
    cold_wallet_cooldown_seconds: float = 5.0
    max_retries: int = 3
    backoff_base_seconds: float = 0.5
    max_retry_after_seconds: float = 60.0
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 15.0
    max_concurrency: int = 16
    hot_cycle_seconds: float = Field(
        default=_HOT_DEFAULTS.cycle_seconds,
        description="Hot poll cadence inside a sensor tick (1.25 s: 4 cycles evenly over the 5 s loop).",
    )
    hot_window_seconds: float = Field(
        default=_HOT_DEFAULTS.window_seconds,
        description="A tick starts no cycle after this many seconds (under the daemon's 5 s loop).",
    )
    hot_feed_max_pages: int = Field(
        default=5,
        description="Feed pages read per hot cycle before declaring a gap (then hot_wallets_job runs).",
    )
    page_size: int = Field(default=1000, description="Data API v2 page size (max 1000).")
    hot_report_seconds: float = Field(
        default=30.0,
        description="The sensor records what its ticks wrote (materializations and their checks) at "
        "most this often; rows are written at once either way.",
    )
    hot_verify_rate: float = Field(
        default=0.5,
        description="Hot wallets re-read per second by the trickle (positions; trades and activity "
        "when they changed or verification is due), whatever the number of hot wallets.",
    )
    verify_hours: float = Field(
        default=12.0,
        description="A wallet's trades and activity are re-read at least this often even when its "
        "positions did not change (between times its fills arrive through the global feed).",
    )

    def settings(self, tier: Tier) -> ClientSettings:
        if self.data_api_version not in ("v1", "v2"):
            raise ValueError(f"POLYMARKET_DATA_API_VERSION must be v1 or v2, got {self.data_api_version!r}")
        hot = tier == "hot"
        return ClientSettings(
            data_api_url=self.data_api_url,
            clob_api_url=self.clob_api_url,
            gamma_api_url=self.gamma_api_url,
            data_api_version=self.data_api_version,  # type: ignore[arg-type]
            rate_limit=_positive_number(
                "POLYMARKET_HOT_RATE_LIMIT" if hot else "POLYMARKET_COLD_RATE_LIMIT",
                self.hot_rate_limit if hot else self.cold_rate_limit,
            ),
            burst=self.hot_burst if hot else self.cold_burst,
            wallet_cooldown_seconds=(
                self.hot_wallet_cooldown_seconds if hot else self.cold_wallet_cooldown_seconds
            ),
            max_retries=self.max_retries,
            backoff_base_seconds=self.backoff_base_seconds,
            max_retry_after_seconds=self.max_retry_after_seconds,
            connect_timeout_seconds=self.connect_timeout_seconds,
            read_timeout_seconds=self.read_timeout_seconds,
            max_concurrency=self.max_concurrency,
            v2_page_size=self.page_size,
        )

    def hot_settings(self) -> HotSettings:
        return HotSettings(
            cycle_seconds=self.hot_cycle_seconds,
            window_seconds=self.hot_window_seconds,
            verify_rate=self.hot_verify_rate,
            verify_every=timedelta(hours=self.verify_hours),
            feed_max_pages=self.hot_feed_max_pages,
        )

    def client(
        self,
        tier: Tier,
        *,
        stats: ApiStats | None = None,
        limiter: Limiter | None = None,
        cooldown: WalletCooldown | None = None,
    ) -> PolymarketClient:
        """A new client (use it as ``async with``); pass a limiter to share one bucket."""
        return PolymarketClient(self.settings(tier), stats=stats, limiter=limiter, cooldown=cooldown)


def tier_limiter(engine: Engine, tier: Tier, settings: ClientSettings) -> Limiter:
    """The tier's bucket: shared by every process through PostgreSQL, or in-process on SQLite."""
    if engine.dialect.name == "postgresql":
        return SharedRateLimiter(engine, Budget(f"tier:{tier}", settings.rate_limit, settings.burst))
    return RateLimiter(settings.rate_limit, settings.burst)


def _positive_number(name: str, value: str) -> float:
    """Rate limits arrive as strings (Dagster's EnvVar only types str and int)."""
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0:
        raise ValueError(f"{name} must be a positive number of requests per second, got {value!r}")
    return number


class DatabaseResource(dg.ConfigurableResource):
    """The application database (SQLite by default, PostgreSQL in production)."""

    url: str = Field(default="", description="SQLAlchemy URL; empty means the local SQLite default")

    _engine: Engine | None = PrivateAttr(default=None)

    def resolved_url(self) -> str:
        return self.url or load_settings().app_database_url

    def engine(self) -> Engine:
        """One engine per process, checked to be on the current schema on first use."""
        if self._engine is None:
            engine = create_db_engine(self.resolved_url())
            ensure_current(engine)
            self._engine = engine
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
