"""Dagster resources: the Polymarket client (and its throttle) and the application database."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

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
from polymarket_pipeline.settings import Settings, load_settings
from polymarket_pipeline.sync.hot import HotSettings

BudgetTier = Literal["hot", "cold"]
"""Whose rate budget a client spends: the hot path's, or the cold sweeps' (shared with integrations)."""

CLIENT = ClientSettings()
HOT = HotSettings()


def _env_default(field: str) -> Any:
    """A setting's default, as ``settings.Settings`` declares it (each default is written once)."""
    return Settings.model_fields[field].default


@dataclass(frozen=True, slots=True)
class Throttle:
    """A tier's token bucket and per-(wallet, route) cooldowns, shared by every client of the tier
    in this process (and, on PostgreSQL, the bucket by every process)."""

    limiter: Limiter
    cooldown: WalletCooldown


_throttles: dict[tuple[BudgetTier, ClientSettings, str], Throttle] = {}
_throttles_lock = threading.Lock()


def tier_limiter(engine: Engine, tier: BudgetTier, settings: ClientSettings) -> Limiter:
    """The tier's bucket: shared by every process through PostgreSQL, or in-process on SQLite."""
    if engine.dialect.name == "postgresql":
        return SharedRateLimiter(engine, Budget(f"tier:{tier}", settings.rate_limit, settings.burst))
    return RateLimiter(settings.rate_limit, settings.burst)


class PolymarketApiResource(dg.ConfigurableResource):
    """Where and how fast to talk to Polymarket, and the throttle each tier's clients share.

    Environment variables (``settings.Settings``) give the URLs, version and rates their values
    where the code loads; the rest is resource config with the seeds' defaults.
    """

    data_api_url: str = Field(default=CLIENT.data_api_url, description="Data API base URL.")
    clob_api_url: str = Field(default=CLIENT.clob_api_url, description="CLOB API base URL.")
    gamma_api_url: str = Field(default=CLIENT.gamma_api_url, description="Gamma API base URL.")
    data_api_version: Literal["v1", "v2"] = Field(
        default=CLIENT.data_api_version, description="v2 (cursor paging) or v1 (legacy offsets)."
    )
    hot_rate_limit: float = Field(
        default=_env_default("hot_rate_limit"), gt=0, description="Hot tier requests per second."
    )
    hot_burst: int = Field(default=_env_default("hot_burst"), ge=1, description="Hot tier burst.")
    cold_rate_limit: float = Field(
        default=_env_default("cold_rate_limit"),
        gt=0,
        description="Cold tier (and integrations) requests per second.",
    )
    cold_burst: int = Field(default=_env_default("cold_burst"), ge=1, description="Cold tier burst.")
    hot_wallet_cooldown_seconds: float = Field(
        default=HOT.wallet_cooldown_seconds,
        ge=0,
        description="Hot tier: two fetches of one wallet and route start this far apart.",
    )
    cold_wallet_cooldown_seconds: float = Field(
        default=CLIENT.wallet_cooldown_seconds,
        ge=0,
        description="Cold tier: two fetches of one wallet and route start this far apart.",
    )
    max_retries: int = Field(default=CLIENT.max_retries, ge=0, description="Retries on 429/5xx/timeouts.")
    backoff_base_seconds: float = Field(default=CLIENT.backoff_base_seconds, ge=0)
    max_retry_after_seconds: float = Field(default=CLIENT.max_retry_after_seconds, ge=0)
    connect_timeout_seconds: float = Field(default=CLIENT.connect_timeout_seconds, gt=0)
    read_timeout_seconds: float = Field(default=CLIENT.read_timeout_seconds, gt=0)
    max_concurrency: int = Field(
        default=CLIENT.max_concurrency, ge=1, description="Requests in flight at once."
    )
    hot_cycle_seconds: float = Field(
        default=HOT.cycle_seconds,
        gt=0,
        description="Hot poll cadence inside a sensor tick (1.25 s: 4 cycles evenly over the 5 s loop).",
    )
    hot_window_seconds: float = Field(
        default=HOT.window_seconds,
        gt=0,
        description="A tick starts no cycle after this many seconds (under the daemon's 5 s loop).",
    )
    hot_feed_max_pages: int = Field(
        default=HOT.feed_max_pages,
        ge=1,
        description="Feed pages read per hot cycle before declaring a gap (then hot_wallets_job runs).",
    )
    page_size: int = Field(default=CLIENT.v2_page_size, ge=1, le=1000, description="Data API v2 page size.")
    hot_report_seconds: float = Field(
        default=HOT.report_seconds,
        ge=0,
        description="The sensor records what its ticks wrote (materializations and their checks) at "
        "most this often; rows are written at once either way.",
    )
    hot_verify_rate: float = Field(
        default=HOT.verify_rate,
        gt=0,
        description="Hot wallets re-read per second by the trickle (positions; trades and activity "
        "when they changed or verification is due), whatever the number of hot wallets.",
    )
    verify_hours: float = Field(
        default=HOT.verify_every.total_seconds() / 3600,
        gt=0,
        description="A wallet's trades and activity are re-read at least this often even when its "
        "positions did not change (between times its fills arrive through the global feed).",
    )

    def settings(self, tier: BudgetTier) -> ClientSettings:
        """The client settings of ``tier`` (its rate, burst and cooldown; the rest shared)."""
        hot = tier == "hot"
        return ClientSettings(
            data_api_url=self.data_api_url,
            clob_api_url=self.clob_api_url,
            gamma_api_url=self.gamma_api_url,
            data_api_version=self.data_api_version,
            rate_limit=self.hot_rate_limit if hot else self.cold_rate_limit,
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

    @property
    def verify_every(self) -> timedelta:
        return timedelta(hours=self.verify_hours)

    def throttle(self, tier: BudgetTier, engine: Engine) -> Throttle:
        """The tier's throttle in this process, built once per (tier, settings, database).

        Resources are rebuilt for every run and sensor tick; the bucket and the cooldowns must
        outlive them, or each tick would start with a full burst.
        """
        settings = self.settings(tier)
        key = (tier, settings, str(engine.url))
        with _throttles_lock:
            found = _throttles.get(key)
            if found is None:
                found = _throttles[key] = Throttle(
                    tier_limiter(engine, tier, settings), WalletCooldown(settings.wallet_cooldown_seconds)
                )
            return found

    def client(self, tier: BudgetTier, engine: Engine, *, stats: ApiStats | None = None) -> PolymarketClient:
        """A new client of ``tier`` (use it as ``async with``) spending the tier's shared throttle."""
        throttle = self.throttle(tier, engine)
        return PolymarketClient(
            self.settings(tier), stats=stats, limiter=throttle.limiter, cooldown=throttle.cooldown
        )


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
