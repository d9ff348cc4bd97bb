"""Data API routes: v1 (bare arrays, camelCase, limit/offset) and v2 (envelopes, snake_case, cursors).

Field names, defaults, caps and error bodies follow /work/shared/reference/polymarket_api.md;
where the real API is stricter in practice than its spec (the v1 offset cap), the practice wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.responses import Response
from starlette.routing import Route

from polymarket_pipeline.simulator.catalog import Profile
from polymarket_pipeline.simulator.context import SimContext, endpoint
from polymarket_pipeline.simulator.cursors import CursorError, decode_cursor, encode_cursor
from polymarket_pipeline.simulator.model import DAY, Activity, Fill, PositionView
from polymarket_pipeline.simulator.web import ApiError, Query, json_bytes, json_response, r6

T = TypeVar("T")

V1_ACTIVITY_TYPES = (
    "TRADE",
    "SPLIT",
    "MERGE",
    "REDEEM",
    "REWARD",
    "CONVERSION",
    "MAKER_REBATE",
    "TAKER_REBATE",
    "REFERRAL_REWARD",
)
V2_ACTIVITY_TYPES = (
    "TRADE",
    "SPLIT",
    "MERGE",
    "REDEEM",
    "CONVERSION",
    "MIGRATION",
    "REWARD",
    "YIELD",
    "MAKER_REBATE",
    "TAKER_REBATE",
    "REFERRAL_REWARD",
    "DEPOSIT",
    "WITHDRAWAL",
    "TIP",
)
V2_POSITION_STATUSES = ("OPEN", "REDEEMABLE", "REDEEMABLE_LOST", "MERGEABLE", "CLOSED")
V1_POSITION_SORTS = (
    "CURRENT",
    "INITIAL",
    "TOKENS",
    "CASHPNL",
    "PERCENTPNL",
    "TITLE",
    "RESOLVING",
    "PRICE",
    "AVGPRICE",
)
V1_CLOSED_SORTS = ("REALIZEDPNL", "TITLE", "PRICE", "AVGPRICE", "TIMESTAMP")
V2_POSITION_SORTS = (
    "CURRENT_VALUE",
    "PRICE",
    "TOKENS",
    "UNREALIZED_PNL",
    "REALIZED_PNL",
    "TOTAL_PNL",
    "TIMESTAMP",
)
DIRECTIONS = ("ASC", "DESC")
THREE_YEARS = 3 * 365 * DAY
V2_CONDITION = ("condition", "condition_id", "conditionId")
V2_EVENT = ("event_id", "eventId")
UNLABELED_OUTCOME = 999
"""v2 docs: "outcome could not be labeled"; seen on the unscoped v1 feed too."""


# ---------------------------------------------------------------------- row shapes
def trade_v1(f: Fill, prof: Profile, feed: bool = False) -> dict[str, Any]:
    m = f.market
    i = f.outcome_index
    # On the unscoped global feed, short-lived crypto Up/Down markets come back unlabeled.
    unlabeled = feed and m.outcomes == ("Up", "Down")
    return {
        "proxyWallet": f.wallet,
        "side": f.side,
        "asset": m.token_ids[i],
        "conditionId": m.condition_id,
        "size": f.size,
        "price": f.price,
        "timestamp": f.timestamp,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "eventSlug": "" if unlabeled else m.event_slug,
        "outcome": m.outcomes[i],
        "outcomeIndex": UNLABELED_OUTCOME if unlabeled else i,
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profileImage": prof.profile_image,
        "profileImageOptimized": prof.profile_image_optimized,
        "transactionHash": f.transaction_hash,
    }


def trade_v2(f: Fill, prof: Profile) -> dict[str, Any]:
    m = f.market
    i = f.outcome_index
    return {
        "proxy_wallet": f.wallet,
        "side": f.side,
        "token_id": m.token_ids[i],
        "condition_id": m.condition_id,
        "size": f.size,
        "price": f.price,
        "timestamp": f.timestamp,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "event_slug": m.event_slug,
        "outcome": m.outcomes[i],
        "outcome_index": i,
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profile_image": prof.profile_image,
        "profile_image_optimized": prof.profile_image_optimized,
        "transaction_hash": f.transaction_hash,
    }


def activity_v1(a: Activity, prof: Profile) -> dict[str, Any]:
    m = a.market
    i = a.outcome_index
    return {
        "proxyWallet": a.wallet,
        "timestamp": a.timestamp,
        "conditionId": m.condition_id,
        "type": a.type,
        "size": a.size,
        "usdcSize": a.usdc_size,
        "transactionHash": a.transaction_hash,
        "price": a.price,
        "asset": m.token_ids[i],
        "side": a.side,
        "outcomeIndex": i,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "eventSlug": m.event_slug,
        "outcome": m.outcomes[i],
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profileImage": prof.profile_image,
        "profileImageOptimized": prof.profile_image_optimized,
    }


def activity_v2(a: Activity, prof: Profile) -> dict[str, Any]:
    m = a.market
    i = a.outcome_index
    return {
        "proxy_wallet": a.wallet,
        "timestamp": a.timestamp,
        "condition_id": m.condition_id,
        "type": a.type,
        "size": a.size,
        "usdc_size": a.usdc_size,
        "transaction_hash": a.transaction_hash,
        "price": a.price,
        "token_id": m.token_ids[i],
        "side": a.side,
        "outcome_index": i,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "event_slug": m.event_slug,
        "outcome": m.outcomes[i],
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profile_image": prof.profile_image,
        "profile_image_optimized": prof.profile_image_optimized,
    }


def position_v1(v: PositionView) -> dict[str, Any]:
    m = v.market
    i, o = v.outcome_index, v.opposite_index
    return {
        "proxyWallet": v.wallet,
        "asset": m.token_ids[i],
        "conditionId": m.condition_id,
        "size": v.size,
        "avgPrice": r6(v.avg_price),
        "initialValue": r6(v.initial_value),
        "currentValue": r6(v.current_value),
        "cashPnl": r6(v.cash_pnl),
        "percentPnl": r6(v.percent_pnl),
        "totalBought": v.total_bought,
        "realizedPnl": r6(v.realized_pnl),
        "percentRealizedPnl": r6(v.percent_realized_pnl),
        "curPrice": v.cur_price,
        "redeemable": v.redeemable,
        "mergeable": v.mergeable,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "eventId": str(m.event_id),
        "eventSlug": m.event_slug,
        "outcome": m.outcomes[i],
        "outcomeIndex": i,
        "oppositeOutcome": m.outcomes[o],
        "oppositeAsset": m.token_ids[o],
        "endDate": m.end_date_text,
        "negativeRisk": m.neg_risk,
    }


def closed_position_v1(v: PositionView) -> dict[str, Any]:
    m = v.market
    i, o = v.outcome_index, v.opposite_index
    return {
        "proxyWallet": v.wallet,
        "asset": m.token_ids[i],
        "conditionId": m.condition_id,
        "avgPrice": r6(v.avg_price),
        "totalBought": v.total_bought,
        "realizedPnl": r6(v.realized_pnl),
        "curPrice": v.cur_price,
        "timestamp": v.closed_at,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "eventSlug": m.event_slug,
        "outcome": m.outcomes[i],
        "outcomeIndex": i,
        "oppositeOutcome": m.outcomes[o],
        "oppositeAsset": m.token_ids[o],
        "endDate": m.end_day_iso,
    }


def position_v2(v: PositionView, prof: Profile) -> dict[str, Any]:
    m = v.market
    i, o = v.outcome_index, v.opposite_index
    entry_cost = r6(v.initial_value)
    current_value = r6(v.current_value)
    realized = r6(v.realized_pnl)
    unrealized = r6(current_value - entry_cost)
    return {
        "proxy_wallet": v.wallet,
        "token_id": m.token_ids[i],
        "condition_id": m.condition_id,
        "current_size": v.size,
        "avg_price": r6(v.avg_price),
        "entry_cost_usdc": entry_cost,
        "entry_fees_usdc": 0.0,
        "total_cost_usdc": entry_cost,
        "current_price": v.cur_price,
        "current_value": current_value,
        "total_size": v.total_bought,
        "realized_pnl": realized,
        "unrealized_pnl": unrealized,
        "total_pnl": r6(realized + unrealized),
        "percent_pnl": r6(v.percent_pnl),
        "percent_realized_pnl": r6(v.percent_realized_pnl),
        "status": v.status,
        "redeemable": v.redeemable,
        "mergeable": v.mergeable,
        "negative_risk": m.neg_risk,
        "archived": m.archived,
        "title": m.question,
        "slug": m.slug,
        "icon": m.icon,
        "event_id": str(m.event_id),
        "event_slug": m.event_slug,
        "outcome": m.outcomes[i],
        "outcome_index": i,
        "opposite_outcome": m.outcomes[o],
        "opposite_token_id": m.token_ids[o],
        "end_date": m.end_date_text,
        "last_event_at": v.last_event_at,
        "first_entry_at": v.first_entry_at,
        "name": prof.name,
        "profile_image": prof.profile_image,
        "verified": prof.verified,
    }


# ---------------------------------------------------------------------- shared parsing
def _all_of(checks: list[Callable[[T], bool]]) -> Callable[[T], bool] | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda row: all(check(row) for check in checks)


def _row_filters(
    conditions: Sequence[str], events: Sequence[int], side: str | None
) -> list[Callable[[Any], bool]]:
    """Filters that apply to fills and activity alike (both carry market and side)."""
    checks: list[Callable[[Any], bool]] = []
    if conditions:
        cond_set = frozenset(conditions)
        checks.append(lambda r: r.market.condition_id in cond_set)
    if events:
        event_set = frozenset(events)
        checks.append(lambda r: r.market.event_id in event_set)
    if side is not None:
        checks.append(lambda r: r.side == side)
    return checks


def _amount_filter(kind: str | None, amount: float | None) -> list[Callable[[Fill], bool]]:
    if kind is None or amount is None or amount <= 0:
        return []
    if kind == "CASH":
        return [lambda f: f.size * f.price >= amount]
    return [lambda f: f.size >= amount]


def _v1_market_or_event(q: Query) -> tuple[list[str], list[int]]:
    markets = q.condition_ids("market")
    events = q.ints("eventId")
    if markets and events:
        raise ApiError(400, "market and eventId are mutually exclusive", "market")
    return markets, events


def _reject_offset(q: Query) -> None:
    if q.present("offset"):
        raise ApiError(400, "offset is not supported on v2 routes; page with cursor", "offset")


def _v2_window(q: Query, now: int) -> tuple[int, int]:
    """omitted/0 start = three years back, start=1 = full history; omitted/0 end = now + 1 day."""
    start = q.get_int("start", default=0)
    end = q.get_int("end", default=0)
    return (start or now - THREE_YEARS, end or now + DAY)


def _previous_month_start(now: int) -> int:
    today = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return int(dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp())


def _decode(ctx: SimContext, token: str, kind: str) -> dict[str, Any]:
    try:
        return decode_cursor(ctx.model.cursor_secret, token, kind)
    except CursorError as exc:
        raise ApiError(400, f"invalid cursor: {exc}", "cursor") from None


ROW_CACHE_LIMIT = 500_000


def _encode_rows(
    ctx: SimContext,
    shape: str,
    rows: Sequence[Fill] | Sequence[Activity],
    build: Callable[[Any], dict[str, Any]],
) -> bytes:
    """A JSON array of immutable rows, each encoded once and then reused (the hot path of paging)."""
    cache = ctx.row_cache
    if len(cache) > ROW_CACHE_LIMIT:
        cache.clear()
    parts: list[bytes] = []
    for row in rows:
        key = (shape, row.seq)
        encoded = cache.get(key)
        if encoded is None:
            encoded = cache[key] = json_bytes(build(row))
        parts.append(encoded)
    return b"[" + b",".join(parts) + b"]"


def _raw_json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _envelope(rows: bytes, limit: int, offset: int, has_more: bool, next_cursor: str | None) -> Response:
    """The v2 ``{data, pagination}`` envelope around an already encoded ``data`` array."""
    pagination = {"limit": limit, "offset": offset, "has_more": has_more, "next_cursor": next_cursor}
    return _raw_json(b'{"data":' + rows + b',"pagination":' + json_bytes(pagination) + b"}")


def _sorted(
    rows: list[T], key: Callable[[T], Any], descending: bool, tiebreak: Callable[[T], Any]
) -> list[T]:
    rows = sorted(rows, key=tiebreak)
    rows.sort(key=key, reverse=descending)
    return rows


def _position_tiebreak(v: PositionView) -> tuple[str, int, str]:
    return (v.market.condition_id, v.outcome_index, v.wallet)


# ---------------------------------------------------------------------- v1 handlers
def v1_trades(ctx: SimContext, q: Query) -> Response:
    cfg = ctx.config
    wallet = q.wallet(required=False)
    markets, events = _v1_market_or_event(q)
    limit = q.get_int("limit", default=100, maximum=10_000)
    offset = q.get_int("offset", default=0, maximum=10_000)
    if offset > cfg.v1_offset_cap:
        raise ApiError(400, f"offset must be <= {cfg.v1_offset_cap}", "offset")
    taker_only = q.get_bool("takerOnly", default=True)
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    kind = q.get_choice("filterType", choices=("CASH", "TOKENS"), default=None)
    amount = q.get_float("filterAmount", default=None)
    if (kind is None) != (amount is None):
        raise ApiError(400, "filterType and filterAmount must be sent together", "filterType")
    predicate = _all_of(_row_filters(markets, events, side) + _amount_filter(kind, amount))
    rows = ctx.model.trades(
        wallet=wallet,
        taker_only=taker_only,
        limit=min(limit, cfg.v1_max_page),
        skip=offset,
        predicate=predicate,
    )
    profiles = ctx.model.profiles
    if wallet is None:
        body = _encode_rows(ctx, "t1f", rows, lambda f: trade_v1(f, profiles[f.wallet], feed=True))
    else:
        body = _encode_rows(ctx, "t1", rows, lambda f: trade_v1(f, profiles[f.wallet]))
    return _raw_json(body)


def v1_positions(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    markets, events = _v1_market_or_event(q)
    threshold = q.get_float("sizeThreshold", default=1.0) or 0.0
    only_redeemable = q.get_bool("redeemable", default=False)
    only_mergeable = q.get_bool("mergeable", default=False)
    limit = q.get_int("limit", default=100, maximum=500)
    offset = q.get_int("offset", default=0, maximum=10_000)
    sort_by = q.get_choice("sortBy", choices=V1_POSITION_SORTS, default="TOKENS")
    descending = q.get_choice("sortDirection", choices=DIRECTIONS, default="DESC") == "DESC"
    title = _title(q, 100)
    rows = [
        v
        for v in ctx.model.position_views(wallet, held_only=True)
        if not v.hidden
        and v.size >= threshold
        and (not only_redeemable or v.redeemable)
        and (not only_mergeable or v.mergeable)
    ]
    rows = _filter_market(rows, markets, events, title)
    keys: dict[str, Callable[[PositionView], Any]] = {
        "CURRENT": lambda v: v.current_value,
        "INITIAL": lambda v: v.initial_value,
        "TOKENS": lambda v: v.size,
        "CASHPNL": lambda v: v.cash_pnl,
        "PERCENTPNL": lambda v: v.percent_pnl,
        "TITLE": lambda v: v.market.question,
        "RESOLVING": lambda v: v.market.end_date,
        "PRICE": lambda v: v.cur_price,
        "AVGPRICE": lambda v: v.avg_price,
    }
    rows = _sorted(rows, keys[sort_by or "TOKENS"], descending, _position_tiebreak)
    return json_response([position_v1(v) for v in rows[offset : offset + limit]])


def v1_closed_positions(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    markets, events = _v1_market_or_event(q)
    limit = q.get_int("limit", default=10, maximum=50)
    offset = q.get_int("offset", default=0, maximum=100_000)
    sort_by = q.get_choice("sortBy", choices=V1_CLOSED_SORTS, default="REALIZEDPNL")
    descending = q.get_choice("sortDirection", choices=DIRECTIONS, default="DESC") == "DESC"
    title = _title(q, 100)
    rows = [v for v in ctx.model.position_views(wallet) if v.status == "CLOSED"]
    rows = _filter_market(rows, markets, events, title)
    keys: dict[str, Callable[[PositionView], Any]] = {
        "REALIZEDPNL": lambda v: v.realized_pnl,
        "TITLE": lambda v: v.market.question,
        "PRICE": lambda v: v.cur_price,
        "AVGPRICE": lambda v: v.avg_price,
        "TIMESTAMP": lambda v: v.closed_at,
    }
    rows = _sorted(rows, keys[sort_by or "REALIZEDPNL"], descending, _position_tiebreak)
    return json_response([closed_position_v1(v) for v in rows[offset : offset + limit]])


def v1_activity(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    assert wallet is not None
    markets, events = _v1_market_or_event(q)
    limit = q.get_int("limit", default=100, maximum=500)
    offset = q.get_int("offset", default=0, maximum=10_000)
    types = _types(q, V1_ACTIVITY_TYPES)
    start = q.get_int("start", default=0)
    end = q.get_int("end", default=0)
    sort_by = q.get_choice("sortBy", choices=("TIMESTAMP", "TOKENS", "CASH"), default="TIMESTAMP")
    ascending = q.get_choice("sortDirection", choices=DIRECTIONS, default="DESC") == "ASC"
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    checks = _row_filters(markets, events, side)
    if types:
        type_set = frozenset(types)
        checks.append(lambda a: a.type in type_set)
    predicate = _all_of(checks)
    lo, hi = start or None, end or None
    if sort_by == "TIMESTAMP":
        rows = ctx.model.activity(
            wallet, limit=limit, skip=offset, ascending=ascending, start=lo, end=hi, predicate=predicate
        )
    else:
        everything = ctx.model.activity(wallet, limit=10**9, start=lo, end=hi, predicate=predicate)
        key: Callable[[Activity], float] = (
            (lambda a: a.size) if sort_by == "TOKENS" else (lambda a: a.usdc_size)
        )
        rows = sorted(everything, key=key, reverse=not ascending)[offset : offset + limit]
    profiles = ctx.model.profiles
    return _raw_json(_encode_rows(ctx, "a1", rows, lambda a: activity_v1(a, profiles[a.wallet])))


def v1_value(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    markets = q.condition_ids("market")
    return json_response([{"user": wallet, "value": _value(ctx, wallet, markets)}])


# ---------------------------------------------------------------------- v2 handlers
def v2_trades(ctx: SimContext, q: Query) -> Response:
    _reject_offset(q)
    wallet = q.wallet(required=False)
    conditions = q.condition_ids(*V2_CONDITION, maximum=20)
    events = q.ints(*V2_EVENT, maximum=20)
    taker_only = q.get_bool("taker_only", "takerOnly", default=True)
    kind = q.get_choice("filter_type", "filterType", choices=("CASH", "TOKENS"), default="TOKENS")
    amount = q.get_float("filter_amount", "filterAmount", default=0.01)
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    now = int(time.time())
    start, end = _v2_window(q, now)
    if wallet is None:  # start/end are honoured only with user
        start = now - THREE_YEARS if (conditions or events) else _previous_month_start(now)
        end = now + DAY
    token = q.get("cursor")
    before: tuple[int, int] | None = None
    if token:
        payload = _decode(ctx, token, "trades")
        size, offset, before = int(payload["n"]), int(payload["o"]), (int(payload["t"]), int(payload["s"]))
    else:
        size, offset = q.get_int("limit", default=100, minimum=1, maximum=1000), 0
    predicate = _all_of(_row_filters(conditions, events, side) + _amount_filter(kind, amount))
    rows = ctx.model.trades(
        wallet=wallet,
        taker_only=taker_only,
        limit=size + 1,
        before=before,
        start=start,
        end=end,
        predicate=predicate,
    )
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor(
            ctx.model.cursor_secret,
            {"k": "trades", "t": last.timestamp, "s": last.seq, "n": size, "o": offset + len(rows)},
        )
    profiles = ctx.model.profiles
    body = _encode_rows(ctx, "t2", rows, lambda f: trade_v2(f, profiles[f.wallet]))
    return _envelope(body, size, offset, has_more, next_cursor)


def v2_activity(ctx: SimContext, q: Query) -> Response:
    _reject_offset(q)
    wallet = q.wallet(required=True)
    assert wallet is not None
    conditions = q.condition_ids(*V2_CONDITION, maximum=20)
    events = q.ints(*V2_EVENT, maximum=20)
    if conditions and events:
        raise ApiError(400, "event_id cannot be combined with condition", "event_id")
    types = _types(q, V2_ACTIVITY_TYPES)
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    q.get_choice("sort_by", "sortBy", choices=("TIMESTAMP",), default="TIMESTAMP")
    exclude_cash = q.get_bool("exclude_deposits_withdrawals", "excludeDepositsWithdrawals", default=True)
    start, end = _v2_window(q, int(time.time()))
    token = q.get("cursor")
    anchor: tuple[int, int] | None = None
    if token:  # the cursor binds the sort direction
        payload = _decode(ctx, token, "activity")
        size, offset, direction = int(payload["n"]), int(payload["o"]), str(payload["d"])
        anchor = (int(payload["t"]), int(payload["s"]))
    else:
        size, offset = q.get_int("limit", default=100, minimum=1, maximum=1000), 0
        direction = (
            q.get_choice("sort_direction", "sortDirection", choices=DIRECTIONS, default="DESC") or "DESC"
        )
    checks = _row_filters(conditions, events, side)
    if types:
        type_set = frozenset(types)
        checks.append(lambda a: a.type in type_set)
    else:
        hidden = {"TIP"} | ({"DEPOSIT", "WITHDRAWAL"} if exclude_cash else set())
        checks.append(lambda a: a.type not in hidden)
    rows = ctx.model.activity(
        wallet,
        limit=size + 1,
        ascending=direction == "ASC",
        anchor=anchor,
        start=start,
        end=end,
        predicate=_all_of(checks),
    )
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor(
            ctx.model.cursor_secret,
            {
                "k": "activity",
                "t": last.timestamp,
                "s": last.seq,
                "n": size,
                "o": offset + len(rows),
                "d": direction,
            },
        )
    profiles = ctx.model.profiles
    body = _encode_rows(ctx, "a2", rows, lambda a: activity_v2(a, profiles[a.wallet]))
    return _envelope(body, size, offset, has_more, next_cursor)


def v2_positions(ctx: SimContext, q: Query) -> Response:
    _reject_offset(q)
    wallet = q.wallet(required=False)
    conditions = q.condition_ids(*V2_CONDITION, maximum=20)
    if wallet is None and not conditions:
        if q.present("cursor"):
            raise ApiError(400, "cursor must be sent with the user/condition it was issued for", "cursor")
        raise ApiError(400, "user or condition is required", "user")
    if wallet is None and len(conditions) != 1:
        raise ApiError(400, "condition without user accepts exactly one id", "condition")
    status = q.get_choice("status", choices=V2_POSITION_STATUSES, default="OPEN") or "OPEN"
    events = q.ints(*V2_EVENT, maximum=20)
    title = _title(q, 200)
    kind = q.get_choice("filter_type", "filterType", choices=("TOKENS", "CASH"), default="TOKENS")
    amount = q.get_float("filter_amount", "filterAmount", default=None)
    include_archived = q.get_bool("include_archived", "includeArchived", default=False)
    sort_by = q.get_choice("sort_by", "sortBy", choices=V2_POSITION_SORTS, default="TOKENS") or "TOKENS"
    descending = q.get_choice("sort_direction", "sortDirection", choices=DIRECTIONS, default="DESC") == "DESC"
    start = q.get_int("start", default=0)
    end = q.get_int("end", default=0)
    anchor = hashlib.sha256(f"{wallet}|{','.join(sorted(conditions))}|{status}".encode()).hexdigest()[:16]
    token = q.get("cursor")
    if token:
        payload = _decode(ctx, token, "positions")
        if payload.get("a") != anchor:
            raise ApiError(400, "cursor was issued for another user/condition/status", "cursor")
        size, offset = int(payload["n"]), int(payload["o"])
    else:
        size, offset = q.get_int("limit", default=100, minimum=1, maximum=1000), 0

    held_only = status != "CLOSED"
    if wallet is not None:
        rows = ctx.model.position_views(wallet, held_only=held_only)
        if conditions:
            cond_set = set(conditions)
            rows = [v for v in rows if v.market.condition_id in cond_set]
    else:
        rows = ctx.model.position_views(None, conditions[0], held_only=held_only)
    rows = [v for v in rows if v.total_bought > 0 and (include_archived or not v.market.archived)]
    if status == "OPEN":
        rows = [v for v in rows if v.size > 0]
    elif status == "MERGEABLE":
        rows = [v for v in rows if v.mergeable]
    else:
        rows = [v for v in rows if v.status == status]
    if status != "CLOSED":
        floor = 0.1  # the documented dust floor
        if kind == "CASH":
            rows = [v for v in rows if v.size >= floor and v.current_value >= (amount or 0.0)]
        else:
            rows = [v for v in rows if v.size >= max(floor, amount or 0.0)]
    rows = _filter_market(rows, [], events, title)
    if start or end:
        rows = [
            v for v in rows if (not start or v.last_event_at >= start) and (not end or v.last_event_at <= end)
        ]
    keys: dict[str, Callable[[PositionView], Any]] = {
        "CURRENT_VALUE": lambda v: v.current_value,
        "PRICE": lambda v: v.cur_price,
        "TOKENS": lambda v: v.size,
        "UNREALIZED_PNL": lambda v: v.cash_pnl,
        "REALIZED_PNL": lambda v: v.realized_pnl,
        "TOTAL_PNL": lambda v: v.cash_pnl + v.realized_pnl,
        "TIMESTAMP": lambda v: v.last_event_at,
    }
    rows = _sorted(rows, keys[sort_by], descending, _position_tiebreak)
    page = rows[offset : offset + size]
    has_more = offset + size < len(rows)
    next_cursor = (
        encode_cursor(ctx.model.cursor_secret, {"k": "positions", "o": offset + size, "n": size, "a": anchor})
        if has_more
        else None
    )
    profiles = ctx.model.profiles
    body = json_bytes([position_v2(v, profiles[v.wallet]) for v in page])
    return _envelope(body, size, offset, has_more, next_cursor)


def v2_value(ctx: SimContext, q: Query) -> Response:
    _reject_offset(q)
    wallet = q.wallet(required=True)
    assert wallet is not None
    conditions = q.condition_ids(*V2_CONDITION, maximum=20)
    # The real v2 /value body is not documented in our reference (only "data" + "pagination"
    # envelopes in general); this object shape is our assumption. Clients should read data.value.
    return json_response({"data": {"user": wallet, "value": _value(ctx, wallet, conditions)}})


# ---------------------------------------------------------------------- helpers
def _value(ctx: SimContext, wallet: str | None, conditions: Sequence[str]) -> float:
    cond_set = set(conditions)
    views = ctx.model.position_views(wallet, held_only=True)
    return r6(
        sum(
            v.current_value
            for v in views
            if not v.hidden and (not cond_set or v.market.condition_id in cond_set)
        )
    )


def _title(q: Query, max_len: int) -> str | None:
    title = q.get("title")
    if title is not None and len(title) > max_len:
        raise ApiError(400, f"title must be at most {max_len} characters", "title")
    return title.lower() if title else None


def _types(q: Query, allowed: tuple[str, ...]) -> list[str]:
    types = [t.upper() for t in q.get_list("type")]
    for t in types:
        if t not in allowed:
            raise ApiError(400, f"type must be among {', '.join(allowed)}", "type")
    return types


def _filter_market(
    rows: list[PositionView], markets: Sequence[str], events: Sequence[int], title: str | None
) -> list[PositionView]:
    if markets:
        market_set = set(markets)
        rows = [v for v in rows if v.market.condition_id in market_set]
    if events:
        event_set = set(events)
        rows = [v for v in rows if v.market.event_id in event_set]
    if title:
        rows = [v for v in rows if title in v.market.question.lower()]
    return rows


def data_routes(ctx: SimContext) -> list[Route]:
    table: list[tuple[str, Callable[[SimContext, Query], Response]]] = [
        ("/trades", v1_trades),
        ("/positions", v1_positions),
        ("/closed-positions", v1_closed_positions),
        ("/activity", v1_activity),
        ("/value", v1_value),
        ("/v2/trades", v2_trades),
        ("/v2/positions", v2_positions),
        ("/v2/activity", v2_activity),
        ("/v2/value", v2_value),
        ("/v2/{rest:path}", v2_not_modelled),
    ]
    return [Route(path, endpoint(ctx, "data", path, handler), methods=["GET"]) for path, handler in table]


def v2_not_modelled(ctx: SimContext, q: Query) -> Response:
    """Other v2 routes (holders, user-pnl, ...) exist upstream but are not simulated: a v2 404."""
    raise ApiError(404, f"/v2/{q.path.get('rest', '')} is not available in the simulator")
