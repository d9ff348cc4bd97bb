"""Data API v2: ``{data, pagination}`` envelopes, snake_case fields, signed keyset cursors.

- ``/v2/trades`` and ``/v2/activity`` walk ``(timestamp, seq)`` keysets, stable while rows arrive;
  the cursor carries only the anchor and page size (plus the direction on activity). Omitted
  ``start`` = three years back, ``start=1`` = everything; without ``user`` the feed ignores
  ``start``/``end`` (the bare feed serves the current and previous month) and its rows come
  degraded (``outcome_index`` 999, ``event_slug`` "").
- ``/v2/positions``: ``user`` and/or one ``condition``; statuses; a 0.1-share dust floor.
- ``/v2/value``: ``{"data": {"proxy_wallet", "value"}}`` (the docs' portfolio-value example).
- ``/v2/user-pnl``: ``{"data": {"proxy_wallet", "interval", "fidelity", "source_fidelity",
  "points"}}``, the official cumulative PnL series (``pnl_series``); ``interval`` in max, all, 1m,
  1w, 1d, 12h, 6h (default all), ``fidelity`` in 1d, 18h, 12h, 3h, 1h (default 1d), spelled
  exactly. Its own rate-limit window (the "User PNL API" row: 200 per 10 s).
- Position figures are Polymarket's (``accounting``): ``avg_price`` the weighted-average cost,
  ``total_size`` lifetime bought, ``realized_pnl`` pre-fee, ``entry_cost_usdc = current_size x
  avg_price`` (fees apart in ``entry_fees_usdc``), ``unrealized_pnl = current_value -
  entry_cost_usdc``; ``status=CLOSED`` lists positions with nothing left, with their realized PnL.
- ``offset`` is rejected everywhere; other ``/v2/*`` paths are a v2 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from polymarket_pipeline.simulator.catalog import Profile
from polymarket_pipeline.simulator.config import DAY
from polymarket_pipeline.simulator.context import SimContext, endpoint
from polymarket_pipeline.simulator.cursors import CursorError, decode_cursor, encode_cursor
from polymarket_pipeline.simulator.pnl_series import FIDELITIES, INTERVAL_SECONDS
from polymarket_pipeline.simulator.positions import PositionView
from polymarket_pipeline.simulator.routes_data_shared import (
    DIRECTIONS,
    activity_types,
    all_of,
    amount_filter,
    encode_rows,
    filter_positions,
    portfolio_value,
    position_tiebreak,
    raw_json,
    row_filters,
    sort_rows,
    title_filter,
    type_filter,
)
from polymarket_pipeline.simulator.tape import UNLABELED, Activity, Fill
from polymarket_pipeline.simulator.web import ApiError, Query, json_bytes, json_response, r6

ACTIVITY_TYPES = (
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
POSITION_STATUSES = ("OPEN", "REDEEMABLE", "REDEEMABLE_LOST", "MERGEABLE", "CLOSED")
POSITION_SORTS = (
    "CURRENT_VALUE",
    "PRICE",
    "TOKENS",
    "UNREALIZED_PNL",
    "REALIZED_PNL",
    "TOTAL_PNL",
    "TIMESTAMP",
)
THREE_YEARS = 3 * 365 * DAY
CONDITION = ("condition", "condition_id", "conditionId")
EVENT = ("event_id", "eventId")
DUST_FLOOR = 0.1


# ---------------------------------------------------------------------- row shapes
def trade_row(f: Fill, prof: Profile, feed: bool = False) -> dict[str, Any]:
    m = f.market
    i = f.outcome_index
    degraded = feed and f.feed_degraded
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
        "event_slug": "" if degraded else m.event_slug,
        "outcome": m.outcomes[i],
        "outcome_index": UNLABELED if degraded else i,
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profile_image": prof.profile_image,
        "profile_image_optimized": prof.profile_image_optimized,
        "transaction_hash": f.transaction_hash,
    }


def activity_row(a: Activity, prof: Profile) -> dict[str, Any]:
    m = a.market
    return {
        "proxy_wallet": a.wallet,
        "timestamp": a.timestamp,
        "condition_id": a.condition_id,
        "type": a.type,
        "size": a.size,
        "usdc_size": a.usdc_size,
        "transaction_hash": a.transaction_hash,
        "price": a.price,
        "token_id": a.asset,
        "side": a.side,
        "outcome_index": a.served_outcome_index,
        "title": m.question if m else "",
        "slug": m.slug if m else "",
        "icon": m.icon if m else "",
        "event_slug": m.event_slug if m else "",
        "outcome": a.outcome,
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profile_image": prof.profile_image,
        "profile_image_optimized": prof.profile_image_optimized,
    }


def position_row(v: PositionView, prof: Profile) -> dict[str, Any]:
    m = v.market
    i, o = v.outcome_index, v.opposite_index
    entry_cost = r6(v.initial_value)
    fees = r6(v.entry_fees)
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
        "entry_fees_usdc": fees,
        "total_cost_usdc": r6(entry_cost + fees),
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


# ---------------------------------------------------------------------- paging helpers
def envelope(rows: bytes, limit: int, offset: int, has_more: bool, next_cursor: str | None) -> Response:
    """The v2 ``{data, pagination}`` envelope around an already encoded ``data`` array."""
    pagination = {"limit": limit, "offset": offset, "has_more": has_more, "next_cursor": next_cursor}
    return raw_json(b'{"data":' + rows + b',"pagination":' + json_bytes(pagination) + b"}")


def reject_offset(q: Query) -> None:
    if q.present("offset"):
        raise ApiError(400, "offset is not supported on v2 routes; page with cursor", "offset")


def window(q: Query, now: int) -> tuple[int, int]:
    """omitted/0 start = three years back, start=1 = full history; omitted/0 end = now + 1 day."""
    start = q.get_int("start", default=0)
    end = q.get_int("end", default=0)
    return (start or now - THREE_YEARS, end or now + DAY)


def previous_month_start(now: int) -> int:
    today = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return int(dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp())


def decode(ctx: SimContext, token: str, kind: str) -> dict[str, Any]:
    try:
        return decode_cursor(ctx.model.cursor_secret, token, kind)
    except CursorError as exc:
        raise ApiError(400, f"invalid cursor: {exc}", "cursor") from None


# ---------------------------------------------------------------------- handlers
def trades(ctx: SimContext, q: Query) -> Response:
    reject_offset(q)
    wallet = q.wallet(required=False)
    conditions = q.condition_ids(*CONDITION, maximum=20)
    events = q.ints(*EVENT, maximum=20)
    taker_only = q.get_bool("taker_only", "takerOnly", default=True)
    kind = q.get_choice("filter_type", "filterType", choices=("CASH", "TOKENS"), default="TOKENS")
    amount = q.get_float("filter_amount", "filterAmount", default=0.01)
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    now = ctx.model.clock.now()
    start, end = window(q, now)
    if wallet is None:  # start/end are honoured only with user
        start = now - THREE_YEARS if (conditions or events) else previous_month_start(now)
        end = now + DAY
    token = q.get("cursor")
    before: tuple[int, int] | None = None
    if token:
        payload = decode(ctx, token, "trades")
        size, offset, before = int(payload["n"]), int(payload["o"]), (int(payload["t"]), int(payload["s"]))
    else:
        size, offset = q.get_int("limit", default=100, minimum=1, maximum=1000), 0
    predicate = all_of(row_filters(conditions, events, side) + amount_filter(kind, amount))
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
    if wallet is None:
        body = encode_rows(ctx, "t2f", rows, lambda f: trade_row(f, profiles[f.wallet], feed=True))
    else:
        body = encode_rows(ctx, "t2", rows, lambda f: trade_row(f, profiles[f.wallet]))
    return envelope(body, size, offset, has_more, next_cursor)


def activity(ctx: SimContext, q: Query) -> Response:
    reject_offset(q)
    wallet = q.wallet(required=True)
    assert wallet is not None
    conditions = q.condition_ids(*CONDITION, maximum=20)
    events = q.ints(*EVENT, maximum=20)
    if conditions and events:
        raise ApiError(400, "event_id cannot be combined with condition", "event_id")
    types = activity_types(q, ACTIVITY_TYPES)
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    q.get_choice("sort_by", "sortBy", choices=("TIMESTAMP",), default="TIMESTAMP")
    exclude_cash = q.get_bool("exclude_deposits_withdrawals", "excludeDepositsWithdrawals", default=True)
    start, end = window(q, ctx.model.clock.now())
    token = q.get("cursor")
    anchor: tuple[int, int] | None = None
    if token:  # the cursor binds the sort direction
        payload = decode(ctx, token, "activity")
        size, offset, direction = int(payload["n"]), int(payload["o"]), str(payload["d"])
        anchor = (int(payload["t"]), int(payload["s"]))
    else:
        size, offset = q.get_int("limit", default=100, minimum=1, maximum=1000), 0
        direction = (
            q.get_choice("sort_direction", "sortDirection", choices=DIRECTIONS, default="DESC") or "DESC"
        )
    checks = row_filters(conditions, events, side)
    if types:
        checks.append(type_filter(types))
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
        predicate=all_of(checks),
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
    body = encode_rows(ctx, "a2", rows, lambda a: activity_row(a, profiles[a.wallet]))
    return envelope(body, size, offset, has_more, next_cursor)


def positions(ctx: SimContext, q: Query) -> Response:
    reject_offset(q)
    wallet = q.wallet(required=False)
    conditions = q.condition_ids(*CONDITION, maximum=20)
    if wallet is None and not conditions:
        if q.present("cursor"):
            raise ApiError(400, "cursor must be sent with the user/condition it was issued for", "cursor")
        raise ApiError(400, "user or condition is required", "user")
    if wallet is None and len(conditions) != 1:
        raise ApiError(400, "condition without user accepts exactly one id", "condition")
    status = q.get_choice("status", choices=POSITION_STATUSES, default="OPEN") or "OPEN"
    events = q.ints(*EVENT, maximum=20)
    title = title_filter(q, 200)
    kind = q.get_choice("filter_type", "filterType", choices=("TOKENS", "CASH"), default="TOKENS")
    amount = q.get_float("filter_amount", "filterAmount", default=None)
    include_archived = q.get_bool("include_archived", "includeArchived", default=False)
    sort_by = q.get_choice("sort_by", "sortBy", choices=POSITION_SORTS, default="TOKENS") or "TOKENS"
    descending = q.get_choice("sort_direction", "sortDirection", choices=DIRECTIONS, default="DESC") == "DESC"
    start = q.get_int("start", default=0)
    end = q.get_int("end", default=0)
    anchor = hashlib.sha256(f"{wallet}|{','.join(sorted(conditions))}|{status}".encode()).hexdigest()[:16]
    token = q.get("cursor")
    if token:
        payload = decode(ctx, token, "positions")
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
    rows = [
        v for v in rows if (v.total_bought > 0 or v.size > 0) and (include_archived or not v.market.archived)
    ]
    if status == "OPEN":
        rows = [v for v in rows if v.size > 0]
    elif status == "MERGEABLE":
        rows = [v for v in rows if v.mergeable]
    else:
        rows = [v for v in rows if v.status == status]
    if status != "CLOSED":
        if kind == "CASH":
            rows = [v for v in rows if v.size >= DUST_FLOOR and v.current_value >= (amount or 0.0)]
        else:
            rows = [v for v in rows if v.size >= max(DUST_FLOOR, amount or 0.0)]
    rows = filter_positions(rows, [], events, title)
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
    rows = sort_rows(rows, keys[sort_by], descending, position_tiebreak)
    page = rows[offset : offset + size]
    has_more = offset + size < len(rows)
    next_cursor = (
        encode_cursor(ctx.model.cursor_secret, {"k": "positions", "o": offset + size, "n": size, "a": anchor})
        if has_more
        else None
    )
    profiles = ctx.model.profiles
    body = json_bytes([position_row(v, profiles[v.wallet]) for v in page])
    return envelope(body, size, offset, has_more, next_cursor)


def value(ctx: SimContext, q: Query) -> Response:
    reject_offset(q)
    wallet = q.wallet(required=True)
    assert wallet is not None
    conditions = q.condition_ids(*CONDITION, maximum=20)
    return json_response(
        {"data": {"proxy_wallet": wallet, "value": portfolio_value(ctx, wallet, conditions)}}
    )


def exact_choice(q: Query, name: str, choices: tuple[str, ...], default: str) -> str:
    """A value spelled exactly as documented (``1m`` is a month; no case folding), else a v2 400."""
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}", name)
    return raw


def user_pnl(ctx: SimContext, q: Query) -> Response:
    reject_offset(q)
    wallet = q.wallet(required=True)
    assert wallet is not None
    interval = exact_choice(q, "interval", tuple(INTERVAL_SECONDS), "all")
    fidelity = exact_choice(q, "fidelity", FIDELITIES, "1d")
    return json_response({"data": ctx.model.user_pnl(wallet, interval, fidelity)})


def not_modelled(ctx: SimContext, q: Query) -> Response:
    """Other v2 routes (holders, user-stats, ...) exist upstream but are not simulated: a v2 404."""
    raise ApiError(404, f"/v2/{q.path.get('rest', '')} is not available in the simulator")


ROUTES: list[tuple[str, Callable[[SimContext, Query], Response]]] = [
    ("/v2/trades", trades),
    ("/v2/positions", positions),
    ("/v2/activity", activity),
    ("/v2/value", value),
    ("/v2/user-pnl", user_pnl),
    ("/v2/{rest:path}", not_modelled),
]


def v2_routes(ctx: SimContext) -> list[Route]:
    return [Route(path, endpoint(ctx, "data", path, handler), methods=["GET"]) for path, handler in ROUTES]
