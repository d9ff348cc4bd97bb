"""Per-wallet polling state beyond the watermark: failures and the order of a sweep."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import WalletPollState, table_of

_state = table_of(WalletPollState)

MAX_ERROR_LENGTH = 2000
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


def backoff(consecutive_failures: int) -> timedelta:
    """How long a wallet rests after its n-th failure in a row: none after the first, then doubling."""
    if consecutive_failures <= 1:
        return timedelta(0)
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** min(consecutive_failures - 2, 20))


def record_failure(connection: Connection, wallet: str, error: str, now: datetime) -> None:
    """Remember why a wallet's poll failed and when to try again; its cursors are left as they were."""
    failures = (
        connection.scalar(select(_state.c.consecutive_failures).where(_state.c.wallet_address == wallet)) or 0
    ) + 1
    connection.execute(
        update(_state)
        .where(_state.c.wallet_address == wallet)
        .values(
            last_error=error[:MAX_ERROR_LENGTH],
            last_error_at=now,
            consecutive_failures=failures,
            retry_after=now + backoff(failures),
            updated_at=now,
        )
    )


def mark_snapshot_incomplete(connection: Connection, wallet: str, reason: str, now: datetime) -> None:
    """Flag a wallet whose positions could not be read completely; it is retried like a failure."""
    connection.execute(
        update(_state)
        .where(_state.c.wallet_address == wallet)
        .values(positions_complete=False, updated_at=now)
    )
    record_failure(connection, wallet, reason, now)


def resting(connection: Connection, wallets: Sequence[str], now: datetime) -> set[str]:
    """Wallets still backing off after failures (``retry_after`` in the future)."""
    if not wallets:
        return set()
    rows = connection.execute(select(_state.c.wallet_address).where(_state.c.retry_after > now))
    wanted = set(wallets)
    return {address for (address,) in rows if address in wanted}


def watermark(connection: Connection, wallet: str) -> datetime | None:
    return connection.scalar(select(_state.c.last_trade_time_seen).where(_state.c.wallet_address == wallet))


def stalest_first(connection: Connection, wallets: Sequence[str]) -> list[str]:
    """Order wallets by last poll (never-polled first), so an interrupted sweep resumes fairly."""
    if not wallets:
        return []
    wanted = set(wallets)
    rows = connection.execute(
        select(_state.c.wallet_address, _state.c.last_polled_at).order_by(
            _state.c.last_polled_at.is_not(None), _state.c.last_polled_at, _state.c.wallet_address
        )
    )
    return [address for address, _ in rows if address in wanted]


def last_polled(connection: Connection, wallets: Sequence[str]) -> dict[str, datetime | None]:
    rows = connection.execute(
        select(_state.c.wallet_address, _state.c.last_polled_at).where(
            _state.c.wallet_address.in_(list(wallets))
        )
    )
    return {address: polled for address, polled in rows}


def polled_before(
    connection: Connection, wallets: Sequence[str], cutoff: datetime
) -> list[tuple[str, datetime | None]]:
    """Wallets not polled since ``cutoff`` (never-polled first, then stalest first)."""
    polled = last_polled(connection, wallets)
    stale = [(w, polled.get(w)) for w in wallets if _older(polled.get(w), cutoff)]
    return sorted(stale, key=lambda item: (item[1] is not None, item[1] or cutoff, item[0]))


def _older(value: datetime | None, cutoff: datetime) -> bool:
    return value is None or value < cutoff


def last_verified(connection: Connection, wallet: str) -> datetime | None:
    return connection.scalar(select(_state.c.last_verified_at).where(_state.c.wallet_address == wallet))


def mark_verified(connection: Connection, wallet: str, now: datetime) -> None:
    """The wallet's trades and activity were both re-read up to ``now``."""
    connection.execute(update(_state).where(_state.c.wallet_address == wallet).values(last_verified_at=now))


def stalest_hot(connection: Connection, limit: int) -> list[tuple[str, datetime | None]]:
    """The ``limit`` hot wallets polled longest ago (never-polled first), with their last poll."""
    from polymarket_pipeline.db.wallets import hot_condition

    stmt = (
        select(_state.c.wallet_address, _state.c.last_polled_at)
        .where(_state.c.is_active.is_(True), hot_condition())
        .order_by(_state.c.last_polled_at.is_not(None), _state.c.last_polled_at, _state.c.wallet_address)
        .limit(limit)
    )
    return [(address, polled) for address, polled in connection.execute(stmt)]
