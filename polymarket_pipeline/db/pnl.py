"""Reads and writes of the PnL layer: the stored tape as ledger events, marks, and the PnL tables.

Nothing here decides a figure (``sync.pnl`` does, with ``domain.pnl``): rows become
``domain.pnl.LedgerEvent``\\ s with their stored ids as ``source_id`` (``trade_id`` /
``activity_id``), so a replay's tie-break is stable across runs, and figures become rows.

"Rows stored since the last run" are an ``ingest_seq`` range (migration 0005): the database
numbers rows at insert, and :func:`ingest_horizon` reads the newest number while no writer is in
flight, so every row at or below it is committed and no later one can take a smaller number.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import and_, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from polymarket_pipeline.db.schema import (
    ActivityPublic,
    ApiClosedPosition,
    MarketCache,
    PnlConditionState,
    PnlMarketState,
    PnlState,
    PnlWalletState,
    PositionCurrent,
    PositionPnl,
    TradePublic,
    TraderStats,
    UserPnl,
    WalletPnlDaily,
    WalletPnlOfficial,
    WalletPollState,
    table_of,
)
from polymarket_pipeline.db.upsert import bulk_upsert
from polymarket_pipeline.domain.pnl import (
    EventKey,
    LedgerEvent,
    PositionFigures,
    event_from_activity,
    event_from_fill,
    optional_decimal,
    to_decimal,
)
from polymarket_pipeline.domain.records import Activity, Fill

_trades = table_of(TradePublic)
_activity = table_of(ActivityPublic)
_state = table_of(WalletPollState)
_current = table_of(PositionCurrent)
_closed_api = table_of(ApiClosedPosition)
_cache = table_of(MarketCache)
_positions = table_of(PositionPnl)
_daily = table_of(WalletPnlDaily)
_stats = table_of(TraderStats)
_users = table_of(UserPnl)
_official = table_of(WalletPnlOfficial)
_cursor = table_of(PnlState)
_wallet_state = table_of(PnlWalletState)
_conditions = table_of(PnlConditionState)
_market_state = table_of(PnlMarketState)

CURSOR_NAME = "ingest"
CHUNK = 500
"""Values per ``IN (...)`` list."""
T = TypeVar("T")


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _at(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


# --- the cursor ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Horizon:
    """``ingest_seq`` bounds of the two tape tables (0: nothing)."""

    trades_seq: int = 0
    activity_seq: int = 0


class IngestOrderMissingError(RuntimeError):
    """The database no longer numbers new tape rows (the SQLite trigger of migration 0005 is gone)."""


def _check_sqlite_triggers(connection: Connection) -> None:
    names = set(connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars())
    missing = {f"{t}_ingest_seq" for t in ("trades_public", "activity_public")} - names
    if missing:
        raise IngestOrderMissingError(
            f"trigger(s) {', '.join(sorted(missing))} missing: a migration recreated the table without "
            "them (see migration 0005), so new rows would be invisible to the PnL layer"
        )


def ingest_horizon(connection: Connection) -> Horizon | None:
    """The newest ``ingest_seq`` of each tape table, read while no writer of them is in flight.

    Call it in a write transaction (``engine.begin()``): on SQLite that holds the database's one
    write lock; on PostgreSQL ``LOCK ... IN SHARE MODE`` waits for the tables' writers in flight
    and holds new ones off until the transaction ends (an instant: two index lookups). On
    PostgreSQL, None when the lock could not be had within the connection's ``lock_timeout`` (a
    long write in flight): the caller then applies no new rows this time. On SQLite the lock is
    the transaction's own (taken when it began, within the busy timeout, else ``OperationalError``
    fails the run, and the next run retries).
    """
    dialect = connection.dialect.name
    if dialect == "sqlite":
        _check_sqlite_triggers(connection)
    elif dialect == "postgresql":
        try:
            with connection.begin_nested():
                connection.exec_driver_sql("LOCK TABLE trades_public, activity_public IN SHARE MODE")
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                return None
            raise
    trades = connection.scalar(
        select(func.max(_trades.c.ingest_seq)).where(_trades.c.ingest_seq.is_not(None))
    )
    activity = connection.scalar(
        select(func.max(_activity.c.ingest_seq)).where(_activity.c.ingest_seq.is_not(None))
    )
    return Horizon(int(trades or 0), int(activity or 0))


def load_cursor(connection: Connection) -> Horizon | None:
    """Where the last run over every wallet stopped (None: never run)."""
    row = connection.execute(
        select(_cursor.c.trades_seq, _cursor.c.activity_seq).where(_cursor.c.name == CURSOR_NAME)
    ).first()
    return None if row is None else Horizon(int(row.trades_seq), int(row.activity_seq))


def save_cursor(connection: Connection, horizon: Horizon, now: datetime) -> None:
    bulk_upsert(
        connection,
        _cursor,
        [
            {
                "name": CURSOR_NAME,
                "trades_seq": horizon.trades_seq,
                "activity_seq": horizon.activity_seq,
                "run_at": now,
            }
        ],
        key=["name"],
    )


# --- the registry ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisteredWallet:
    wallet: str
    history_complete: bool
    """Both the trade and the activity history are complete (``db.history``)."""
    positions_snapshot_at: datetime | None


def registered_wallets(
    connection: Connection, wallets: Collection[str] | None = None
) -> list[RegisteredWallet]:
    """Every row of ``wallet_poll_state`` (active or not: a removed wallet keeps its history)."""
    s = _state.c
    stmt = select(s.wallet_address, s.history_complete, s.activity_history_complete, s.positions_snapshot_at)
    if wallets is None:
        rows = list(connection.execute(stmt.order_by(s.wallet_address)))
    else:
        wanted = sorted(set(wallets))
        rows = [
            r
            for chunk in _chunks(wanted)
            for r in connection.execute(stmt.where(s.wallet_address.in_(chunk)))
        ]
        rows.sort(key=lambda r: r.wallet_address)
    return [
        RegisteredWallet(
            r.wallet_address,
            bool(r.history_complete and r.activity_history_complete),
            r.positions_snapshot_at,
        )
        for r in rows
    ]


# --- the tape as events ----------------------------------------------------------------------------

TapeTable = Literal["trades", "activity"]

_FILL_COLUMNS = (
    _trades.c.wallet_address,
    _trades.c.trade_id,
    _trades.c.condition_id,
    _trades.c.asset,
    _trades.c.side,
    _trades.c.size,
    _trades.c.price,
    _trades.c.traded_at,
    _trades.c.transaction_hash,
    _trades.c.outcome,
    _trades.c.outcome_index,
    _trades.c.ingest_seq,
)
_ACTIVITY_COLUMNS = (
    _activity.c.wallet_address,
    _activity.c.activity_id,
    _activity.c.type,
    _activity.c.condition_id,
    _activity.c.asset,
    _activity.c.side,
    _activity.c.size,
    _activity.c.usdc_size,
    _activity.c.price,
    _activity.c.outcome,
    _activity.c.outcome_index,
    _activity.c.transaction_hash,
    _activity.c.occurred_at,
    _activity.c.ingest_seq,
)


def _fill_event(r: Any) -> LedgerEvent:
    fill = Fill(
        wallet_address=r.wallet_address,
        side=r.side,
        asset=sys.intern(r.asset),
        condition_id=sys.intern(r.condition_id),
        size=r.size,
        price=r.price,
        timestamp=int(r.traded_at.timestamp()),
        transaction_hash=r.transaction_hash,
        outcome_index=r.outcome_index,
    )
    return event_from_fill(fill, source_id=r.trade_id)


def _activity_event(r: Any) -> LedgerEvent:
    row = Activity(
        wallet_address=r.wallet_address,
        type=r.type,
        timestamp=int(r.occurred_at.timestamp()),
        condition_id=sys.intern(r.condition_id) if r.condition_id else None,
        transaction_hash=r.transaction_hash,
        size=r.size,
        usdc_size=r.usdc_size,
        price=r.price,
        asset=sys.intern(r.asset) if r.asset else None,
        side=r.side,
        outcome_index=r.outcome_index,
    )
    return event_from_activity(row, source_id=r.activity_id)


@dataclass(frozen=True, slots=True)
class TapeRow:
    """One stored fill or activity row as an event, with its wallet, label and insertion number."""

    wallet: str
    event: LedgerEvent
    outcome: str | None
    seq: int
    table: TapeTable


def rows_since(
    connection: Connection, since: Horizon, until: Horizon, wallets: Collection[str] | None = None
) -> list[TapeRow]:
    """Rows with ``since < ingest_seq <= until`` (an index range), of ``wallets`` when given."""
    out: list[TapeRow] = []
    for table, columns, seq_since, seq_until, convert in (
        (_trades, _FILL_COLUMNS, since.trades_seq, until.trades_seq, _fill_event),
        (_activity, _ACTIVITY_COLUMNS, since.activity_seq, until.activity_seq, _activity_event),
    ):
        if seq_until <= seq_since:
            continue
        name: TapeTable = "trades" if table is _trades else "activity"
        seq = table.c.ingest_seq
        stmt = select(*columns).where(seq > seq_since, seq <= seq_until)
        batches = (
            [stmt]
            if wallets is None
            else [stmt.where(table.c.wallet_address.in_(chunk)) for chunk in _chunks(sorted(set(wallets)))]
        )
        for batch in batches:
            for r in connection.execute(batch):
                out.append(TapeRow(r.wallet_address, convert(r), r.outcome, int(r.ingest_seq), name))
    return out


@dataclass(slots=True)
class WalletLedger:
    """A wallet's stored events (some conditions of them, or up to some time), and what labels them."""

    events: list[LedgerEvent]
    outcomes: dict[str, str]
    """Outcome label per asset, as the rows gave it."""
    rows: int


def _ledger_filters(
    table: Any, time_column: Any, until: Horizon | None, seq_until: int, before: datetime | None
) -> list[Any]:
    filters: list[Any] = []
    if until is not None:
        filters.append(or_(table.c.ingest_seq.is_(None), table.c.ingest_seq <= seq_until))
    if before is not None:
        filters.append(time_column < before)
    return filters


def wallet_ledgers(
    connection: Connection,
    wallets: Sequence[str],
    *,
    until: Horizon | None,
    conditions: Collection[str] | None = None,
    before: datetime | None = None,
) -> dict[str, WalletLedger]:
    """Every stored event of these wallets (rows numbered at or below ``until``, NULL ones included;
    only ``conditions`` when given; only before ``before`` when given)."""
    ledgers = {w: WalletLedger([], {}, 0) for w in wallets}
    condition_list = sorted(set(conditions)) if conditions is not None else None
    for chunk in _chunks(list(wallets), 100 if condition_list is None else 1):
        for table, columns, time_column, seq_until, convert in (
            (_trades, _FILL_COLUMNS, _trades.c.traded_at, until.trades_seq if until else 0, _fill_event),
            (
                _activity,
                _ACTIVITY_COLUMNS,
                _activity.c.occurred_at,
                until.activity_seq if until else 0,
                _activity_event,
            ),
        ):
            filters = [
                table.c.wallet_address.in_(chunk),
                *_ledger_filters(table, time_column, until, seq_until, before),
            ]
            condition_batches: list[Sequence[str] | None] = (
                [None] if condition_list is None else list(_chunks(condition_list))
            )
            for batch in condition_batches:
                stmt = select(*columns).where(*filters)
                if batch is not None:
                    stmt = stmt.where(table.c.condition_id.in_(batch))
                for r in connection.execute(stmt):
                    ledger = ledgers[r.wallet_address]
                    ledger.events.append(convert(r))
                    ledger.rows += 1
                    if r.outcome and r.asset:
                        ledger.outcomes.setdefault(r.asset, r.outcome)
    return ledgers


def ledger_sizes(connection: Connection, wallets: Sequence[str]) -> dict[str, int]:
    """Stored tape rows per wallet (index-only counts): how much a wallet's first replay will read."""
    out: dict[str, int] = dict.fromkeys(wallets, 0)
    for table in (_trades, _activity):
        for chunk in _chunks(list(wallets)):
            stmt = (
                select(table.c.wallet_address, func.count())
                .where(table.c.wallet_address.in_(chunk))
                .group_by(table.c.wallet_address)
            )
            for wallet, count in connection.execute(stmt):
                out[wallet] += int(count)
    return out


# --- markets and marks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketRow:
    condition_id: str
    token_ids: tuple[str, ...]
    outcomes: tuple[str, ...]
    resolved: bool
    winner_asset: str | None
    neg_risk: bool | None
    event_id: str | None
    resolved_at: datetime | None


def market_rows(connection: Connection) -> list[MarketRow]:
    """The whole market cache (one row per market the pipeline ever looked up)."""
    c = _cache.c
    rows = connection.execute(
        select(
            c.condition_id,
            c.token_ids,
            c.outcomes,
            c.resolved,
            c.winner_asset,
            c.neg_risk,
            c.event_id,
            c.resolved_at,
        )
    )
    return [
        MarketRow(
            r.condition_id,
            tuple(str(t) for t in r.token_ids or ()),
            tuple(str(o) for o in r.outcomes or ()),
            bool(r.resolved),
            r.winner_asset,
            r.neg_risk,
            r.event_id,
            r.resolved_at,
        )
        for r in rows
    ]


def market_fingerprints(connection: Connection) -> dict[str, str]:
    return dict(connection.execute(select(_market_state.c.condition_id, _market_state.c.fingerprint)).all())


def save_market_fingerprints(
    connection: Connection, fingerprints: Mapping[str, str], gone: Collection[str], now: datetime
) -> None:
    rows = [{"condition_id": c, "fingerprint": f, "updated_at": now} for c, f in sorted(fingerprints.items())]
    bulk_upsert(connection, _market_state, rows, key=["condition_id"])
    for chunk in _chunks(sorted(gone)):
        connection.execute(delete(_market_state).where(_market_state.c.condition_id.in_(chunk)))


@dataclass(frozen=True, slots=True)
class ApiPosition:
    """The API's latest figures for one (wallet, token): its mark and its own avg and realized PnL."""

    asset: str
    condition_id: str
    cur_price: Decimal | None
    avg_price: Decimal | None
    realized_pnl: Decimal | None


def api_positions(
    connection: Connection, wallets: Sequence[str], scopes: Mapping[str, Collection[str]] | None = None
) -> dict[str, dict[str, ApiPosition]]:
    """Each wallet's stored ``positions_current`` snapshot, by asset: all of it, or for a wallet in
    ``scopes`` only its rows in those conditions (a partial update re-marks nothing else); and
    the API's own figures of its closed positions (``api_closed_positions``) where no open row
    names the token."""
    out: dict[str, dict[str, ApiPosition]] = {w: {} for w in wallets}
    scoped = dict(scopes or {})
    whole = [w for w in wallets if w not in scoped]
    statements = []
    for table in (_closed_api, _current):  # an open row, when there is one, has the last word
        c = table.c
        columns = (c.wallet_address, c.asset, c.condition_id, c.cur_price, c.avg_price, c.realized_pnl)
        statements += [select(*columns).where(c.wallet_address.in_(chunk)) for chunk in _chunks(whole)]
        for group in _scoped({w: v for w, v in scoped.items() if v}):
            wanted = or_(*(and_(c.wallet_address == w, c.condition_id.in_(v)) for w, v in group))
            statements.append(select(*columns).where(wanted))
    for stmt in statements:
        for r in connection.execute(stmt):
            out[r.wallet_address][r.asset] = ApiPosition(
                r.asset,
                r.condition_id,
                optional_decimal(r.cur_price),
                optional_decimal(r.avg_price),
                optional_decimal(r.realized_pnl),
            )
    return out


# --- stored PnL state ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredWalletState:
    wallet: str
    version: int
    book: dict[str, Any]
    totals: dict[str, Any]
    applied: Horizon
    history_complete: bool
    positions_snapshot_at: datetime | None
    daily_day: date | None
    drawdown_through: date | None
    drawdown_peak: Decimal
    drawdown_worst: Decimal
    replayed_at: datetime | None


def wallet_states(
    connection: Connection, wallets: Sequence[str], *, heads: bool = False
) -> dict[str, StoredWalletState]:
    """Stored wallet states; ``heads`` leaves out the book and the totals (empty dicts): what planning
    a run needs of every wallet, without parsing every wallet's JSON."""
    s = _wallet_state.c
    columns = [c for c in _wallet_state.c if not heads or c.name not in ("book", "totals")]
    out: dict[str, StoredWalletState] = {}
    for chunk in _chunks(list(wallets)):
        for r in connection.execute(select(*columns).where(s.wallet_address.in_(chunk))):
            out[r.wallet_address] = StoredWalletState(
                wallet=r.wallet_address,
                version=int(r.version),
                book={} if heads else json.loads(r.book),
                totals={} if heads else json.loads(r.totals),
                applied=Horizon(int(r.trades_seq), int(r.activity_seq)),
                history_complete=bool(r.history_complete),
                positions_snapshot_at=r.positions_snapshot_at,
                daily_day=r.daily_day,
                drawdown_through=r.drawdown_through,
                drawdown_peak=r.drawdown_peak,
                drawdown_worst=r.drawdown_worst,
                replayed_at=r.replayed_at,
            )
    return out


@dataclass(frozen=True, slots=True)
class StoredPosition:
    """One ``position_pnl`` row: its figures as stored, and the state they were computed from."""

    figures: PositionFigures
    token: dict[str, Any]
    """``TokenState.to_dict()``, unrounded (what the next run resumes from)."""
    day: list[Any] | None
    """The token's fills and notional of the day it last filled: [ISO day, volume, fills]."""
    label: str | None
    """The outcome label as first seen (used when the market cache does not know the token)."""
    api_avg_price: Decimal | None
    api_realized_pnl: Decimal | None


# --- the stored form of a token's state and of a condition's last key --------------------------------
# A token's state is a JSON list in TOKEN_FIELDS order, without the asset and condition id (the row's
# columns). A stored event key keeps its tie-break's first KEY_PREFIX characters (the transaction
# hash) and then KEY_PAD, a character above any a tie-break holds: the stored key is an upper bound
# of the real one. Keys are only compared (``is_late``: new < last), so a bound never misses a late
# row; a row of the same second, phase and transaction as the last one applied is taken as late and
# its condition replayed exactly. That cuts each stored key from ~250 bytes to ~90.

STATE_VERSION = 1
TOKEN_FIELDS = (
    "amount", "avg_price", "total_bought", "buy_cost", "realized_pnl", "fees_usdc", "untracked_shares",
    "fills", "volume_usdc", "flags", "first_event_at", "last_event_at", "first_fill_at", "last_fill_at",
    "last_key", "outcome_index",
)  # fmt: skip
_IDENTITY = {"asset", "condition_id"}
KEY_PREFIX = 67
"""The transaction hash and its separator."""
KEY_PAD = "\x7f"
"""Above every character of a tie-break (hex, digits, upper-case names, numbers, ``|``)."""


def bound_key(key: Sequence[Any] | None) -> list[Any] | None:
    """The stored form of an event key: an upper bound of it that keeps its order against new keys."""
    if key is None:
        return None
    tie = str(key[2])
    if len(tie) > KEY_PREFIX:
        tie = tie[:KEY_PREFIX] + KEY_PAD
    return [int(key[0]), int(key[1]), tie]


def encode_token(token: Mapping[str, Any], day: Sequence[Any] | None, label: str | None) -> str:
    """A ``TokenState.to_dict()`` (plus the token's day counts and label) as stored text."""
    if set(token) != set(TOKEN_FIELDS) | _IDENTITY:
        changed = sorted(set(token) ^ (set(TOKEN_FIELDS) | _IDENTITY))
        raise ValueError(
            f"TokenState fields changed ({changed}): update db.pnl.TOKEN_FIELDS and STATE_VERSION"
        )
    values = [token[f] for f in TOKEN_FIELDS]
    values[TOKEN_FIELDS.index("last_key")] = bound_key(token["last_key"])
    return json.dumps([STATE_VERSION, values, list(day) if day else None, label], separators=(",", ":"))


def decode_token(
    text: str, asset: str, condition: str
) -> tuple[dict[str, Any], list[Any] | None, str | None]:
    version, values, day, label = json.loads(text)
    if version != STATE_VERSION:
        raise ValueError(f"position state version {version} is not {STATE_VERSION}")
    token = dict(zip(TOKEN_FIELDS, values, strict=True))
    token.update(asset=asset, condition_id=condition)
    return token, day, label


def _figures(r: Any) -> PositionFigures:
    return PositionFigures(
        asset=r.asset,
        condition_id=r.condition_id,
        outcome_index=r.outcome_index,
        shares=r.shares,
        avg_price=r.avg_price,
        total_bought=r.total_bought,
        cost_basis=r.cost_basis,
        buy_cost=r.buy_cost,
        realized_pnl=r.realized_pnl,
        unrealized_pnl=r.unrealized_pnl,
        mark_price=r.mark_price,
        mark_source=r.mark_source,
        fees_usdc=r.fees_usdc,
        status=r.status,
        complete=bool(r.complete),
        incomplete_reason=r.incomplete_reason,
        untracked_shares=r.untracked_shares,
        fills=int(r.fills),
        volume_usdc=r.volume_usdc,
        first_event_at=_epoch(r.first_event_at),
        last_event_at=_epoch(r.last_event_at),
        first_fill_at=_epoch(r.first_fill_at),
        last_fill_at=_epoch(r.last_fill_at),
    )


def _stored_position(r: Any) -> StoredPosition:
    token, day, label = decode_token(r.state, r.asset, r.condition_id)
    return StoredPosition(_figures(r), token, day, label, r.api_avg_price, r.api_realized_pnl)


def stored_positions(connection: Connection, wallet: str) -> dict[str, StoredPosition]:
    """Every position row of one wallet."""
    rows = connection.execute(select(_positions).where(_positions.c.wallet_address == wallet))
    return {r.asset: _stored_position(r) for r in rows}


def _scoped(
    scopes: Mapping[str, Collection[str]], limit: int = CHUNK
) -> Iterator[list[tuple[str, list[str]]]]:
    """(wallet, its conditions) groups of at most ``limit`` conditions each, for exact predicates: a
    ``wallet IN ... AND condition IN ...`` cross product would read every heavy wallet's other rows."""
    group: list[tuple[str, list[str]]] = []
    size = 0
    for wallet, conditions in sorted(scopes.items()):
        for chunk in _chunks(sorted(set(conditions)), limit):
            if group and size + len(chunk) > limit:
                yield group
                group, size = [], 0
            group.append((wallet, list(chunk)))
            size += len(chunk)
    if group:
        yield group


def positions_of(
    connection: Connection,
    scopes: Mapping[str, Collection[str]],
    *,
    marked: Collection[str] = (),
    assets: Mapping[str, Collection[str]] | None = None,
) -> dict[str, dict[str, StoredPosition]]:
    """Many wallets' rows in a few queries: each wallet's rows in the conditions of its scope, and,
    for the ``marked`` wallets, every row a mark or API figure applies to (shares left, API figures,
    or an asset of ``assets``)."""
    p = _positions.c
    out: dict[str, dict[str, StoredPosition]] = {w: {} for w in (*scopes, *marked)}
    for group in _scoped(scopes):
        wanted = or_(*(and_(p.wallet_address == w, p.condition_id.in_(c)) for w, c in group))
        for r in connection.execute(select(_positions).where(wanted)):
            out[r.wallet_address][r.asset] = _stored_position(r)
    for wallet in marked:
        applies = or_(p.shares > 0, p.api_avg_price.is_not(None), p.api_realized_pnl.is_not(None))
        listed = sorted(set((assets or {}).get(wallet, ())))
        condition = or_(applies, *(p.asset.in_(chunk) for chunk in _chunks(listed)))
        for r in connection.execute(select(_positions).where(p.wallet_address == wallet, condition)):
            out[wallet][r.asset] = _stored_position(r)
    return out


def keys_of(connection: Connection, scopes: Mapping[str, Collection[str]]) -> dict[str, dict[str, EventKey]]:
    """Many wallets' stored condition keys, each within its scope (a few queries)."""
    k = _conditions.c
    out: dict[str, dict[str, EventKey]] = {w: {} for w in scopes}
    for group in _scoped(scopes):
        wanted = or_(*(and_(k.wallet_address == w, k.condition_id.in_(c)) for w, c in group))
        for r in connection.execute(select(k.wallet_address, k.condition_id, k.last_key).where(wanted)):
            out[r.wallet_address][r.condition_id] = _key_from_json(r.last_key)
    return out


def position_wallets(
    connection: Connection, *, with_api_figures: bool = False
) -> Iterator[tuple[str, StoredPosition]]:
    """Every position row with its wallet (optionally only those the API gave figures for)."""
    p = _positions.c
    stmt = select(_positions)
    if with_api_figures:
        stmt = stmt.where(or_(p.api_avg_price.is_not(None), p.api_realized_pnl.is_not(None)))
    for r in connection.execute(stmt.order_by(p.wallet_address, p.asset)):
        yield r.wallet_address, _stored_position(r)


def _key_from_json(text: str) -> EventKey:
    raw = json.loads(text)
    return (int(raw[0]), int(raw[1]), str(raw[2]))


def holders(connection: Connection, conditions: Collection[str]) -> dict[str, set[str]]:
    """Wallets whose ledger has touched each condition: a position row in it, or an event applied
    to it that left no position (a redeem of nothing held)."""
    p, k = _positions.c, _conditions.c
    out: dict[str, set[str]] = {}
    for chunk in _chunks(sorted(set(conditions))):
        for table in ((p.condition_id, p.wallet_address), (k.condition_id, k.wallet_address)):
            rows = connection.execute(select(*table).where(table[0].in_(chunk)).distinct())
            for condition, wallet in rows:
                out.setdefault(condition, set()).add(wallet)
    return out


def daily_curves(
    connection: Connection, wallets: Sequence[str], *, after: date | None, before: date
) -> dict[str, list[tuple[date, Decimal | None]]]:
    """Stored daily ``position_pnl`` per wallet for days in (``after``, ``before``), oldest first."""
    d = _daily.c
    out: dict[str, list[tuple[date, Decimal | None]]] = {w: [] for w in wallets}
    for chunk in _chunks(list(wallets)):
        stmt = select(d.wallet_address, d.day, d.position_pnl).where(
            d.wallet_address.in_(chunk), d.day < before
        )
        if after is not None:
            stmt = stmt.where(d.day > after)
        for r in connection.execute(stmt.order_by(d.wallet_address, d.day)):
            out[r.wallet_address].append((r.day, r.position_pnl))
    return out


def trader_stats(connection: Connection, wallets: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """``trader_stats`` rows as dicts, by wallet (all when ``wallets`` is None)."""
    if wallets is None:
        return {r["wallet_address"]: dict(r) for r in connection.execute(select(_stats)).mappings()}
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(list(wallets)):
        for r in connection.execute(select(_stats).where(_stats.c.wallet_address.in_(chunk))).mappings():
            out[r["wallet_address"]] = dict(r)
    return out


# --- writes ----------------------------------------------------------------------------------------


def position_row(
    wallet: str,
    p: PositionFigures,
    *,
    outcome: str | None,
    api_avg_price: Decimal | None,
    api_realized_pnl: Decimal | None,
    token: Mapping[str, Any],
    day: Sequence[Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """A ``position_pnl`` row: the figures, the API's own, and the token's state to resume from."""
    return {
        "wallet_address": wallet,
        "asset": p.asset,
        "condition_id": p.condition_id,
        "outcome": outcome,
        "outcome_index": p.outcome_index,
        "shares": p.shares,
        "avg_price": p.avg_price,
        "total_bought": p.total_bought,
        "cost_basis": p.cost_basis,
        "buy_cost": p.buy_cost,
        "realized_pnl": p.realized_pnl,
        "unrealized_pnl": p.unrealized_pnl,
        "mark_price": p.mark_price,
        "mark_source": p.mark_source,
        "fees_usdc": p.fees_usdc,
        "volume_usdc": p.volume_usdc,
        "fills": p.fills,
        "untracked_shares": p.untracked_shares,
        "status": p.status,
        "complete": p.complete,
        "incomplete_reason": p.incomplete_reason,
        "api_avg_price": api_avg_price,
        "api_realized_pnl": api_realized_pnl,
        "first_event_at": _at(p.first_event_at),
        "last_event_at": _at(p.last_event_at),
        "first_fill_at": _at(p.first_fill_at),
        "last_fill_at": _at(p.last_fill_at),
        "state": encode_token(token, day, outcome),
        "updated_at": now,
    }


@dataclass(slots=True)
class WalletWrite:
    """Everything one wallet's update writes, in one transaction with the others of its batch."""

    wallet: str
    expected_version: int | None
    """The version read (None: no state row yet); the write is skipped if another run moved it."""
    replace: bool
    """Drop every stored position and condition row of the wallet first (a whole replay)."""
    positions: list[dict[str, Any]]
    removed_assets: list[str]
    condition_keys: dict[str, EventKey]
    state: dict[str, Any]
    """The ``pnl_wallet_state`` row without ``version``."""
    stats: dict[str, Any] | None
    daily: dict[str, Any] | None


def _claim(connection: Connection, writes: Sequence[WalletWrite]) -> list[WalletWrite]:
    """Take the wallets for these writes: insert the new states, and bump each stored version that
    is still the one read (one statement each way); the others were written by another run since."""
    s = _wallet_state.c
    fresh = [w for w in writes if w.expected_version is None]
    known = [w for w in writes if w.expected_version is not None]
    taken: set[str] = set()
    if fresh:
        insert: Any = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
            _wallet_state
        )
        stmt = insert.on_conflict_do_nothing(index_elements=["wallet_address"]).returning(s.wallet_address)
        rows = [{**w.state, "version": 1} for w in fresh]
        taken.update(connection.execute(stmt, rows).scalars())
    for chunk in _chunks(known):
        pairs = [(w.wallet, w.expected_version) for w in chunk]
        stmt = (
            update(_wallet_state)
            .where(tuple_(s.wallet_address, s.version).in_(pairs))
            .values(version=s.version + 1)
            .returning(s.wallet_address)
        )
        claimed = set(connection.execute(stmt).scalars())
        taken.update(claimed)
        rows = [w.state for w in chunk if w.wallet in claimed]
        if rows:
            columns = [c for c in rows[0] if c != "wallet_address"]
            connection.execute(
                update(_wallet_state)
                .where(s.wallet_address == bindparam("w"))
                .values({c: bindparam(f"v_{c}", type_=s[c].type) for c in columns}),
                [{"w": r["wallet_address"], **{f"v_{c}": r[c] for c in columns}} for r in rows],
            )
    return [w for w in writes if w.wallet in taken]


_OFFICIAL_STATS = (
    "official_realized_pnl",
    "official_position_pnl",
    "official_delta_usdc",
    "official_realized_delta_usdc",
    "official_agrees",
    "official_likely_cause",
    "official_point_at",
    "official_checked_at",
)


def write_wallets(connection: Connection, writes: Sequence[WalletWrite]) -> list[str]:
    """Write each wallet whose version is still the one read; returns the wallets written."""
    claimed = _claim(connection, writes)
    replaced = [w.wallet for w in claimed if w.replace]
    for chunk in _chunks(replaced):
        connection.execute(delete(_positions).where(_positions.c.wallet_address.in_(chunk)))
        connection.execute(delete(_conditions).where(_conditions.c.wallet_address.in_(chunk)))
    for w in claimed:
        for chunk in _chunks(w.removed_assets):
            connection.execute(
                delete(_positions).where(
                    _positions.c.wallet_address == w.wallet, _positions.c.asset.in_(chunk)
                )
            )
    positions = [row for w in claimed for row in w.positions]
    bulk_upsert(connection, _positions, positions, key=["wallet_address", "asset"])
    keys = [
        {
            "wallet_address": w.wallet,
            "condition_id": c,
            "last_key": json.dumps(bound_key(k), separators=(",", ":")),
        }
        for w in claimed
        for c, k in sorted(w.condition_keys.items())
    ]
    bulk_upsert(connection, _conditions, keys, key=["wallet_address", "condition_id"])
    stats = [w.stats for w in claimed if w.stats is not None]
    if stats:
        columns = [c for c in stats[0] if c != "wallet_address" and c not in _OFFICIAL_STATS]
        bulk_upsert(connection, _stats, stats, key=["wallet_address"], update=columns)
    write_daily(connection, [w.daily for w in claimed if w.daily is not None])
    return [w.wallet for w in claimed]


def daily_days_between(connection: Connection, first: date, before: date) -> list[date]:
    """The days from ``first`` up to (not including) ``before`` that hold ``wallet_pnl_daily`` rows."""
    stmt = select(_daily.c.day).where(_daily.c.day >= first, _daily.c.day < before).distinct()
    return sorted(connection.scalars(stmt))


def write_daily(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    bulk_upsert(connection, _daily, rows, key=["wallet_address", "day"])


def set_daily_day(connection: Connection, wallet: str, version: int, day: date, now: datetime) -> bool:
    """Record that today's row of an unchanged wallet was written (if no other run moved it)."""
    s = _wallet_state.c
    result = connection.execute(
        update(_wallet_state)
        .where(s.wallet_address == wallet, s.version == version)
        .values(daily_day=day, version=version + 1, updated_at=now)
    )
    return result.rowcount == 1


def update_drawdowns(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store recomputed drawdowns: ``trader_stats.max_drawdown_usdc`` and each wallet's running curve."""
    if not rows:
        return
    connection.execute(
        update(_stats)
        .where(_stats.c.wallet_address == bindparam("w"))
        .values(max_drawdown_usdc=bindparam("worst_now", type_=_stats.c.max_drawdown_usdc.type)),
        [{"w": r["wallet"], "worst_now": r["worst_now"]} for r in rows],
    )
    connection.execute(
        update(_wallet_state)
        .where(_wallet_state.c.wallet_address == bindparam("w"))
        .values(
            drawdown_through=bindparam("through"),
            drawdown_peak=bindparam("peak", type_=_wallet_state.c.drawdown_peak.type),
            drawdown_worst=bindparam("worst", type_=_wallet_state.c.drawdown_worst.type),
            version=_wallet_state.c.version + 1,
        ),
        [{"w": r["wallet"], "through": r["through"], "peak": r["peak"], "worst": r["worst"]} for r in rows],
    )


def replace_user_pnl(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Upsert every user's row (rewritten only when a figure changed) and drop users no longer linked.

    Returns the rows inserted or changed.
    """
    figures = [c for c in (rows[0] if rows else {}) if c not in ("user_id", "as_of", "updated_at")]
    before = {r["user_id"]: dict(r) for r in connection.execute(select(_users)).mappings()}
    changed = [
        r for r in rows if r["user_id"] not in before or any(before[r["user_id"]][c] != r[c] for c in figures)
    ]
    bulk_upsert(connection, _users, changed, key=["user_id"])
    gone = sorted(set(before) - {r["user_id"] for r in rows})
    for chunk in _chunks(gone):
        connection.execute(delete(_users).where(_users.c.user_id.in_(chunk)))
    return len(changed) + len(gone)


def write_official_verdicts(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """The check's verdicts into ``trader_stats`` (its ``official_*`` columns only)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "wallet_address"]
    connection.execute(
        update(_stats)
        .where(_stats.c.wallet_address == bindparam("w"))
        .values({c: bindparam(f"v_{c}", type_=_stats.c[c].type) for c in columns}),
        [{"w": r["wallet_address"], **{f"v_{c}": r[c] for c in columns}} for r in rows],
    )


# --- Polymarket's own series -----------------------------------------------------------------------

Number = Decimal | float | int | str | None


@dataclass(frozen=True, slots=True)
class OfficialPnlInput:
    """One ``/v2/user-pnl`` point as the caller parsed it (None: "not covered", never 0)."""

    timestamp: int | datetime
    source_block: int | None = None
    realized_market_pnl: Number = None
    realized_lp_pnl: Number = None
    realized_combo_pnl: Number = None
    realized_pnl: Number = None
    unrealized_pnl: Number = None
    position_pnl: Number = None
    wallet_income: Number = None
    economic_pnl: Number = None
    settled_pnl: Number = None
    trade_pnl: Number = None
    fees: Number = None
    fees_paid: Number = None
    fees_charged: Number = None
    fees_refunded: Number = None
    maker_rebate: Number = None
    taker_rebate: Number = None
    reward_income: Number = None
    yield_income: Number = None
    referral_income: Number = None
    sponsored_income: Number = None
    deposits: Number = None
    withdrawals: Number = None
    cashflow_net: Number = None
    volume: Number = None
    volume_usdc: Number = None
    trade_count: int | None = None
    interval: str | None = None
    fidelity: str | None = None
    source_fidelity: str | None = None
    raw: Mapping[str, Any] | None = None
    """The point as received (stored as is)."""


_OFFICIAL_NUMBERS = tuple(
    f.name
    for f in fields(OfficialPnlInput)
    if f.name
    not in ("timestamp", "source_block", "trade_count", "interval", "fidelity", "source_fidelity", "raw")
)


def store_official_points(
    engine: Engine, wallet: str, points: Iterable[OfficialPnlInput], fetched_at: datetime
) -> int:
    """Upsert a wallet's official points by (wallet, timestamp): a point fetched again is replaced."""
    rows = []
    for p in points:
        moment = (
            p.timestamp if isinstance(p.timestamp, datetime) else datetime.fromtimestamp(p.timestamp, tz=UTC)
        )
        row: dict[str, Any] = {
            "wallet_address": wallet,
            "timestamp": moment,
            "source_block": p.source_block,
            "trade_count": p.trade_count,
            "interval": p.interval,
            "fidelity": p.fidelity,
            "source_fidelity": p.source_fidelity,
            "raw": dict(p.raw or {}),
            "fetched_at": fetched_at,
        }
        for name in _OFFICIAL_NUMBERS:
            value = getattr(p, name)
            row[name] = None if value is None else to_decimal(value)
        rows.append(row)
    if not rows:
        return 0
    with engine.begin() as connection:
        bulk_upsert(connection, _official, rows, key=["wallet_address", "timestamp"])
    return len(rows)


def latest_official(connection: Connection) -> dict[str, dict[str, Any]]:
    """Each wallet's latest official point, as a dict of its columns."""
    o = _official.c
    newest = (
        select(o.wallet_address, func.max(o.timestamp).label("newest")).group_by(o.wallet_address).subquery()
    )
    rows = connection.execute(
        select(_official).join(
            newest, and_(o.wallet_address == newest.c.wallet_address, o.timestamp == newest.c.newest)
        )
    ).mappings()
    return {r["wallet_address"]: dict(r) for r in rows}
