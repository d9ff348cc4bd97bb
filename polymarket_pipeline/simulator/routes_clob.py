"""CLOB market metadata routes: the one place that tells a client a market resolved and who won.

As on the live CLOB: a resolved market keeps ``active: true``; its tokens' prices settle to 1/0,
but most legacy (2022-23) resolutions mark no token ``winner: true``; one legacy market lists a
token whose ``token_id`` is ``""`` (in the paged listing and by id).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from polymarket_pipeline.simulator.context import SimContext, endpoint
from polymarket_pipeline.simulator.markets import SimMarket
from polymarket_pipeline.simulator.web import ApiError, Query, iso_z, json_response

END_CURSOR = "LTE="
"""base64("-1"): the CLOB's "no more pages" marker."""


def clob_market(m: SimMarket) -> dict[str, Any]:
    """The full CLOB Market object; after resolution ``active`` stays true, ``closed`` + winner flip."""
    sports = m.theme == "Sports"
    served = m.served_token_ids
    return {
        "enable_order_book": not m.closed,
        "active": m.active,
        "closed": m.closed,
        "archived": m.archived,
        "accepting_orders": m.accepting_orders,
        "accepting_order_timestamp": iso_z(m.created_at),
        "minimum_order_size": m.min_order_size,
        "minimum_tick_size": m.tick_size,
        "condition_id": m.condition_id,
        "question_id": m.question_id,
        "question": m.question,
        "description": m.description,
        "market_slug": m.slug,
        "end_date_iso": m.end_day_iso,
        "game_start_time": iso_z(m.end_date - 3 * 3600) if sports else None,
        "seconds_delay": 3 if sports else 0,
        "fpmm": "",
        "maker_base_fee": 0,
        "taker_base_fee": round(m.fee_rate * 10_000),
        "notifications_enabled": True,
        "neg_risk": m.neg_risk,
        "neg_risk_market_id": m.neg_risk_market_id,
        "neg_risk_request_id": m.neg_risk_request_id,
        "icon": m.icon,
        "image": m.icon,
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
        "is_50_50_outcome": False,
        "tokens": [
            {
                "token_id": served[i],
                "outcome": m.outcomes[i],
                "price": _settled(m.price_of(i)),
                "winner": m.closed and m.winner_flagged and m.winner_index == i,
            }
            for i in (0, 1)
        ],
        "tags": list(m.tags),
    }


def _settled(p: float) -> float | int:
    """Settled prices print as integers (``"price": 1``), like the live CLOB."""
    return int(p) if p in (0.0, 1.0) else p


def get_market(ctx: SimContext, q: Query) -> Response:
    market = ctx.model.market(str(q.path.get("condition_id", "")))
    if market is None:
        raise ApiError(404, "market not found")
    with ctx.model.lock:
        return json_response(clob_market(market))


def _cursor_offset(raw: str) -> int:
    try:
        value = int(base64.b64decode(raw, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid next_cursor") from None
    if value < 0:
        raise ApiError(400, "invalid next_cursor")
    return value


def list_markets(ctx: SimContext, q: Query) -> Response:
    """``{limit, count, next_cursor, data}``; next_cursor is base64 of the next offset, "LTE=" at the end."""
    page = ctx.config.clob_page_size
    raw = q.get("next_cursor") or ""
    if raw == END_CURSOR:
        return json_response({"limit": page, "count": 0, "next_cursor": END_CURSOR, "data": []})
    offset = _cursor_offset(raw) if raw else 0
    with ctx.model.lock:
        markets = ctx.model.markets
        data = [clob_market(m) for m in markets[offset : offset + page]]
        more = offset + page < len(markets)
    next_cursor = base64.b64encode(str(offset + page).encode()).decode() if more else END_CURSOR
    return json_response({"limit": page, "count": len(data), "next_cursor": next_cursor, "data": data})


def clob_routes(ctx: SimContext) -> list[Route]:
    return [
        Route("/markets", endpoint(ctx, "clob", "/markets", list_markets), methods=["GET"]),
        Route(
            "/markets/{condition_id}",
            endpoint(ctx, "clob", "/markets/{condition_id}", get_market),
            methods=["GET"],
        ),
    ]
