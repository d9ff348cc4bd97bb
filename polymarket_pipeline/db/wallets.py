"""The wallet registry: registered wallets, follows (hot wallets) and users' wallet links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import Follow, WalletLink, WalletPollState, new_id, table_of
from polymarket_pipeline.db.upsert import bulk_upsert

_state = table_of(WalletPollState)
_follows = table_of(Follow)
_links = table_of(WalletLink)


class RegistryError(LookupError):
    """A registry operation named something that does not exist."""


def _now() -> datetime:
    return datetime.now(UTC)


def hot_condition() -> Any:
    """SQL: the wallet is pinned hot or followed by someone."""
    followed = exists().where(_follows.c.wallet_address == _state.c.wallet_address)
    return or_(_state.c.is_hot_pinned.is_(True), followed)


@dataclass(frozen=True, slots=True)
class WalletRow:
    wallet_address: str
    is_active: bool
    is_hot_pinned: bool
    followers: int
    last_trade_time_seen: datetime | None
    last_polled_at: datetime | None
    last_error: str | None
    history_complete: bool = False
    activity_history_complete: bool = False
    history_frontier_at: datetime | None = None
    activity_frontier_at: datetime | None = None

    @property
    def history(self) -> str:
        """``complete``; ``back to 2026-03-01`` (the oldest stored second, older still to read);
        ``pending`` (not read back yet); an ``activity`` suffix when only activity is behind."""
        if self.history_complete and self.activity_history_complete:
            return "complete"
        if self.last_polled_at is None:
            return "pending"
        if not self.history_complete:
            frontier = self.history_frontier_at
            return "pending" if frontier is None else f"back to {frontier:%Y-%m-%d}"
        frontier = self.activity_frontier_at
        return "activity pending" if frontier is None else f"activity back to {frontier:%Y-%m-%d}"

    @property
    def tier(self) -> str:
        if not self.is_active:
            return "inactive"
        return "hot" if self.is_hot_pinned or self.followers else "cold"


def register_wallets(connection: Connection, addresses: Sequence[str], *, hot: bool | None = None) -> None:
    """Insert or reactivate wallets; ``hot`` pins/unpins them, ``None`` keeps an existing pin."""
    now = _now()
    rows = [
        {
            "wallet_address": a,
            "is_active": True,
            "is_hot_pinned": bool(hot),
            "created_at": now,
            "updated_at": now,
        }
        for a in dict.fromkeys(addresses)
    ]
    updates = ["is_active", "updated_at"] + (["is_hot_pinned"] if hot is not None else [])
    bulk_upsert(connection, _state, rows, key=["wallet_address"], update=updates)


def deactivate_wallet(connection: Connection, address: str) -> None:
    """Stop polling a wallet; its trades, positions and history stay."""
    result = connection.execute(
        update(_state).where(_state.c.wallet_address == address).values(is_active=False, updated_at=_now())
    )
    if result.rowcount == 0:
        raise RegistryError(f"wallet {address} is not registered")


def list_wallets(connection: Connection) -> list[WalletRow]:
    followers = (
        select(func.count()).where(_follows.c.wallet_address == _state.c.wallet_address).scalar_subquery()
    )
    rows = connection.execute(
        select(
            _state.c.wallet_address,
            _state.c.is_active,
            _state.c.is_hot_pinned,
            followers.label("followers"),
            _state.c.last_trade_time_seen,
            _state.c.last_polled_at,
            _state.c.last_error,
            _state.c.history_complete,
            _state.c.activity_history_complete,
            _state.c.history_frontier_at,
            _state.c.activity_frontier_at,
        ).order_by(_state.c.wallet_address)
    )
    return [WalletRow(*row) for row in rows]


def hot_wallets(connection: Connection) -> list[str]:
    """Active wallets that some user follows or that were pinned hot."""
    stmt = (
        select(_state.c.wallet_address)
        .where(and_(_state.c.is_active.is_(True), hot_condition()))
        .order_by(_state.c.wallet_address)
    )
    return list(connection.scalars(stmt))


def cold_wallets(connection: Connection) -> list[str]:
    """Every other active wallet."""
    stmt = (
        select(_state.c.wallet_address)
        .where(and_(_state.c.is_active.is_(True), ~hot_condition()))
        .order_by(_state.c.wallet_address)
    )
    return list(connection.scalars(stmt))


def active_wallets(connection: Connection) -> list[str]:
    stmt = (
        select(_state.c.wallet_address).where(_state.c.is_active.is_(True)).order_by(_state.c.wallet_address)
    )
    return list(connection.scalars(stmt))


def add_follow(connection: Connection, user_id: str, address: str) -> None:
    """Follow a wallet, registering (or reactivating) it so it is polled hot."""
    register_wallets(connection, [address])
    bulk_upsert(
        connection,
        _follows,
        [{"user_id": user_id, "wallet_address": address, "created_at": _now()}],
        key=["user_id", "wallet_address"],
        update=(),
    )


def remove_follow(connection: Connection, user_id: str, address: str) -> None:
    result = connection.execute(
        delete(_follows).where(_follows.c.user_id == user_id, _follows.c.wallet_address == address)
    )
    if result.rowcount == 0:
        raise RegistryError(f"user {user_id!r} does not follow {address}")


def add_link(connection: Connection, user_id: str, address: str, chain: str = "polygon") -> bool:
    """Link a wallet to a user; returns False when that link already existed."""
    created = bulk_upsert(
        connection,
        _links,
        [{"id": new_id(), "user_id": user_id, "chain": chain, "address": address, "created_at": _now()}],
        key=["user_id", "chain", "address"],
        update=(),
        count_inserted=True,
    )
    return created == 1


def remove_link(connection: Connection, user_id: str, address: str, chain: str | None = None) -> None:
    conditions = [_links.c.user_id == user_id, _links.c.address == address]
    if chain is not None:
        conditions.append(_links.c.chain == chain)
    result = connection.execute(delete(_links).where(*conditions))
    if result.rowcount == 0:
        raise RegistryError(f"user {user_id!r} has no linked wallet {address}")


def links_by_user(connection: Connection) -> dict[str, list[str]]:
    """Every user's linked wallet addresses (deduplicated, in a stable order)."""
    rows = connection.execute(
        select(_links.c.user_id, _links.c.address).order_by(_links.c.user_id, _links.c.address)
    )
    result: dict[str, list[str]] = {}
    for user_id, address in rows:
        addresses = result.setdefault(user_id, [])
        if address not in addresses:
            addresses.append(address)
    return result


@dataclass(frozen=True, slots=True)
class FollowRow:
    user_id: str
    wallet_address: str
    followed_at: datetime | None
    is_active: bool


def list_follows(connection: Connection, user_id: str | None = None) -> list[FollowRow]:
    """Follows (all, or one user's), with whether the followed wallet is still polled."""
    stmt = (
        select(_follows.c.user_id, _follows.c.wallet_address, _follows.c.created_at, _state.c.is_active)
        .join(_state, _state.c.wallet_address == _follows.c.wallet_address, isouter=True)
        .order_by(_follows.c.user_id, _follows.c.wallet_address)
    )
    if user_id is not None:
        stmt = stmt.where(_follows.c.user_id == user_id)
    return [FollowRow(u, w, created, bool(active)) for u, w, created, active in connection.execute(stmt)]


@dataclass(frozen=True, slots=True)
class LinkRow:
    user_id: str
    chain: str
    address: str
    linked_at: datetime | None


def list_links(connection: Connection, user_id: str | None = None) -> list[LinkRow]:
    """Wallet links (all, or one user's), each with its chain."""
    stmt = select(_links.c.user_id, _links.c.chain, _links.c.address, _links.c.created_at).order_by(
        _links.c.user_id, _links.c.chain, _links.c.address
    )
    if user_id is not None:
        stmt = stmt.where(_links.c.user_id == user_id)
    return [LinkRow(*row) for row in connection.execute(stmt)]
