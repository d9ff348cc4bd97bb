"""How far each wallet's stored history reaches: the frontier columns of ``wallet_poll_state``.

The rules live in ``domain.history``; this module only reads and writes them, in the caller's
transaction, so a step's rows and its new frontier commit together (a crash between them is
impossible, and a step re-run after a crash re-reads its pages idempotently).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection

from polymarket_pipeline.db.schema import ActivityPublic, TradePublic, WalletPollState, table_of
from polymarket_pipeline.domain.addresses import shard_of
from polymarket_pipeline.domain.history import HistoryState, estimate_rows_to_read

Route = Literal["trades", "activity"]

_state = table_of(WalletPollState)
_trades = table_of(TradePublic)
_activity = table_of(ActivityPublic)
MAX_REASON_LENGTH = 500

_COLUMNS: dict[Route, tuple[str, str, str]] = {
    # route: (complete flag, frontier, watermark)
    "trades": ("history_complete", "history_frontier_at", "last_trade_time_seen"),
    "activity": ("activity_history_complete", "activity_frontier_at", "last_activity_time_seen"),
}


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _at(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


@dataclass(frozen=True, slots=True)
class WalletHistory:
    """One wallet's two histories, their watermarks and where the wallet's history starts."""

    wallet: str
    trades: HistoryState
    activity: HistoryState
    trades_watermark: int | None
    activity_watermark: int | None
    first_at: int | None
    reason: str | None

    @property
    def complete(self) -> bool:
        return self.trades.complete and self.activity.complete

    def state(self, route: Route) -> HistoryState:
        return self.trades if route == "trades" else self.activity

    def watermark(self, route: Route) -> int | None:
        return self.trades_watermark if route == "trades" else self.activity_watermark


def _history(row: Any) -> WalletHistory:
    return WalletHistory(
        wallet=row.wallet_address,
        trades=HistoryState(bool(row.history_complete), _epoch(row.history_frontier_at)),
        activity=HistoryState(bool(row.activity_history_complete), _epoch(row.activity_frontier_at)),
        trades_watermark=_epoch(row.last_trade_time_seen),
        activity_watermark=_epoch(row.last_activity_time_seen),
        first_at=_epoch(row.history_first_at),
        reason=row.history_incomplete_reason,
    )


_SELECTED = (
    _state.c.wallet_address,
    _state.c.history_complete,
    _state.c.history_frontier_at,
    _state.c.activity_history_complete,
    _state.c.activity_frontier_at,
    _state.c.last_trade_time_seen,
    _state.c.last_activity_time_seen,
    _state.c.history_first_at,
    _state.c.history_incomplete_reason,
)


def wallet_history(connection: Connection, wallet: str) -> WalletHistory | None:
    row = connection.execute(select(*_SELECTED).where(_state.c.wallet_address == wallet)).first()
    return None if row is None else _history(row)


def incomplete(connection: Connection, shard: tuple[int, int] | None = None) -> list[WalletHistory]:
    """Active wallets with either history incomplete (of one ``shard`` when given), by address (a
    stable order, so successive sweeps' budgets finish wallets rather than start them all)."""
    stmt = (
        select(*_SELECTED)
        .where(
            _state.c.is_active.is_(True),
            or_(_state.c.history_complete.is_(False), _state.c.activity_history_complete.is_(False)),
        )
        .order_by(_state.c.wallet_address)
    )
    rows = [_history(r) for r in connection.execute(stmt)]
    if shard is not None:
        rows = [r for r in rows if shard_of(r.wallet, shard[1]) == shard[0]]
    return rows


def record(
    connection: Connection,
    wallet: str,
    route: Route,
    state: HistoryState,
    *,
    reason: str | None,
    now: datetime,
    expected: HistoryState | None = None,
) -> bool:
    """Store one route's history state; ``reason`` says why it is incomplete (cleared when whole).

    With ``expected`` the write happens only if the stored state is still that one (a backward
    step must not lower a frontier that a concurrent poll moved up over a new gap); returns
    whether it was written.
    """
    flag, frontier, _ = _COLUMNS[route]
    values: dict[str, Any] = {flag: state.complete, frontier: None if state.complete else _at(state.frontier)}
    values["updated_at"] = now
    stmt = update(_state).where(_state.c.wallet_address == wallet)
    if expected is not None:
        column = _state.c[frontier]
        stmt = stmt.where(
            _state.c[flag].is_(expected.complete),
            column.is_(None) if expected.frontier is None else column == _at(expected.frontier),
        )
    if connection.execute(stmt.values(**values)).rowcount == 0:
        return False
    _set_reason(connection, wallet, route, reason if not state.complete else None)
    return True


def _set_reason(connection: Connection, wallet: str, route: Route, reason: str | None) -> None:
    """One line per route (``trades: …; activity: …``), so each route's news replaces its own."""
    current = connection.scalar(
        select(_state.c.history_incomplete_reason).where(_state.c.wallet_address == wallet)
    )
    parts = dict(_split_reason(current))
    if reason is None:
        parts.pop(route, None)
    else:
        parts[route] = reason
    text = "; ".join(f"{k}: {v}" for k, v in sorted(parts.items(), key=lambda kv: kv[0] != "trades"))
    connection.execute(
        update(_state)
        .where(_state.c.wallet_address == wallet)
        .values(history_incomplete_reason=text[:MAX_REASON_LENGTH] or None)
    )


def _split_reason(text: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in (text or "").split("; "):
        route, sep, why = part.partition(": ")
        if sep and route in _COLUMNS:
            out.append((route, why))
    return out


def record_first_at(connection: Connection, wallet: str, first: int | None) -> None:
    connection.execute(
        update(_state).where(_state.c.wallet_address == wallet).values(history_first_at=_at(first))
    )


@dataclass(frozen=True, slots=True)
class HistorySummary:
    """Incomplete histories over some wallets: how many, and the rows still to read (estimated)."""

    wallets: int
    trades_incomplete: int
    activity_incomplete: int
    fills_to_read_estimate: int | None
    """Sum of the per-wallet estimates; None when no wallet could be estimated."""
    unestimated: int
    """Incomplete trade histories without an estimate (no first activity known, nothing stored)."""


def oldest_stored_fill_at(connection: Connection, wallet: str) -> int | None:
    """The second of the wallet's oldest stored fill (epoch s), None with none stored."""
    oldest = connection.scalar(
        select(func.min(_trades.c.traded_at)).where(_trades.c.wallet_address == wallet)
    )
    return _epoch(oldest)


def stored_since(connection: Connection, wallet: str, since: datetime) -> int:
    return int(
        connection.scalar(
            select(func.count())
            .select_from(_trades)
            .where(_trades.c.wallet_address == wallet, _trades.c.traded_at >= since)
        )
        or 0
    )


def fills_to_read(connection: Connection, history: WalletHistory) -> int | None:
    """The estimated fills older than the trade frontier (``domain.history.estimate_rows_to_read``)."""
    state = history.trades
    if state.complete:
        return 0
    frontier = state.frontier if state.frontier is not None else history.trades_watermark
    newest = history.trades_watermark
    if frontier is None or newest is None:
        return None
    stored = stored_since(connection, history.wallet, datetime.fromtimestamp(frontier, tz=UTC))
    return estimate_rows_to_read(stored=stored, frontier=frontier, newest=newest, first=history.first_at)


MAX_ESTIMATED = 200
"""Incomplete trade histories a summary estimates (one count query each); the rest are counted as
not estimated (after migration 0004 every wallet is incomplete until re-read)."""


def summary(connection: Connection, shard: tuple[int, int] | None = None) -> HistorySummary:
    rows = incomplete(connection, shard)
    behind = sorted(
        (h for h in rows if not h.trades.complete), key=lambda h: (h.trades.frontier is None, h.wallet)
    )
    estimates = [fills_to_read(connection, h) for h in behind[:MAX_ESTIMATED]]
    estimates += [None] * max(0, len(behind) - MAX_ESTIMATED)
    known = [e for e in estimates if e is not None]
    return HistorySummary(
        wallets=len(rows),
        trades_incomplete=sum(1 for h in rows if not h.trades.complete),
        activity_incomplete=sum(1 for h in rows if not h.activity.complete),
        fills_to_read_estimate=sum(known) if known else None,
        unestimated=len(estimates) - len(known),
    )
