"""Per-wallet polling state beyond the watermark: failures and the order of a sweep."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import WalletPollState, table_of

_state = table_of(WalletPollState)

MAX_ERROR_LENGTH = 2000


def record_failure(connection: Connection, wallet: str, error: str, now: datetime) -> None:
    """Remember why a wallet's poll failed; its cursors are left exactly as they were."""
    connection.execute(
        update(_state)
        .where(_state.c.wallet_address == wallet)
        .values(
            last_error=error[:MAX_ERROR_LENGTH],
            last_error_at=now,
            consecutive_failures=_state.c.consecutive_failures + 1,
            updated_at=now,
        )
    )


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
