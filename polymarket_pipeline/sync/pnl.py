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

import hashlib
import json
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, Literal

from sqlalchemy.engine import Connection, Engine

from polymarket_pipeline.db import pnl as store
from polymarket_pipeline.db.engine import reading
from polymarket_pipeline.db.pnl import (
    ApiPosition,
    Horizon,
    MarketRow,
    RegisteredWallet,
    StoredPosition,
    StoredWalletState,
    TapeRow,
    WalletWrite,
)
from polymarket_pipeline.db.wallets import links_by_user
from polymarket_pipeline.domain.performance import (
    AgreementCounts,
    LikelyCause,
    OfficialPoint,
    WalletPerformance,
    _ratio,
    agreement_counts,
    compare_position,
    compare_wallet,
    daily_rollup,
    decided_pnl,
)
from polymarket_pipeline.domain.pnl import (
    HISTORY_INCOMPLETE,
    LEDGER_CONTEXT,
    SHARE_MOVING_KINDS,
    ZERO,
    Book,
    EventKey,
    JournalEntry,
    LedgerEvent,
    MarketInfo,
    Markets,
    PositionFigures,
    TokenState,
    affected_conditions,
    event_key,
    is_late,
    join_reasons,
    payouts_for_winner,
    position_figures,
    quantize_usdc,
    replay,
    utc_day,
)

LIVE = "live"
DAY_END = "day_end"
LAST_TRADE = "last_trade"
BATCH_WALLETS = 200
"""Wallets per read-compute-write round (one write transaction each)."""
BATCH_EVENTS = 200_000
"""...or fewer, when their ledgers reach this many events (whole-wallet replays)."""
MAX_LISTED = 100
"""Disagreements listed in a run's report (all are counted)."""
_REPLAYED_KINDS = SHARE_MOVING_KINDS | {"FEE"}
"""What a condition replay reads again from the database (income stays in the book)."""


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- markets -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownMarket:
    info: MarketInfo
    outcomes: tuple[str, ...]
    resolved_at: datetime | None


def known_markets(rows: Iterable[MarketRow]) -> dict[str, KnownMarket]:
    """The replay's view of the market cache: tokens, payouts of resolved markets (1 for the
    winner, 0 for the others) and, for neg-risk markets, the cached markets of the same event."""
    rows = list(rows)
    members: dict[str, list[str]] = {}
    for r in rows:
        if r.neg_risk and r.event_id:
            members.setdefault(r.event_id, []).append(r.condition_id)
    out: dict[str, KnownMarket] = {}
    for r in rows:
        payouts = None
        if r.resolved and r.winner_asset and r.winner_asset in r.token_ids:
            payouts = payouts_for_winner(r.token_ids, r.winner_asset)
        group = tuple(sorted(members[r.event_id])) if r.neg_risk and r.event_id else None
        out[r.condition_id] = KnownMarket(
            MarketInfo(r.condition_id, r.token_ids, payouts, group), r.outcomes, r.resolved_at
        )
    return out


def fingerprint(info: MarketInfo) -> str:
    """What a replay depends on of one market, hashed: a change replays its holders' positions."""
    payload = [
        list(info.token_ids),
        None if info.payouts is None else [str(p) for p in info.payouts],
        None if info.neg_risk_members is None else list(info.neg_risk_members),
    ]
    return hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()


# --- running sums over a wallet's position rows ----------------------------------------------------


def _d(value: Any) -> Decimal:
    return Decimal(value) if value is not None else ZERO


@dataclass(slots=True)
class TokenDay:
    """A token's fills and USDC notional on one UTC day (today's, for the live daily row)."""

    day: str | None = None
    volume: Decimal = ZERO
    fills: int = 0

    def to_list(self) -> list[Any] | None:
        return None if self.day is None else [self.day, str(self.volume), self.fills]

    @classmethod
    def from_list(cls, value: Sequence[Any] | None) -> TokenDay:
        return cls() if not value else cls(str(value[0]), Decimal(value[1]), int(value[2]))

    def on(self, day: str) -> TokenDay:
        return self if self.day == day else TokenDay(day)


@dataclass(slots=True)
class Totals:
    """Exact sums over a wallet's position rows: ``trader_stats`` without reading them all."""

    realized: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO
    unrealized_known: Decimal = ZERO
    decided_pnl: Decimal = ZERO
    decided_cost: Decimal = ZERO
    fills: int = 0
    positions: int = 0
    open: int = 0
    marked: int = 0
    unmarked: int = 0
    wins: int = 0
    losses: int = 0
    markets: int = 0
    first_fill: int | None = None
    last_fill: int | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    """Token-level incomplete reasons, counted over the positions carrying them."""
    day: str | None = None
    day_volume: Decimal = ZERO
    day_fills: int = 0

    def apply(self, p: PositionFigures, flags: Iterable[str], token_day: TokenDay, sign: int) -> None:
        """Add (``sign`` 1) or take away (-1) one position row's contribution."""
        with localcontext(LEDGER_CONTEXT):
            self.realized += sign * p.realized_pnl
            self.fees += sign * p.fees_usdc
            self.volume += sign * p.volume_usdc
            self.fills += sign * p.fills
            self.positions += sign
            if p.shares > 0:
                self.open += sign
                if p.unrealized_pnl is None:
                    self.unmarked += sign
                else:
                    self.marked += sign
                    self.unrealized_known += sign * p.unrealized_pnl
            decided = decided_pnl(p)
            if decided is not None:
                self.decided_pnl += sign * decided
                self.decided_cost += sign * p.buy_cost
                if decided > 0:
                    self.wins += sign
                elif decided < 0:
                    self.losses += sign
            for flag in flags:
                count = self.reasons.get(flag, 0) + sign
                if count:
                    self.reasons[flag] = count
                else:
                    self.reasons.pop(flag, None)
            if sign > 0:
                if p.first_fill_at is not None:
                    self.first_fill = min(self.first_fill or p.first_fill_at, p.first_fill_at)
                if p.last_fill_at is not None:
                    self.last_fill = max(self.last_fill or p.last_fill_at, p.last_fill_at)
            if token_day.day is not None and token_day.day == self.day:
                self.day_volume += sign * token_day.volume
                self.day_fills += sign * token_day.fills

    def start_day(self, day: str) -> None:
        if self.day != day:
            self.day, self.day_volume, self.day_fills = day, ZERO, 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "realized": str(self.realized),
            "fees": str(self.fees),
            "volume": str(self.volume),
            "unrealized_known": str(self.unrealized_known),
            "decided_pnl": str(self.decided_pnl),
            "decided_cost": str(self.decided_cost),
            "fills": self.fills,
            "positions": self.positions,
            "open": self.open,
            "marked": self.marked,
            "unmarked": self.unmarked,
            "wins": self.wins,
            "losses": self.losses,
            "markets": self.markets,
            "first_fill": self.first_fill,
            "last_fill": self.last_fill,
            "reasons": dict(sorted(self.reasons.items())),
            "day": self.day,
            "day_volume": str(self.day_volume),
            "day_fills": self.day_fills,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Totals:
        return cls(
            realized=_d(data.get("realized")),
            fees=_d(data.get("fees")),
            volume=_d(data.get("volume")),
            unrealized_known=_d(data.get("unrealized_known")),
            decided_pnl=_d(data.get("decided_pnl")),
            decided_cost=_d(data.get("decided_cost")),
            fills=int(data.get("fills", 0)),
            positions=int(data.get("positions", 0)),
            open=int(data.get("open", 0)),
            marked=int(data.get("marked", 0)),
            unmarked=int(data.get("unmarked", 0)),
            wins=int(data.get("wins", 0)),
            losses=int(data.get("losses", 0)),
            markets=int(data.get("markets", 0)),
            first_fill=data.get("first_fill"),
            last_fill=data.get("last_fill"),
            reasons={k: int(v) for k, v in (data.get("reasons") or {}).items()},
            day=data.get("day"),
            day_volume=_d(data.get("day_volume")),
            day_fills=int(data.get("day_fills", 0)),
        )


def performance_of(
    totals: Totals, book: Book, *, history_complete: bool, max_drawdown: Decimal
) -> WalletPerformance:
    """``domain.performance.wallet_performance`` from the running sums (the same figures, exactly)."""
    with localcontext(LEDGER_CONTEXT):
        unrealized = totals.unrealized_known if totals.marked > 0 or totals.open == 0 else None
        trade = None if unrealized is None else totals.realized + unrealized
        position = None if trade is None else trade - totals.fees
        income = quantize_usdc(book.income_usdc)
        reasons = set(book.flags) | {r for r, n in totals.reasons.items() if n > 0}
        if not (history_complete and book.history_complete):
            reasons.add(HISTORY_INCOMPLETE)
        return WalletPerformance(
            realized_pnl=totals.realized,
            unrealized_pnl=unrealized,
            unrealized_complete=totals.unmarked == 0,
            trade_pnl=trade,
            fees_usdc=totals.fees,
            position_pnl=position,
            income_usdc=income,
            economic_pnl=None if position is None else position + income,
            volume_usdc=totals.volume,
            fills=totals.fills,
            markets=totals.markets,
            wins=totals.wins,
            losses=totals.losses,
            win_rate=_ratio(Decimal(totals.wins), Decimal(totals.wins + totals.losses)),
            roi=_ratio(totals.decided_pnl, totals.decided_cost),
            max_drawdown_usdc=max_drawdown,
            first_fill_at=totals.first_fill,
            last_fill_at=totals.last_fill,
            complete=not reasons,
            incomplete_reason=join_reasons(reasons),
            conversions=book.conversions,
            ignored_types=dict(book.ignored_types),
        )


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


@dataclass(frozen=True, slots=True)
class PositionDisagreement:
    """A position whose figures differ from the API's own (ours minus theirs)."""

    wallet: str
    asset: str
    condition_id: str
    avg_price_delta: Decimal | None
    realized_delta: Decimal | None
    complete: bool


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


def _token_state_dict(state: TokenState, token_day: TokenDay, outcome: str | None) -> dict[str, Any]:
    return {"token": state.to_dict(), "day": token_day.to_list(), "o": outcome}


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


def _api_prices(api: Mapping[str, ApiPosition]) -> dict[str, Decimal]:
    return {a: p.cur_price for a, p in api.items() if p.cur_price is not None}


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


@dataclass(slots=True)
class _Drawdown:
    through: date | None
    peak: Decimal
    worst: Decimal

    def extend(self, curve: Iterable[tuple[date, Decimal | None]], through: date) -> None:
        with localcontext(LEDGER_CONTEXT):
            for _, value in curve:
                if value is None:
                    continue
                self.peak = max(self.peak, value)
                self.worst = max(self.worst, self.peak - value)
        self.through = through

    def now(self, today_value: Decimal | None) -> Decimal:
        """The curve's drawdown with today's point (from zero before the first day)."""
        if today_value is None:
            return self.worst
        with localcontext(LEDGER_CONTEXT):
            return max(self.worst, self.peak - today_value)


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
        "first_fill_at": _at(perf.first_fill_at),
        "last_fill_at": _at(perf.last_fill_at),
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


def _at(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


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
    figures = position_figures(book, infos, _api_prices(inputs.api))
    today_key = run.today.isoformat()
    totals.start_day(today_key)
    rows = []
    with localcontext(LEDGER_CONTEXT):
        if not replace_all:
            for previous in loaded.values():
                totals.apply(
                    previous.figures,
                    previous.state["token"].get("flags") or (),
                    TokenDay.from_list(previous.state.get("day")),
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
                old.outcome if old else None,
                labels.get(p.asset),
                (old.state.get("o") if old else None),
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
                    state=_token_state_dict(state, token_day, label),
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
    drawdown = _Drawdown(
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
    return Book.from_dict(data, tokens=[p.state["token"] for p in positions.values()])


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
        if r.event.condition_id and r.event.kind in _REPLAYED_KINDS:
            conditions.add(r.event.condition_id)
    return conditions


def _incremental(run: _Run, plan: Plan, inputs: _Inputs, out: _Outcome, conn: Connection) -> _Outcome | Plan:
    """Append the new rows (replaying late conditions); a Plan back means: replay the whole wallet."""
    stored = inputs.stored
    assert stored is not None
    rows = _new_events(plan, stored)
    events = [r.event for r in rows]
    scope = _scope(plan, rows)
    loaded = dict(inputs.positions)
    if scope:
        loaded.update(store.stored_positions(conn, plan.wallet, conditions=scope))
        inputs.keys = store.condition_keys(conn, plan.wallet, scope)
        out.state_rows_read += len(inputs.keys)
    out.state_rows_read += len(loaded)
    book = _partial_book(stored, loaded, inputs.keys)
    infos = run.infos
    late_events = [e for e in events if is_late(book, e, infos)]
    out.late_events = len(late_events)
    late = {c for e in late_events for c in affected_conditions(e, infos)} | plan.market_conditions
    why = _needs_full(book, late, events)
    if why is not None:
        return replace(plan, kind="full", reason=why)
    days = {a: TokenDay.from_list(p.state.get("day")) for a, p in loaded.items()}
    history_complete = inputs.registered.history_complete
    if late:
        ledger = store.wallet_ledgers(conn, [plan.wallet], until=run.horizon, conditions=late)[plan.wallet]
        out.rows_read += ledger.rows
        replayed = [e for e in ledger.events if e.kind in _REPLAYED_KINDS]
        result = replay(
            replayed, infos, start=book.without_conditions(late), history_complete=history_complete
        )
        book = result.book
        for asset, state in book.tokens.items():
            if state.condition_id in late:
                days[asset] = TokenDay()
        _add_days(days, result.journal, run.today)
        out.conditions_replayed = len(late)
        events = [e for e in events if not (e.kind in _REPLAYED_KINDS and e.condition_id in late)]
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
    every = store.stored_positions(conn, plan.wallet, everything=True)
    out.state_rows_read += len(every)
    rewritten = {p.asset for p, _, _ in out.new_positions} | set(write.removed_assets)
    totals = Totals()
    totals.start_day(run.today.isoformat())
    conditions: set[str] = set()
    for asset, stored in every.items():
        if asset not in rewritten:
            totals.apply(
                stored.figures,
                stored.state["token"].get("flags") or (),
                TokenDay.from_list(stored.state.get("day")),
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
    """Past days whose ``wallet_pnl_daily`` partition new rows changed (recompute them)."""
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


def update_pnl(engine: Engine, *, now: datetime, wallets: Collection[str] | None = None) -> PnlRun:
    """Bring ``position_pnl``, today's ``wallet_pnl_daily``, ``trader_stats`` and ``user_pnl`` up to
    date for every registered wallet (or ``wallets``), at the cost of what changed since the last run.

    A run over every wallet advances the global cursor (unless a wallet was left to another run);
    one over some wallets only moves theirs. Re-running with nothing new writes nothing and reads
    one registry and one state row per wallet (plus the market cache and the users' links).
    """
    started = time.monotonic()
    now = _utc(now)
    today = now.date()
    subset = wallets is not None
    with engine.begin() as connection:
        horizon_read = store.ingest_horizon(connection)
    with reading(engine) as connection:
        cursor = store.load_cursor(connection)
        registry = store.registered_wallets(connection, wallets)
        names = [r.wallet for r in registry]
        states = store.wallet_states(connection, names)
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
    sizes = _ledger_sizes(plans, states)
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
    rolled = _roll(engine, run, [p for p in plans if p.kind == "roll"], states, skipped)
    with engine.begin() as connection:
        users, users_changed = _update_users(connection, now)
        advance = not subset and not skipped and horizon_read is not None
        if advance:
            store.save_cursor(connection, horizon, now)
        if not subset and not skipped:
            store.save_market_fingerprints(connection, current, set(fingerprints) - set(current), now)
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
        stale_days=sorted(d for d in stale if d < today),
        users=users,
        users_changed=users_changed,
        positions_compared=totals["compared"],
        position_disagreements=len(disagreements),
        disagreements=disagreements[:MAX_LISTED],
        cursor=horizon if advance else (cursor or Horizon()),
        cursor_advanced=advance,
        ingest_deferred=horizon_read is None,
        seconds=time.monotonic() - started,
    )


def _ledger_sizes(plans: Sequence[Plan], states: Mapping[str, StoredWalletState]) -> dict[str, int]:
    """A whole replay's cost per wallet, from its last state (unknown, 0, on a first run)."""
    out = {}
    for plan in plans:
        stored = states.get(plan.wallet)
        if plan.kind == "full" and stored is not None:
            out[plan.wallet] = int(stored.totals.get("fills", 0))
    return out


def _process_batch(
    engine: Engine,
    run: _Run,
    batch: Sequence[Plan],
    registry: Mapping[str, RegisteredWallet],
    states: Mapping[str, StoredWalletState],
) -> list[_Outcome]:
    """Read what the batch's wallets need, compute their updates (no writes)."""
    outcomes: list[_Outcome] = []
    with reading(engine) as conn:
        names = [p.wallet for p in batch]
        api = store.api_positions(conn, names)
        inputs = {p.wallet: _Inputs(registry[p.wallet], states.get(p.wallet), api[p.wallet]) for p in batch}
        incremental = [inputs[p.wallet] for p in batch if p.kind != "full"]
        _curve(conn, run, incremental)
        full: list[Plan] = [p for p in batch if p.kind == "full"]
        for plan in batch:
            if plan.kind == "full":
                continue
            item = inputs[plan.wallet]
            if plan.snapshot_changed or plan.kind == "marks":
                item.positions = store.stored_positions(conn, plan.wallet, marked=True, assets=list(item.api))
            result = _incremental(run, plan, item, _Outcome(), conn)
            if isinstance(result, Plan):
                full.append(result)
            else:
                outcomes.append(result)
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


def _roll(
    engine: Engine,
    run: _Run,
    plans: Sequence[Plan],
    states: Mapping[str, StoredWalletState],
    skipped: list[str],
) -> int:
    """Unchanged wallets on a new day: today's row is their current ``trader_stats``, no fills yet."""
    if not plans:
        return 0
    rolled = 0
    for chunk_start in range(0, len(plans), BATCH_WALLETS * 5):
        chunk = plans[chunk_start : chunk_start + BATCH_WALLETS * 5]
        with reading(engine) as conn:
            stats = store.trader_stats(conn, [p.wallet for p in chunk])
        rows = []
        claimed = []
        with engine.begin() as conn:
            for plan in chunk:
                row, stored = stats.get(plan.wallet), states[plan.wallet]
                if row is None:
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


# --- past days -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayRun:
    """What one :func:`compute_day` wrote."""

    day: date
    live: bool
    """Today's partition (the API's marks) rather than a past day's end."""
    wallets: int
    rows_read: int
    marks: dict[str, int]
    """Open positions by how they were marked: ``resolution``, ``last_trade``, ``api`` or ``none``."""
    seconds: float


def compute_day(engine: Engine, day: date, *, now: datetime) -> DayRun:
    """One ``wallet_pnl_daily`` partition for every registered wallet, cumulative to that UTC day's end.

    Each wallet is replayed from its events before the next midnight. Its open positions at that
    moment are marked at the payout of a market known to have resolved by then (``resolved_at``),
    else at the **last stored fill price of that token** at or before the day's end, across every
    stored wallet (``last_trade``: the price the market last traded at, as any stored fill saw it;
    the API's current ``cur_price`` says nothing about a past day), else not at all (NULL
    unrealized, ``unrealized_complete`` false). Today's partition is the live figures: the replay to
    now at the API's marks. The drawdowns in ``trader_stats`` are then recomputed from the curve.
    """
    started = time.monotonic()
    now = _utc(now)
    today = now.date()
    if day > today:
        raise ValueError(f"{day} is in the future (today is {today} UTC)")
    live = day == today
    end = _day_start(day + timedelta(days=1))
    end_epoch = int(end.timestamp())
    with reading(engine) as conn:
        registry = store.registered_wallets(conn)
        markets = known_markets(store.market_rows(conn))
    infos: dict[str, MarketInfo] = {c: m.info for c, m in markets.items()}
    if live:
        marking: dict[str, MarketInfo] = infos
    else:
        marking = {
            c: m.info if m.resolved_at is not None and m.resolved_at < end else replace(m.info, payouts=None)
            for c, m in markets.items()
        }
    last_fill: dict[str, tuple[EventKey, Decimal]] = {}
    pending: list[_DayWallet] = []
    rows_read = 0
    names = [r.wallet for r in registry]
    for start in range(0, len(names), BATCH_WALLETS):
        chunk = names[start : start + BATCH_WALLETS]
        with reading(engine) as conn:
            ledgers = store.wallet_ledgers(conn, chunk, until=None, before=None if live else end)
            api = store.api_positions(conn, chunk) if live else {}
        for registered in registry[start : start + BATCH_WALLETS]:
            ledger = ledgers[registered.wallet]
            rows_read += ledger.rows
            if not live:
                for e in ledger.events:
                    if e.kind == "FILL" and e.asset and e.price is not None:
                        key = event_key(e)
                        seen = last_fill.get(e.asset)
                        if seen is None or key > seen[0]:
                            last_fill[e.asset] = (key, e.price)
            pending.append(
                _day_wallet(
                    registered,
                    ledger.events,
                    infos,
                    marking,
                    day,
                    end_epoch,
                    _api_prices(api.get(registered.wallet, {})),
                )
            )
    marks: Counter[str] = Counter()
    rows = [w.row(day, {a: p for a, (_, p) in last_fill.items()}, marks, live, now) for w in pending]
    with engine.begin() as conn:
        store.write_daily(conn, rows)
    refresh_drawdowns(engine, now=now)
    return DayRun(day, live, len(rows), rows_read, dict(marks), time.monotonic() - started)


@dataclass(slots=True)
class _DayWallet:
    wallet: str
    figures: list[PositionFigures]
    unmarked: dict[str, tuple[Decimal, Decimal]]
    """Open tokens without a mark yet: (unrounded shares, unrounded avg)."""
    income: Decimal
    reasons: set[str]
    volume: Decimal
    fills: int

    def row(
        self, day: date, last_prices: Mapping[str, Decimal], marks: Counter[str], live: bool, now: datetime
    ) -> dict[str, Any]:
        values: list[Decimal | None] = []
        with localcontext(LEDGER_CONTEXT):
            for p in self.figures:
                if p.shares <= 0:
                    continue
                if p.unrealized_pnl is not None:
                    values.append(p.unrealized_pnl)
                    marks[p.mark_source or "none"] += 1
                    continue
                held = self.unmarked.get(p.asset)
                price = None if live or held is None else last_prices.get(p.asset)
                if price is None or held is None:
                    values.append(None)
                    marks["none"] += 1
                    continue
                shares, avg = held
                values.append(quantize_usdc(shares * price - shares * avg))
                marks[LAST_TRADE] += 1
            known = [v for v in values if v is not None]
            unrealized = quantize_usdc(sum(known, ZERO)) if known or not values else None
            realized = sum((p.realized_pnl for p in self.figures), ZERO)
            fees = sum((p.fees_usdc for p in self.figures), ZERO)
            income = quantize_usdc(self.income)
            trade = None if unrealized is None else realized + unrealized
            position = None if trade is None else trade - fees
        return {
            "wallet_address": self.wallet,
            "day": day,
            "realized_pnl": realized,
            "fees_usdc": fees,
            "income_usdc": income,
            "unrealized_pnl": unrealized,
            "unrealized_complete": len(known) == len(values),
            "trade_pnl": trade,
            "position_pnl": position,
            "economic_pnl": None if position is None else position + income,
            "volume_usdc": self.volume,
            "fills": self.fills,
            "marked_positions": len(known),
            "unmarked_positions": len(values) - len(known),
            "mark_basis": LIVE if live else DAY_END,
            "complete": not self.reasons,
            "incomplete_reason": join_reasons(self.reasons),
            "computed_at": now,
        }


def _day_wallet(
    registered: RegisteredWallet,
    events: Sequence[LedgerEvent],
    infos: Markets,
    marking: Markets,
    day: date,
    end_epoch: int,
    api_prices: Mapping[str, Decimal],
) -> _DayWallet:
    events = [e for e in events if e.timestamp < end_epoch]
    result = replay(events, infos, history_complete=registered.history_complete)
    book = result.book
    figures = position_figures(book, marking, api_prices)
    unmarked = {
        p.asset: (book.tokens[p.asset].amount, book.tokens[p.asset].avg_price)
        for p in figures
        if p.shares > 0 and p.unrealized_pnl is None
    }
    rollup = next((r for r in daily_rollup(result.journal, days=[day]) if r.day == day), None)
    return _DayWallet(
        wallet=registered.wallet,
        figures=figures,
        unmarked=unmarked,
        income=book.income_usdc,
        reasons=book.incomplete_reasons,
        volume=rollup.volume_usdc if rollup else ZERO,
        fills=rollup.fills if rollup else 0,
    )


def refresh_drawdowns(engine: Engine, *, now: datetime) -> int:
    """Recompute every wallet's ``max_drawdown_usdc`` from its whole stored daily curve (after a past
    day was written); returns the wallets updated."""
    now = _utc(now)
    today = now.date()
    yesterday = today - timedelta(days=1)
    with reading(engine) as conn:
        stats = store.trader_stats(conn)
        wallets = sorted(stats)
        curves = store.daily_curves(conn, wallets, after=None, before=today)
    rows = []
    for wallet in wallets:
        drawdown = _Drawdown(None, ZERO, ZERO)
        drawdown.extend(curves[wallet], yesterday)
        rows.append(
            {
                "wallet": wallet,
                "through": drawdown.through,
                "peak": drawdown.peak,
                "worst": drawdown.worst,
                "worst_now": drawdown.now(stats[wallet]["position_pnl"]),
            }
        )
    with engine.begin() as conn:
        store.update_drawdowns(conn, rows)
    return len(rows)


# --- the check against Polymarket's own figures ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletDisagreement:
    wallet: str
    point_at: datetime
    realized_pnl: Decimal
    official_realized_pnl: Decimal | None
    realized_delta: Decimal | None
    position_pnl: Decimal | None
    official_position_pnl: Decimal | None
    position_delta: Decimal | None
    complete: bool
    likely_cause: LikelyCause | None


@dataclass(frozen=True, slots=True)
class AgreementReport:
    """How our figures compare with Polymarket's (what the ``pnl_matches_polymarket`` check reports)."""

    checked_at: datetime
    wallets: AgreementCounts
    """Over wallets with an official point; only complete ledgers are compared."""
    wallet_share: Decimal | None
    """Share of compared wallets in agreement (None when none was compared)."""
    disagreements: list[WalletDisagreement]
    """Every compared wallet that disagrees, largest position delta first."""
    likely_causes: dict[str, int]
    wallets_without_figures: list[str]
    """Wallets with official points but no ``trader_stats`` row yet."""
    positions_compared: int
    """Positions of complete ledgers with API figures."""
    positions_agreeing: int
    positions_incomplete_excluded: int
    position_share: Decimal | None
    position_disagreements: list[PositionDisagreement]
    """Up to ``MAX_LISTED``, complete ledgers only, largest realized delta first."""


def _official_point(row: Mapping[str, Any]) -> OfficialPoint:
    return OfficialPoint(
        realized_pnl=row["realized_pnl"],
        unrealized_pnl=row["unrealized_pnl"],
        position_pnl=row["position_pnl"],
        fees_paid=row["fees_paid"],
        wallet_income=row["wallet_income"],
        trade_pnl=row["trade_pnl"],
    )


def _performance_of_row(row: Mapping[str, Any]) -> WalletPerformance:
    def epoch(value: datetime | None) -> int | None:
        return None if value is None else int(value.timestamp())

    return WalletPerformance(
        realized_pnl=row["realized_pnl"],
        unrealized_pnl=row["unrealized_pnl"],
        unrealized_complete=row["unrealized_complete"],
        trade_pnl=row["trade_pnl"],
        fees_usdc=row["fees_usdc"],
        position_pnl=row["position_pnl"],
        income_usdc=row["income_usdc"],
        economic_pnl=row["economic_pnl"],
        volume_usdc=row["volume_usdc"],
        fills=row["fills"],
        markets=row["markets"],
        wins=row["wins"],
        losses=row["losses"],
        win_rate=row["win_rate"],
        roi=row["roi"],
        max_drawdown_usdc=row["max_drawdown_usdc"],
        first_fill_at=epoch(row["first_fill_at"]),
        last_fill_at=epoch(row["last_fill_at"]),
        complete=row["complete"],
        incomplete_reason=row["incomplete_reason"],
        conversions=row["conversions"],
        ignored_types={},
    )


def _abs_or_zero(value: Decimal | None) -> Decimal:
    return abs(value) if value is not None else ZERO


def pnl_agreement(engine: Engine, *, now: datetime) -> AgreementReport:
    """Compare each wallet's figures with its latest official point, and each position with the API's
    own ``avg_price`` / ``realized_pnl``; the verdicts are written to ``trader_stats``."""
    now = _utc(now)
    with reading(engine) as conn:
        official = store.latest_official(conn)
        stats = store.trader_stats(conn, sorted(official)) if official else {}
        positions = list(store.position_wallets(conn, with_api_figures=True))
    verdicts = []
    disagreements: list[WalletDisagreement] = []
    missing: list[str] = []
    updates = []
    for wallet, point_row in sorted(official.items()):
        row = stats.get(wallet)
        if row is None:
            missing.append(wallet)
            continue
        point = _official_point(point_row)
        verdict = compare_wallet(_performance_of_row(row), point)
        verdicts.append(verdict)
        updates.append(
            {
                "wallet_address": wallet,
                "official_realized_pnl": point.realized_pnl,
                "official_position_pnl": point.position_pnl,
                "official_delta_usdc": verdict.position_delta,
                "official_realized_delta_usdc": verdict.realized_delta,
                "official_agrees": verdict.agrees,
                "official_likely_cause": verdict.likely_cause,
                "official_point_at": point_row["timestamp"],
                "official_checked_at": now,
            }
        )
        if verdict.agrees is False and verdict.complete:
            disagreements.append(
                WalletDisagreement(
                    wallet,
                    point_row["timestamp"],
                    row["realized_pnl"],
                    point.realized_pnl,
                    verdict.realized_delta,
                    row["position_pnl"],
                    point.position_pnl,
                    verdict.position_delta,
                    verdict.complete,
                    verdict.likely_cause,
                )
            )
    with engine.begin() as conn:
        store.write_official_verdicts(conn, updates)
    counts = agreement_counts(verdicts)
    compared = agreeing = excluded = 0
    position_disagreements: list[PositionDisagreement] = []
    for wallet, p in positions:
        comparison = compare_position(p.figures, p.api_avg_price, p.api_realized_pnl)
        if not p.figures.complete:
            excluded += 1
            continue
        compared += 1
        if comparison.avg_price_agrees is False or comparison.realized_agrees is False:
            position_disagreements.append(
                PositionDisagreement(
                    wallet,
                    p.figures.asset,
                    p.figures.condition_id,
                    comparison.avg_price_delta,
                    comparison.realized_delta,
                    True,
                )
            )
        else:
            agreeing += 1
    disagreements.sort(
        key=lambda d: -_abs_or_zero(d.position_delta if d.position_delta is not None else d.realized_delta)
    )
    position_disagreements.sort(key=lambda d: -_abs_or_zero(d.realized_delta))
    return AgreementReport(
        checked_at=now,
        wallets=counts,
        wallet_share=counts.share,
        disagreements=disagreements,
        likely_causes=dict(Counter(d.likely_cause or "unknown" for d in disagreements)),
        wallets_without_figures=missing,
        positions_compared=compared,
        positions_agreeing=agreeing,
        positions_incomplete_excluded=excluded,
        position_share=_ratio(Decimal(agreeing), Decimal(compared)),
        position_disagreements=position_disagreements[:MAX_LISTED],
    )
