"""Data API v1 (legacy): bare JSON arrays, camelCase fields, limit/offset paging.

Quirks served on purpose, as measured on the live API:

- ``/trades``: offsets above ``v1_offset_cap`` (3,000) are a 400; ``takerOnly`` defaults to true;
  no time filter; without ``user`` (the global feed) rows come degraded: ``outcomeIndex`` 999
  and ``eventSlug`` "" (per fill, see ``feed_degraded``); optionally past
  ``v1_trades_repeat_offset`` the same page repeats. Pages are cut at request time from a
  newest-first list, so a walk that spans new fills sees rows shift (and sees some twice).
- ``/positions``: ``limit`` <= 500, offsets up to ``v1_positions_offset_cap`` (10,000);
  ``avgPrice`` rounded to 4 decimals (jm709/pscanner's recorded rows), ``initialValue`` = size x
  the exact average, ``cashPnl = currentValue - initialValue``, ``realizedPnl`` pre-fee and
  ``totalBought`` lifetime bought, all from Polymarket's accounting (``accounting``).
- ``/closed-positions``: positions with nothing left; ``limit`` <= 50 (default 10), offsets up to
  100,000; ``avgPrice`` with 6 decimals, as recorded there.
- ``/activity``: ``limit`` <= 500, offsets above ``v1_activity_offset_cap`` (5,000) are a 400;
  MERGE and SPLIT rows come back only with ``sortDirection=ASC`` (absent otherwise).
- ``/value``: ``[{"user", "value"}]``.

Retiring v1 means deleting this module and its line in ``routes_data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from polymarket_pipeline.simulator.catalog import Profile
from polymarket_pipeline.simulator.context import SimContext, endpoint
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
from polymarket_pipeline.simulator.web import ApiError, Query, json_response, r6

ACTIVITY_TYPES = (
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
ASC_ONLY_TYPES = frozenset({"SPLIT", "MERGE"})
"""Served only to ``sortDirection=ASC`` requests (runesleo/polymarket-toolkit, 2026-08-18)."""
POSITION_SORTS = (
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
CLOSED_SORTS = ("REALIZEDPNL", "TITLE", "PRICE", "AVGPRICE", "TIMESTAMP")


# ---------------------------------------------------------------------- row shapes
def trade_row(f: Fill, prof: Profile, feed: bool = False) -> dict[str, Any]:
    m = f.market
    i = f.outcome_index
    degraded = feed and f.feed_degraded
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
        "eventSlug": "" if degraded else m.event_slug,
        "outcome": m.outcomes[i],
        "outcomeIndex": UNLABELED if degraded else i,
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profileImage": prof.profile_image,
        "profileImageOptimized": prof.profile_image_optimized,
        "transactionHash": f.transaction_hash,
    }


def activity_row(a: Activity, prof: Profile) -> dict[str, Any]:
    m = a.market
    return {
        "proxyWallet": a.wallet,
        "timestamp": a.timestamp,
        "conditionId": a.condition_id,
        "type": a.type,
        "size": a.size,
        "usdcSize": a.usdc_size,
        "transactionHash": a.transaction_hash,
        "price": a.price,
        "asset": a.asset,
        "side": a.side,
        "outcomeIndex": a.served_outcome_index,
        "title": m.question if m else "",
        "slug": m.slug if m else "",
        "icon": m.icon if m else "",
        "eventSlug": m.event_slug if m else "",
        "outcome": a.outcome,
        "name": prof.name,
        "pseudonym": prof.pseudonym,
        "bio": prof.bio,
        "profileImage": prof.profile_image,
        "profileImageOptimized": prof.profile_image_optimized,
    }


def position_row(v: PositionView) -> dict[str, Any]:
    m = v.market
    i, o = v.outcome_index, v.opposite_index
    initial, current = r6(v.initial_value), r6(v.current_value)
    return {
        "proxyWallet": v.wallet,
        "asset": m.token_ids[i],
        "conditionId": m.condition_id,
        "size": v.size,
        "avgPrice": round(v.avg_price, 4) + 0.0,  # 4 decimals, as recorded; initialValue uses the exact avg
        "initialValue": initial,
        "currentValue": current,
        "cashPnl": r6(current - initial),  # the printed identity holds exactly, as on v2
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


def closed_position_row(v: PositionView) -> dict[str, Any]:
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


# ---------------------------------------------------------------------- handlers
def _market_or_event(q: Query) -> tuple[list[str], list[int]]:
    markets = q.condition_ids("market")
    events = q.ints("eventId")
    if markets and events:
        raise ApiError(400, "market and eventId are mutually exclusive", "market")
    return markets, events


def _offset(q: Query, cap: int) -> int:
    offset = q.get_int("offset", default=0)
    if offset > cap:
        raise ApiError(400, f"offset must be <= {cap}", "offset")
    return offset


def trades(ctx: SimContext, q: Query) -> Response:
    cfg = ctx.config
    wallet = q.wallet(required=False)
    markets, events = _market_or_event(q)
    limit = q.get_int("limit", default=100, maximum=10_000)
    offset = _offset(q, min(cfg.v1_offset_cap, 10_000))
    if cfg.v1_trades_repeat_offset and offset > cfg.v1_trades_repeat_offset:
        offset = cfg.v1_trades_repeat_offset  # past the ceiling the same page comes back
    taker_only = q.get_bool("takerOnly", default=True)
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    kind = q.get_choice("filterType", choices=("CASH", "TOKENS"), default=None)
    amount = q.get_float("filterAmount", default=None)
    if (kind is None) != (amount is None):
        raise ApiError(400, "filterType and filterAmount must be sent together", "filterType")
    predicate = all_of(row_filters(markets, events, side) + amount_filter(kind, amount))
    rows = ctx.model.trades(
        wallet=wallet,
        taker_only=taker_only,
        limit=min(limit, cfg.v1_max_page),
        skip=offset,
        predicate=predicate,
    )
    profiles = ctx.model.profiles
    if wallet is None:
        body = encode_rows(ctx, "t1f", rows, lambda f: trade_row(f, profiles[f.wallet], feed=True))
    else:
        body = encode_rows(ctx, "t1", rows, lambda f: trade_row(f, profiles[f.wallet]))
    return raw_json(body)


def positions(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    markets, events = _market_or_event(q)
    threshold = q.get_float("sizeThreshold", default=1.0) or 0.0
    only_redeemable = q.get_bool("redeemable", default=False)
    only_mergeable = q.get_bool("mergeable", default=False)
    limit = q.get_int("limit", default=100, maximum=500)
    offset = _offset(q, ctx.config.v1_positions_offset_cap)
    sort_by = q.get_choice("sortBy", choices=POSITION_SORTS, default="TOKENS")
    descending = q.get_choice("sortDirection", choices=DIRECTIONS, default="DESC") == "DESC"
    title = title_filter(q, 100)
    rows = [
        v
        for v in ctx.model.position_views(wallet, held_only=True)
        if not v.hidden
        and v.size >= threshold
        and (not only_redeemable or v.redeemable)
        and (not only_mergeable or v.mergeable)
    ]
    rows = filter_positions(rows, markets, events, title)
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
    rows = sort_rows(rows, keys[sort_by or "TOKENS"], descending, position_tiebreak)
    return json_response([position_row(v) for v in rows[offset : offset + limit]])


def closed_positions(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    markets, events = _market_or_event(q)
    limit = q.get_int("limit", default=10, maximum=50)
    offset = q.get_int("offset", default=0, maximum=100_000)
    sort_by = q.get_choice("sortBy", choices=CLOSED_SORTS, default="REALIZEDPNL")
    descending = q.get_choice("sortDirection", choices=DIRECTIONS, default="DESC") == "DESC"
    title = title_filter(q, 100)
    rows = [v for v in ctx.model.position_views(wallet) if v.status == "CLOSED"]
    rows = filter_positions(rows, markets, events, title)
    keys: dict[str, Callable[[PositionView], Any]] = {
        "REALIZEDPNL": lambda v: v.realized_pnl,
        "TITLE": lambda v: v.market.question,
        "PRICE": lambda v: v.cur_price,
        "AVGPRICE": lambda v: v.avg_price,
        "TIMESTAMP": lambda v: v.closed_at,
    }
    rows = sort_rows(rows, keys[sort_by or "REALIZEDPNL"], descending, position_tiebreak)
    return json_response([closed_position_row(v) for v in rows[offset : offset + limit]])


def activity(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    assert wallet is not None
    markets, events = _market_or_event(q)
    limit = q.get_int("limit", default=100, maximum=500)
    offset = _offset(q, ctx.config.v1_activity_offset_cap)
    types = activity_types(q, ACTIVITY_TYPES)
    start = q.get_int("start", default=0)
    end = q.get_int("end", default=0)
    sort_by = q.get_choice("sortBy", choices=("TIMESTAMP", "TOKENS", "CASH"), default="TIMESTAMP")
    ascending = q.get_choice("sortDirection", choices=DIRECTIONS, default="DESC") == "ASC"
    side = q.get_choice("side", choices=("BUY", "SELL"), default=None)
    checks = row_filters(markets, events, side)
    if types:
        checks.append(type_filter(types))
    if not ascending:  # the live API drops MERGE and SPLIT rows unless asked for ASC
        checks.append(lambda a: a.type not in ASC_ONLY_TYPES)
    predicate = all_of(checks)
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
    return raw_json(encode_rows(ctx, "a1", rows, lambda a: activity_row(a, profiles[a.wallet])))


def value(ctx: SimContext, q: Query) -> Response:
    wallet = q.wallet(required=True)
    markets = q.condition_ids("market")
    return json_response([{"user": wallet, "value": portfolio_value(ctx, wallet, markets)}])


ROUTES: list[tuple[str, Callable[[SimContext, Query], Response]]] = [
    ("/trades", trades),
    ("/positions", positions),
    ("/closed-positions", closed_positions),
    ("/activity", activity),
    ("/value", value),
]


def v1_routes(ctx: SimContext) -> list[Route]:
    return [Route(path, endpoint(ctx, "data", path, handler), methods=["GET"]) for path, handler in ROUTES]
