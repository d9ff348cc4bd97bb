"""Keeping the PnL tables current from the stored tape, incrementally (plain functions, no network).

The figures are ``domain.pnl``'s replay and ``domain.performance``'s totals; this module decides
*what* to replay and keeps the result resumable:

- **Cursor.** Every tape row gets an ``ingest_seq`` from the database at insert (migration 0005).
  A run reads the horizon ``H`` (the newest numbers, taken while no writer is in flight) and the
  rows in ``(cursor, H]``: an index range whose size is the rows stored since the last run. Each
  wallet also remembers the numbers it applied, so a run restricted to some wallets, or a wallet
  another run wrote meanwhile, is never applied twice.
- **Resume.** A wallet's ``Book`` is stored split: its wallet-level part (``pnl_wallet_state``),
  one unrounded ``TokenState`` per ``position_pnl`` row and one last key per condition
  (``pnl_condition_state``). New rows only load the tokens and keys of the conditions they touch
  and append to them; ``trader_stats`` is kept from exact running sums over the position rows
  (every wallet figure is a sum of quantized position figures), so an update costs the rows it
  touches, not the wallet's history.
- **Replays.** A new event that sorts before what was applied to its condition
  (``domain.pnl.is_late``: a backfilled older row, a same-second row that came later) replays
  that condition from the database onto the book without it; so does a condition whose market
  info (tokens, resolution, event members) changed. The whole wallet is replayed instead on its
  first run, when its history flags changed (a backfill finished, or a history was reset), when
  a conversion is involved, or when a late condition meets a ledger-level flag (a condition
  replay could not clear it).
- **Marks.** A wallet whose ``positions_current`` snapshot changed gets its open positions
  re-marked (and the API's own figures re-read) without a replay.

Today's ``wallet_pnl_daily`` row is ``trader_stats`` as of the run with that day's fills and
volume; past days come from :func:`compute_day`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, Literal

from sqlalchemy.engine import Connection, Engine

from polymarket_pipeline.db import pnl as store
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.pnl import (
    ApiPosition,
    Horizon,
    RegisteredWallet,
    StoredPosition,
    StoredWalletState,
    TapeRow,
    WalletWrite,
)
from polymarket_pipeline.db.wallets import links_by_user
from polymarket_pipeline.domain.performance import WalletPerformance, compare_position
from polymarket_pipeline.domain.pnl import (
    LEDGER_CONTEXT,
    ZERO,
    Book,
    EventKey,
    JournalEntry,
    LedgerEvent,
    MarketInfo,
    PositionFigures,
    affected_conditions,
    is_late,
    join_reasons,
    position_figures,
    quantize_usdc,
    replay,
    utc_day,
)
from polymarket_pipeline.sync.pnl.markets import KnownMarket, fingerprint, known_markets
from polymarket_pipeline.sync.pnl.totals import (
    BATCH_EVENTS,
    BATCH_WALLETS,
    LIVE,
    MAX_LISTED,
    REPLAYED_KINDS,
    Drawdown,
    PositionDisagreement,
    TokenDay,
    Totals,
    api_prices,
    at,
    performance_of,
    utc,
)

MAX_TAPE_ROWS_PER_RUN = 1_000_000
"""New rows of each tape table one run reads at most, so memory stays bounded after an outage."""

# --- one wallet's update ---------------------------------------------------------------------------

PlanKind = Literal["full", "partial", "marks", "roll", "none"]


@dataclass(slots=True)
class Plan:
    wallet: str
    kind: PlanKind
    reason: str = ""
    new: list[TapeRow] = field(default_factory=list)
    market_conditions: set[str] = field(default_factory=set)
    snapshot_changed: bool = False


@dataclass(slots=True)
class _Outcome:
    write: WalletWrite | None = None
    kind: PlanKind = "none"
    reason: str = ""
    rows_read: int = 0
    state_rows_read: int = 0
    conditions_replayed: int = 0
    late_events: int = 0
    disagreements: list[PositionDisagreement] = field(default_factory=list)
    compared_positions: int = 0
    book: Book | None = None
    new_positions: list[tuple[PositionFigures, set[str], TokenDay]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Run:
    now: datetime
    today: date
    horizon: Horizon
    markets: dict[str, KnownMarket]
    infos: dict[str, MarketInfo]


def _outcome_label(run: _Run, figures: PositionFigures, *labels: str | None) -> str | None:
    known = run.markets.get(figures.condition_id)
    if (
        known is not None
        and figures.outcome_index is not None
        and figures.outcome_index < len(known.outcomes)
    ):
        return known.outcomes[figures.outcome_index] or next((x for x in labels if x), None)
    return next((x for x in labels if x), None)


def _add_days(days: dict[str, TokenDay], journal: Iterable[JournalEntry], today: date) -> None:
    """Count today's fills and notional per token (the live daily row's ``fills`` and ``volume_usdc``)."""
    key = today.isoformat()
    for entry in journal:
        if entry.is_fill and entry.asset is not None and utc_day(entry.timestamp) == today:
            token_day = days.get(entry.asset, TokenDay()).on(key)
            with localcontext(LEDGER_CONTEXT):
                token_day.volume += entry.notional_usdc
            token_day.fills += 1
            days[entry.asset] = token_day


def _compare(wallet: str, figures: PositionFigures, api: ApiPosition | None, out: _Outcome) -> None:
    if api is None or (api.avg_price is None and api.realized_pnl is None):
        return
    verdict = compare_position(figures, api.avg_price, api.realized_pnl)
    out.compared_positions += 1
    if verdict.avg_price_agrees is False or verdict.realized_agrees is False:
        out.disagreements.append(
            PositionDisagreement(
                wallet,
                figures.asset,
                figures.condition_id,
                verdict.avg_price_delta,
                verdict.realized_delta,
                figures.complete,
            )
        )


def _stats_row(wallet: str, perf: WalletPerformance, totals: Totals, now: datetime) -> dict[str, Any]:
    return {
        "wallet_address": wallet,
        "realized_pnl": perf.realized_pnl,
        "unrealized_pnl": perf.unrealized_pnl,
        "unrealized_complete": perf.unrealized_complete,
        "trade_pnl": perf.trade_pnl,
        "position_pnl": perf.position_pnl,
        "economic_pnl": perf.economic_pnl,
        "fees_usdc": perf.fees_usdc,
        "income_usdc": perf.income_usdc,
        "volume_usdc": perf.volume_usdc,
        "fills": perf.fills,
        "markets": perf.markets,
        "positions": totals.positions,
        "open_positions": totals.open,
        "wins": perf.wins,
        "losses": perf.losses,
        "win_rate": perf.win_rate,
        "roi": perf.roi,
        "decided_pnl": totals.decided_pnl,
        "decided_cost": totals.decided_cost,
        "max_drawdown_usdc": perf.max_drawdown_usdc,
        "first_fill_at": at(perf.first_fill_at),
        "last_fill_at": at(perf.last_fill_at),
        "complete": perf.complete,
        "incomplete_reason": perf.incomplete_reason,
        "conversions": perf.conversions,
        "as_of": now,
        "updated_at": now,
    }


def _live_daily_row(
    wallet: str, day: date, perf: WalletPerformance, totals: Totals, now: datetime
) -> dict[str, Any]:
    same_day = totals.day == day.isoformat()
    return {
        "wallet_address": wallet,
        "day": day,
        "realized_pnl": perf.realized_pnl,
        "fees_usdc": perf.fees_usdc,
        "income_usdc": perf.income_usdc,
        "unrealized_pnl": perf.unrealized_pnl,
        "unrealized_complete": perf.unrealized_complete,
        "trade_pnl": perf.trade_pnl,
        "position_pnl": perf.position_pnl,
        "economic_pnl": perf.economic_pnl,
        "volume_usdc": quantize_usdc(totals.day_volume) if same_day else ZERO,
        "fills": totals.day_fills if same_day else 0,
        "marked_positions": totals.marked,
        "unmarked_positions": totals.unmarked,
        "mark_basis": LIVE,
        "complete": perf.complete,
        "incomplete_reason": perf.incomplete_reason,
        "computed_at": now,
    }


def _book_json(book: Book) -> dict[str, Any]:
    data = book.wallet_dict()
    data.pop("condition_last_keys", None)
    return data


@dataclass(slots=True)
class _Inputs:
    """What one batch read for one wallet."""

    registered: RegisteredWallet
    stored: StoredWalletState | None
    api: dict[str, ApiPosition]
    ledger: store.WalletLedger | None = None
    positions: dict[str, StoredPosition] = field(default_factory=dict)
    keys: dict[str, EventKey] = field(default_factory=dict)
    curve: list[tuple[date, Decimal | None]] = field(default_factory=list)


def _finish(
    run: _Run,
    plan: Plan,
    inputs: _Inputs,
    book: Book,
    loaded: Mapping[str, StoredPosition],
    days: dict[str, TokenDay],
    totals: Totals,
    *,
    replace_all: bool,
    condition_scope: Collection[str] | None,
    out: _Outcome,
    labels: Mapping[str, str],
) -> _Outcome:
    """Figures of the book's tokens, the running sums moved from the old rows to the new, and the write."""
    wallet = plan.wallet
    registered, stored = inputs.registered, inputs.stored
    infos = run.infos
    figures = position_figures(book, infos, api_prices(inputs.api))
    today_key = run.today.isoformat()
    totals.start_day(today_key)
    rows = []
    with localcontext(LEDGER_CONTEXT):
        if not replace_all:
            for previous in loaded.values():
                totals.apply(
                    previous.figures,
                    previous.token.get("flags") or (),
                    TokenDay.from_list(previous.day),
                    -1,
                )
        old_by_condition = Counter(p.figures.condition_id for p in loaded.values())
        for p in figures:
            state = book.tokens[p.asset]
            token_day = days.get(p.asset, TokenDay())
            totals.apply(p, state.flags, token_day, 1)
            out.new_positions.append((p, set(state.flags), token_day))
            old = loaded.get(p.asset)
            label = _outcome_label(
                run,
                p,
                labels.get(p.asset),
                old.label if old else None,
            )
            api = inputs.api.get(p.asset)
            _compare(wallet, p, api, out)
            rows.append(
                store.position_row(
                    wallet,
                    p,
                    outcome=label,
                    api_avg_price=api.avg_price if api else None,
                    api_realized_pnl=api.realized_pnl if api else None,
                    token=state.to_dict(),
                    day=token_day.to_list(),
                    now=run.now,
                )
            )
        new_by_condition = Counter(p.condition_id for p in figures)
        if replace_all:
            totals.markets = len(new_by_condition)
        else:
            for condition in condition_scope or ():
                totals.markets += (new_by_condition[condition] > 0) - (old_by_condition[condition] > 0)
    removed = sorted(set(loaded) - set(book.tokens))
    out.book = book
    perf = performance_of(totals, book, history_complete=registered.history_complete, max_drawdown=ZERO)
    drawdown = Drawdown(
        stored.drawdown_through if stored and not replace_all else None,
        stored.drawdown_peak if stored and not replace_all else ZERO,
        stored.drawdown_worst if stored and not replace_all else ZERO,
    )
    yesterday = run.today - timedelta(days=1)
    if drawdown.through is None or drawdown.through < yesterday:
        drawdown.extend(inputs.curve, yesterday)
    perf = replace(perf, max_drawdown_usdc=drawdown.now(perf.position_pnl))
    applied = (
        run.horizon
        if replace_all or stored is None
        else Horizon(
            max(stored.applied.trades_seq, run.horizon.trades_seq),
            max(stored.applied.activity_seq, run.horizon.activity_seq),
        )
    )
    state_row = {
        "wallet_address": wallet,
        "book": json.dumps(_book_json(book), separators=(",", ":"), sort_keys=True),
        "totals": json.dumps(totals.to_dict(), separators=(",", ":"), sort_keys=True),
        "trades_seq": applied.trades_seq,
        "activity_seq": applied.activity_seq,
        "history_complete": registered.history_complete,
        "positions_snapshot_at": registered.positions_snapshot_at,
        "daily_day": run.today,
        "drawdown_through": drawdown.through,
        "drawdown_peak": drawdown.peak,
        "drawdown_worst": drawdown.worst,
        "replayed_at": run.now if replace_all else (stored.replayed_at if stored else None),
        "updated_at": run.now,
    }
    scope = (
        book.condition_last_keys
        if replace_all
        else {
            c: k
            for c, k in book.condition_last_keys.items()
            if condition_scope is not None and c in condition_scope
        }
    )
    out.write = WalletWrite(
        wallet=wallet,
        expected_version=stored.version if stored else None,
        replace=replace_all,
        positions=rows,
        removed_assets=removed,
        condition_keys=dict(scope),
        state=state_row,
        stats=_stats_row(wallet, perf, totals, run.now),
        daily=_live_daily_row(wallet, run.today, perf, totals, run.now),
    )
    return out


def _full(run: _Run, plan: Plan, inputs: _Inputs, out: _Outcome) -> _Outcome:
    ledger = inputs.ledger
    assert ledger is not None
    result = replay(ledger.events, run.infos, history_complete=inputs.registered.history_complete)
    days: dict[str, TokenDay] = {}
    _add_days(days, result.journal, run.today)
    out.kind, out.reason = "full", plan.reason
    out.rows_read += ledger.rows
    return _finish(
        run,
        plan,
        inputs,
        result.book,
        {},
        days,
        Totals(),
        replace_all=True,
        condition_scope=None,
        out=out,
        labels=ledger.outcomes,
    )


def _partial_book(
    stored: StoredWalletState, positions: Mapping[str, StoredPosition], keys: Mapping[str, EventKey]
) -> Book:
    data = {**stored.book, "condition_last_keys": {c: list(k) for c, k in keys.items()}}
    return Book.from_dict(data, tokens=[p.token for p in positions.values()])


def _needs_full(book: Book, late: set[str], events: Sequence[LedgerEvent]) -> str | None:
    """Why appending or replaying some conditions could differ from a whole replay (None: it cannot)."""
    if any(e.kind == "CONVERSION" for e in events):
        return "conversion"
    if late and book.conversions:
        return "late_with_conversions"
    if late and book.flags:
        return "late_with_ledger_flags"
    return None


def _new_events(plan: Plan, stored: StoredWalletState) -> list[TapeRow]:
    applied = stored.applied
    return [
        r for r in plan.new if r.seq > (applied.trades_seq if r.table == "trades" else applied.activity_seq)
    ]


def _scope(plan: Plan, rows: Sequence[TapeRow]) -> set[str]:
    """Conditions whose tokens the new rows (or a changed market) may move or add fees to."""
    conditions = set(plan.market_conditions)
    for r in rows:
        if r.event.condition_id and r.event.kind in REPLAYED_KINDS:
            conditions.add(r.event.condition_id)
    return conditions


def _incremental(run: _Run, plan: Plan, inputs: _Inputs, out: _Outcome, conn: Connection) -> _Outcome | Plan:
    """Append the new rows (replaying late conditions); a Plan back means: replay the whole wallet."""
    stored = inputs.stored
    assert stored is not None
    rows = _new_events(plan, stored)
    events = [r.event for r in rows]
    scope = _scope(plan, rows)
    loaded = dict(inputs.positions)  # the scope's rows, and the marked ones on a new snapshot
    out.state_rows_read += len(loaded) + len(inputs.keys)
    book = _partial_book(stored, loaded, inputs.keys)
    infos = run.infos
    late_events = [e for e in events if is_late(book, e, infos)]
    out.late_events = len(late_events)
    late = {c for e in late_events for c in affected_conditions(e, infos)} | plan.market_conditions
    why = _needs_full(book, late, events)
    if why is not None:
        return replace(plan, kind="full", reason=why)
    days = {a: TokenDay.from_list(p.day) for a, p in loaded.items()}
    history_complete = inputs.registered.history_complete
    if late:
        ledger = store.wallet_ledgers(conn, [plan.wallet], until=run.horizon, conditions=late)[plan.wallet]
        out.rows_read += ledger.rows
        replayed = [e for e in ledger.events if e.kind in REPLAYED_KINDS]
        result = replay(
            replayed, infos, start=book.without_conditions(late), history_complete=history_complete
        )
        book = result.book
        for asset, state in book.tokens.items():
            if state.condition_id in late:
                days[asset] = TokenDay()
        _add_days(days, result.journal, run.today)
        out.conditions_replayed = len(late)
        events = [e for e in events if not (e.kind in REPLAYED_KINDS and e.condition_id in late)]
    result = replay(events, infos, start=book, history_complete=history_complete)
    _add_days(days, result.journal, run.today)
    out.rows_read += len(rows)
    out.kind = "partial" if (rows or late) else "marks"
    out.reason = (
        ("late" if out.late_events else "market_changed" if plan.market_conditions else "") if late else ""
    )
    totals = Totals.from_dict(stored.totals)
    labels = {r.event.asset: r.outcome for r in rows if r.event.asset and r.outcome}
    _finish(
        run,
        plan,
        inputs,
        result.book,
        loaded,
        days,
        totals,
        replace_all=False,
        condition_scope=scope,
        out=out,
        labels=labels,
    )
    if out.write is not None and out.write.removed_assets:
        _recount(run, plan, inputs, out, conn)
    return out


def _recount(run: _Run, plan: Plan, inputs: _Inputs, out: _Outcome, conn: Connection) -> None:
    """A token vanished (its market's tokens changed): rebuild the sums from every row instead."""
    write, book = out.write, out.book
    assert write is not None
    assert write.stats is not None
    assert book is not None
    every = store.stored_positions(conn, plan.wallet)
    out.state_rows_read += len(every)
    rewritten = {p.asset for p, _, _ in out.new_positions} | set(write.removed_assets)
    totals = Totals()
    totals.start_day(run.today.isoformat())
    conditions: set[str] = set()
    for asset, stored in every.items():
        if asset not in rewritten:
            totals.apply(
                stored.figures,
                stored.token.get("flags") or (),
                TokenDay.from_list(stored.day),
                1,
            )
            conditions.add(stored.figures.condition_id)
    for figures, flags, token_day in out.new_positions:
        totals.apply(figures, flags, token_day, 1)
        conditions.add(figures.condition_id)
    totals.markets = len(conditions)
    perf = performance_of(
        totals,
        book,
        history_complete=inputs.registered.history_complete,
        max_drawdown=write.stats["max_drawdown_usdc"],
    )
    write.state["totals"] = json.dumps(totals.to_dict(), separators=(",", ":"), sort_keys=True)
    write.stats = _stats_row(plan.wallet, perf, totals, run.now)
    write.daily = _live_daily_row(plan.wallet, run.today, perf, totals, run.now)


# --- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PnlRun:
    """What one :func:`update_pnl` did (the Dagster layer turns it into metadata)."""

    as_of: datetime
    wallets: int
    """Wallets considered (registered, or the ones asked for)."""
    wallets_updated: int
    """Wallets whose figures were rewritten (replayed, appended to or re-marked)."""
    wallets_replayed: int
    """Replayed whole (first run, history flags changed, conversions, ...)."""
    wallets_partially_replayed: int
    """Some conditions replayed from the database (late rows, changed markets)."""
    wallets_appended: int
    """New rows appended to the stored book, nothing replayed."""
    wallets_refreshed: int
    """Re-marked only (a new positions snapshot, no new rows)."""
    wallets_rolled: int
    """Unchanged, given today's daily row."""
    wallets_skipped: list[str]
    """Written by another run meanwhile: left for the next run."""
    replay_reasons: dict[str, int]
    conditions_replayed: int
    late_events: int
    new_rows: int
    """Tape rows stored since the cursor (for the wallets considered)."""
    rows_read: int
    """Tape rows read in all: new rows plus those read again by replays."""
    state_rows_read: int
    """Stored position and condition rows read back to resume books."""
    stale_days: list[date]
    """Past days whose ``wallet_pnl_daily`` partition new rows changed (recompute them): the days
    of the late rows and, the daily figures being cumulative, every stored day after the first."""
    users: int
    users_changed: int
    positions_compared: int
    """Updated positions the API gave its own figures for."""
    position_disagreements: int
    disagreements: list[PositionDisagreement]
    """Up to ``MAX_LISTED`` of them, complete ledgers first."""
    cursor: Horizon
    cursor_advanced: bool
    ingest_deferred: bool
    """The horizon could not be read (a long write held the tape): no new rows applied this time."""
    seconds: float
    rows_left: bool = False
    """More new rows than one run reads (``max_rows``): the next run applies the rest."""


def _plan(
    registered: RegisteredWallet,
    stored: StoredWalletState | None,
    new: list[TapeRow],
    market_conditions: set[str],
    today: date,
) -> Plan:
    wallet = registered.wallet
    snapshot_changed = stored is not None and stored.positions_snapshot_at != registered.positions_snapshot_at
    if stored is None:
        return Plan(wallet, "full", "first_run", new)
    if stored.history_complete != registered.history_complete:
        reason = "history_completed" if registered.history_complete else "history_reset"
        return Plan(wallet, "full", reason, new)
    pending = _new_events(Plan(wallet, "partial", new=new), stored)
    if pending or market_conditions:
        return Plan(
            wallet, "partial", new=new, market_conditions=market_conditions, snapshot_changed=snapshot_changed
        )
    if snapshot_changed:
        return Plan(wallet, "marks", new=[], snapshot_changed=True)
    if stored.daily_day != today:
        return Plan(wallet, "roll")
    return Plan(wallet, "none")


def _batches(plans: Sequence[Plan], sizes: Mapping[str, int]) -> Iterable[list[Plan]]:
    batch: list[Plan] = []
    events = 0
    for plan in plans:
        cost = sizes.get(plan.wallet, 0) if plan.kind == "full" else len(plan.new)
        if batch and (len(batch) >= BATCH_WALLETS or events + cost > BATCH_EVENTS):
            yield batch
            batch, events = [], 0
        batch.append(plan)
        events += cost
    if batch:
        yield batch


def update_pnl(
    engine: Engine,
    *,
    now: datetime,
    wallets: Collection[str] | None = None,
    max_rows: int = MAX_TAPE_ROWS_PER_RUN,
) -> PnlRun:
    """Bring ``position_pnl``, today's ``wallet_pnl_daily``, ``trader_stats`` and ``user_pnl`` up to
    date for every registered wallet (or ``wallets``), at the cost of what changed since the last run.

    A run over every wallet advances the global cursor (unless a wallet was left to another run);
    one over some wallets only moves theirs. Re-running with nothing new writes nothing and reads
    one registry and one state row per wallet (plus the market cache and the users' links).
    At most ``max_rows`` new rows of each tape table are read (memory stays bounded after an
    outage or a big backfill); ``rows_left`` then says the next run goes on from there.
    """
    started = time.monotonic()
    now = utc(now)
    today = now.date()
    subset = wallets is not None
    with engine.begin() as connection:
        horizon_read = store.ingest_horizon(connection)
    with reading(engine) as connection:
        cursor = store.load_cursor(connection)
        registry = store.registered_wallets(connection, wallets)
        names = [r.wallet for r in registry]
        states = store.wallet_states(connection, names, heads=True)  # the rest only where needed
        horizon = horizon_read if horizon_read is not None else (cursor or Horizon())
        market_rows = store.market_rows(connection)
        fingerprints = store.market_fingerprints(connection)
        markets = known_markets(market_rows)
        current = {c: fingerprint(m.info) for c, m in markets.items()}
        changed = {c for c, f in current.items() if fingerprints.get(c) != f} | (
            set(fingerprints) - set(current)
        )
        holder_map = store.holders(connection, changed) if changed and states else {}
        since = cursor
        if since is None and states:
            since = Horizon(
                min(s.applied.trades_seq for s in states.values()),
                min(s.applied.activity_seq for s in states.values()),
            )
        with_state = [w for w in names if w in states]
        uncapped = horizon
        if since is not None:
            horizon = Horizon(
                min(horizon.trades_seq, since.trades_seq + max_rows),
                min(horizon.activity_seq, since.activity_seq + max_rows),
            )
        if since is not None and with_state:
            tape = store.rows_since(connection, since, horizon, with_state if subset else None)
        else:
            tape = []
    registered_names = set(names)
    new_by_wallet: dict[str, list[TapeRow]] = {}
    for row in tape:
        if row.wallet in registered_names:
            new_by_wallet.setdefault(row.wallet, []).append(row)
    market_by_wallet: dict[str, set[str]] = {}
    for condition, holders in holder_map.items():
        for wallet in holders:
            market_by_wallet.setdefault(wallet, set()).add(condition)
    plans = [
        _plan(
            r,
            states.get(r.wallet),
            new_by_wallet.get(r.wallet, []),
            market_by_wallet.get(r.wallet, set()),
            today,
        )
        for r in registry
    ]
    run = _Run(now, today, horizon, markets, {c: m.info for c, m in markets.items()})
    by_name = {r.wallet: r for r in registry}
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    skipped: list[str] = []
    disagreements: list[PositionDisagreement] = []
    totals = Counter[str]()
    sizes: dict[str, int] = {}
    whole = [p.wallet for p in plans if p.kind == "full"]
    if whole:  # batch whole replays by the rows each will read, so heavy wallets do not share a batch
        with reading(engine) as connection:
            sizes = store.ledger_sizes(connection, whole)
    stale = {
        utc_day(r.event.timestamp)
        for p in plans
        if p.wallet in states
        for r in _new_events(p, states[p.wallet])
    }
    active = [p for p in plans if p.kind not in ("none", "roll")]
    for batch in _batches(active, sizes):
        outcomes = _process_batch(engine, run, batch, by_name, states)
        writes = [o.write for o in outcomes if o.write is not None]
        with engine.begin() as connection:
            written = set(store.write_wallets(connection, writes))
        for o in outcomes:
            if o.write is None:
                continue
            if o.write.wallet not in written:
                skipped.append(o.write.wallet)
                continue
            counts[o.kind + (":append" if o.kind == "partial" and not o.conditions_replayed else "")] += 1
            if o.reason:
                reasons[o.reason] += 1
            disagreements.extend(o.disagreements)
            totals["rows_read"] += o.rows_read
            totals["state_rows_read"] += o.state_rows_read
            totals["conditions_replayed"] += o.conditions_replayed
            totals["late_events"] += o.late_events
            totals["compared"] += o.compared_positions
    rolled = _roll(engine, run, [p for p in plans if p.kind == "roll"], skipped)
    with engine.begin() as connection:
        users, users_changed = _update_users(connection, now)
        advance = not subset and not skipped and horizon_read is not None
        if advance:
            store.save_cursor(connection, horizon, now)
        if not subset and not skipped:
            store.save_market_fingerprints(
                connection,
                {c: current[c] for c in changed if c in current},
                set(fingerprints) - set(current),
                now,
            )
    disagreements.sort(key=lambda d: (not d.complete, d.wallet, d.asset))
    return PnlRun(
        as_of=now,
        wallets=len(registry),
        wallets_updated=sum(v for k, v in counts.items()),
        wallets_replayed=counts["full"],
        wallets_partially_replayed=counts["partial"],
        wallets_appended=counts["partial:append"],
        wallets_refreshed=counts["marks"],
        wallets_rolled=rolled,
        wallets_skipped=sorted(skipped),
        replay_reasons=dict(reasons),
        conditions_replayed=totals["conditions_replayed"],
        late_events=totals["late_events"],
        new_rows=sum(len(_new_events(p, states[p.wallet])) if p.wallet in states else 0 for p in plans),
        rows_read=totals["rows_read"],
        state_rows_read=totals["state_rows_read"],
        stale_days=_stale_days(engine, stale, today),
        users=users,
        users_changed=users_changed,
        positions_compared=totals["compared"],
        position_disagreements=len(disagreements),
        disagreements=disagreements[:MAX_LISTED],
        cursor=horizon if advance else (cursor or Horizon()),
        cursor_advanced=advance,
        ingest_deferred=horizon_read is None,
        rows_left=horizon != uncapped,
        seconds=time.monotonic() - started,
    )


def _process_batch(
    engine: Engine,
    run: _Run,
    batch: Sequence[Plan],
    registry: Mapping[str, RegisteredWallet],
    states: Mapping[str, StoredWalletState],
) -> list[_Outcome]:
    """Read what the batch's wallets need (a few queries for all of them), compute their updates."""
    outcomes: list[_Outcome] = []
    with reading(engine) as conn:
        names = [p.wallet for p in batch]
        loaded = store.wallet_states(conn, [p.wallet for p in batch if p.wallet in states])
        states = {**states, **loaded}  # whole states (with book and totals) for this batch
        incremental = [p for p in batch if p.kind != "full"]
        scopes = {p.wallet: _scope(p, _new_events(p, states[p.wallet])) for p in incremental}
        marked = [p.wallet for p in incremental if p.snapshot_changed or p.kind == "marks"]
        # a partial update re-marks its scope only; a new snapshot or a whole replay, everything
        api = store.api_positions(conn, names, {w: c for w, c in scopes.items() if w not in marked})
        inputs = {p.wallet: _Inputs(registry[p.wallet], states.get(p.wallet), api[p.wallet]) for p in batch}
        positions = store.positions_of(conn, scopes, marked=marked, assets={w: list(api[w]) for w in marked})
        keys = store.keys_of(conn, scopes)
        _curve(conn, run, [inputs[p.wallet] for p in incremental])
        full: list[Plan] = [p for p in batch if p.kind == "full"]
        for plan in incremental:
            item = inputs[plan.wallet]
            item.positions, item.keys = positions.get(plan.wallet, {}), keys.get(plan.wallet, {})
            result = _incremental(run, plan, item, _Outcome(), conn)
            if isinstance(result, Plan):
                full.append(result)
            else:
                outcomes.append(result)
        escalated = [p.wallet for p in full if p.wallet in scopes and p.wallet not in marked]
        for wallet, snapshot in store.api_positions(conn, escalated).items():
            inputs[wallet].api = snapshot  # its scope's rows were read: a whole replay marks every token
        if full:
            ledgers = store.wallet_ledgers(conn, [p.wallet for p in full], until=run.horizon)
            _curve(conn, run, [inputs[p.wallet] for p in full], whole=True)
            for plan in full:
                item = inputs[plan.wallet]
                item.ledger = ledgers[plan.wallet]
                item.positions = {}
                outcomes.append(_full(run, plan, item, _Outcome()))
    return outcomes


def _curve(conn: Connection, run: _Run, items: Sequence[_Inputs], *, whole: bool = False) -> None:
    """Read the stored daily curve each wallet's running drawdown still lacks (all of it: ``whole``)."""
    yesterday = run.today - timedelta(days=1)
    groups: dict[date | None, list[_Inputs]] = {}
    for item in items:
        through = None if whole or item.stored is None else item.stored.drawdown_through
        if through is not None and through >= yesterday:
            item.curve = []
            continue
        groups.setdefault(through, []).append(item)
    for after, members in groups.items():
        curves = store.daily_curves(
            conn, [m.registered.wallet for m in members], after=after, before=run.today
        )
        for m in members:
            m.curve = curves[m.registered.wallet]


def _roll(engine: Engine, run: _Run, plans: Sequence[Plan], skipped: list[str]) -> int:
    """Unchanged wallets on a new day: today's row is their current ``trader_stats``, no fills yet."""
    if not plans:
        return 0
    rolled = 0
    for chunk_start in range(0, len(plans), BATCH_WALLETS * 5):
        chunk = plans[chunk_start : chunk_start + BATCH_WALLETS * 5]
        with reading(engine) as conn:
            stats = store.trader_stats(conn, [p.wallet for p in chunk])
            whole = store.wallet_states(conn, [p.wallet for p in chunk])  # their totals: marked counts
        rows = []
        claimed = []
        with engine.begin() as conn:
            for plan in chunk:
                row, stored = stats.get(plan.wallet), whole.get(plan.wallet)
                if row is None or stored is None:
                    continue
                if not store.set_daily_day(conn, plan.wallet, stored.version, run.today, run.now):
                    skipped.append(plan.wallet)
                    continue
                totals = Totals.from_dict(stored.totals)
                claimed.append(plan.wallet)
                rows.append(
                    {
                        "wallet_address": plan.wallet,
                        "day": run.today,
                        "realized_pnl": row["realized_pnl"],
                        "fees_usdc": row["fees_usdc"],
                        "income_usdc": row["income_usdc"],
                        "unrealized_pnl": row["unrealized_pnl"],
                        "unrealized_complete": row["unrealized_complete"],
                        "trade_pnl": row["trade_pnl"],
                        "position_pnl": row["position_pnl"],
                        "economic_pnl": row["economic_pnl"],
                        "volume_usdc": ZERO,
                        "fills": 0,
                        "marked_positions": totals.marked,
                        "unmarked_positions": totals.unmarked,
                        "mark_basis": LIVE,
                        "complete": row["complete"],
                        "incomplete_reason": row["incomplete_reason"],
                        "computed_at": run.now,
                    }
                )
            store.write_daily(conn, rows)
        rolled += len(claimed)
    return rolled


# --- users -----------------------------------------------------------------------------------------


def _update_users(connection: Connection, now: datetime) -> tuple[int, int]:
    """Every user's sums over its linked wallets' ``trader_stats``; returns (users, rows changed)."""
    links = links_by_user(connection)
    addresses = sorted({a for wallets in links.values() for a in wallets})
    stats = store.trader_stats(connection, addresses) if addresses else {}
    rows = [_user_row(user, wallets, stats, now) for user, wallets in sorted(links.items())]
    return len(rows), store.replace_user_pnl(connection, rows)


def _user_row(
    user: str, wallets: Sequence[str], stats: Mapping[str, Mapping[str, Any]], now: datetime
) -> dict[str, Any]:
    tracked = [stats[w] for w in wallets if w in stats]
    with localcontext(LEDGER_CONTEXT):
        realized = sum((s["realized_pnl"] for s in tracked), ZERO)
        fees = sum((s["fees_usdc"] for s in tracked), ZERO)
        income = sum((s["income_usdc"] for s in tracked), ZERO)
        volume = sum((s["volume_usdc"] for s in tracked), ZERO)
        holding = [s for s in tracked if s["open_positions"] > 0]
        known = [s["unrealized_pnl"] for s in holding if s["unrealized_pnl"] is not None]
        unrealized = sum(known, ZERO) if known or not holding else None
        trade = None if unrealized is None else realized + unrealized
        position = None if trade is None else trade - fees
        reasons: set[str] = set()
        for s in tracked:
            if not s["complete"]:
                reasons.update((s["incomplete_reason"] or "incomplete").split(","))
        if len(tracked) < len(wallets):
            reasons.add("wallet_not_tracked")
        return {
            "user_id": user,
            "wallets": len(wallets),
            "tracked_wallets": len(tracked),
            "realized_pnl": realized,
            "unrealized_pnl": unrealized,
            "unrealized_complete": all(s["unrealized_complete"] for s in tracked),
            "trade_pnl": trade,
            "position_pnl": position,
            "economic_pnl": None if position is None else position + income,
            "fees_usdc": fees,
            "income_usdc": income,
            "volume_usdc": volume,
            "fills": sum(int(s["fills"]) for s in tracked),
            "complete": not reasons,
            "incomplete_reason": join_reasons(reasons),
            "as_of": now,
            "updated_at": now,
        }


def _stale_days(engine: Engine, late: set[date], today: date) -> list[date]:
    """The late rows' past days, and every stored day after the first of them (cumulative figures)."""
    past = {d for d in late if d < today}
    if not past:
        return []
    with reading(engine) as connection:
        return sorted(past | set(store.daily_days_between(connection, min(past), today)))
