"""The daily integrations sync: every user's linked wallets into ``external_markets``.

Per user: each wallet's positions and portfolio value (kept exactly as received), market metadata
from the shared cache, and one transaction writing the raw payload and the normalized rows. A
user already synced that day is skipped unless forced; a failed user leaves its previous state
untouched and does not stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.errors import PolymarketError
from polymarket_pipeline.db import integrations as store
from polymarket_pipeline.db import runs
from polymarket_pipeline.db import wallets as wallet_store
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.domain.portfolio import UserMarket, aggregate_user_positions
from polymarket_pipeline.domain.records import Position
from polymarket_pipeline.sync.fills import utcnow
from polymarket_pipeline.sync.markets import MarketDirectory

log = logging.getLogger(__name__)

SOURCE = "polymarket"
USERS_IN_FLIGHT = 8

Status = Literal["synced", "skipped", "failed"]


@dataclass(slots=True)
class UserResult:
    user_id: str
    status: Status
    wallets: int = 0
    markets: int = 0
    duration_seconds: float = 0.0
    error: str | None = None
    rows: list[UserMarket] = field(default_factory=list)


@dataclass(slots=True)
class IntegrationsSummary:
    sync_date: date
    users: list[UserResult] = field(default_factory=list)
    duration_seconds: float = 0.0
    api_requests: int = 0

    def count(self, status: Status) -> int:
        return sum(1 for u in self.users if u.status == status)

    @property
    def failures(self) -> dict[str, str]:
        return {u.user_id: u.error or "" for u in self.users if u.status == "failed"}

    def as_metadata(self) -> dict[str, Any]:
        synced = [u for u in self.users if u.status == "synced"]
        return {
            "sync_date": self.sync_date.isoformat(),
            "users_succeeded": len(synced),
            "users_failed": self.count("failed"),
            "users_skipped": self.count("skipped"),
            "wallets": sum(u.wallets for u in synced),
            "markets_processed": sum(u.markets for u in synced),
            "api_requests": self.api_requests,
            "duration_seconds": round(self.duration_seconds, 3),
        }

    def report_lines(self) -> list[str]:
        return report_lines(self.as_metadata(), self.failures)


def report_lines(m: Mapping[str, Any], failures: Mapping[str, str]) -> list[str]:
    """The seed-style run summary, from a run's metadata (so the CLI can print a finished run's)."""
    duration = float(m["duration_seconds"])
    lines = [
        f"Sync Summary ({m['sync_date']})",
        f"  Users: {m['users_succeeded']} succeeded, {m['users_failed']} failed, "
        f"{m['users_skipped']} skipped (already synced today)",
        f"  Wallets: {m['wallets']}",
        f"  Markets: {m['markets_processed']} total processed",
        f"  API requests: {m['api_requests']}",
        f"  Duration: {duration * 1000:.0f}ms ({duration:.2f}s)",
    ]
    lines += [f"  FAILED {user}: {error}" for user, error in failures.items()]
    return lines


async def sync_users(
    client: PolymarketClient,
    engine: Engine,
    links: Mapping[str, Sequence[str]],
    *,
    sync_date: date,
    force: bool = False,
    run_id: str | None = None,
    now: Callable[[], datetime] = utcnow,
    on_user: Callable[[UserResult], None] | None = None,
) -> IntegrationsSummary:
    """Sync every user in ``links`` (user id -> linked wallet addresses) for ``sync_date``."""
    started = time.monotonic()
    requests_before = client.stats.requests
    summary = IntegrationsSummary(sync_date)
    already = set() if force else await asyncio.to_thread(_synced_users, engine, sync_date)
    markets = MarketDirectory(client, engine, now=now)
    slots = asyncio.Semaphore(USERS_IN_FLIGHT)

    async def one(user_id: str, wallets: Sequence[str]) -> UserResult:
        if user_id in already:
            result = UserResult(user_id, "skipped", wallets=len(wallets))
        else:
            async with slots:
                result = await _sync_user(client, engine, markets, user_id, wallets, sync_date, run_id, now)
        if on_user:
            on_user(result)
        return result

    summary.users = list(await asyncio.gather(*(one(u, w) for u, w in links.items())))
    summary.duration_seconds = time.monotonic() - started
    summary.api_requests = client.stats.requests - requests_before
    return summary


def _synced_users(engine: Engine, sync_date: date) -> set[str]:
    with reading(engine) as connection:
        return store.synced_users(connection, SOURCE, sync_date)


async def _sync_user(
    client: PolymarketClient,
    engine: Engine,
    markets: MarketDirectory,
    user_id: str,
    wallets: Sequence[str],
    sync_date: date,
    run_id: str | None,
    now: Callable[[], datetime],
) -> UserResult:
    started = time.monotonic()
    fetched_at = now()
    try:
        fetched = await asyncio.gather(*(_fetch_wallet(client, wallet) for wallet in wallets))
    except PolymarketError as exc:
        wallet = exc.wallet or "?"
        message = f"user {user_id}, wallet {wallet}: {exc}"
        log.warning("integrations: %s", message)
        return UserResult(user_id, "failed", len(wallets), error=message)
    positions: list[Position] = [p for wallet_positions, _ in fetched for p in wallet_positions]
    try:
        market_info = await markets.get({p.condition_id for p in positions})
    except PolymarketError as exc:
        message = f"user {user_id}, market metadata: {exc}"
        return UserResult(user_id, "failed", len(wallets), error=message)
    rows = aggregate_user_positions(user_id, positions, market_info)
    payload = {wallet: raw for wallet, (_, raw) in zip(wallets, fetched, strict=True)}

    def write() -> None:
        with engine.begin() as connection:
            store.write_user_sync(
                connection,
                user_id=user_id,
                source=SOURCE,
                sync_date=sync_date,
                fetched_at=fetched_at,
                payload={"wallets": payload},
                markets=rows,
                run_id=run_id,
            )

    await asyncio.to_thread(write)
    return UserResult(user_id, "synced", len(wallets), len(rows), time.monotonic() - started, rows=rows)


async def _fetch_wallet(client: PolymarketClient, wallet: str) -> tuple[list[Position], dict[str, Any]]:
    (positions, position_pages), (_, value_body) = await asyncio.gather(
        client.fetch_positions_raw(wallet), client.fetch_value_raw(wallet)
    )
    return positions, {"positions": position_pages, "value": value_body}


def linked_wallets(engine: Engine) -> dict[str, list[str]]:
    """Every user's linked wallet addresses (``wallet_links``), the sync's input."""
    with reading(engine) as connection:
        return wallet_store.links_by_user(connection)


def record_sync(
    engine: Engine,
    summary: IntegrationsSummary,
    metadata: Mapping[str, Any],
    *,
    started: datetime,
    run_id: str | None,
) -> str:
    """One ``sync_runs`` row for the sync (the seed's run summary): failed when any user failed."""
    status = "failed" if summary.failures else "succeeded"
    with engine.begin() as connection:
        row = runs.start_run(connection, "integrations", started, run_id)
        runs.finish_run(connection, row, utcnow(), status, {**metadata, "failed_users": summary.failures})
    return status
