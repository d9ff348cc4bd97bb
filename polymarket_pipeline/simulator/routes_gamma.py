"""Gamma ``/markets``: market metadata with Gamma's quirks (JSON-in-strings, closed=false default).

What classifies a current market is its ``events[]`` and ``tags``; only legacy (2022-23) markets
and events still carry ``category``, as in the recorded payloads.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from polymarket_pipeline.simulator.catalog import slugify
from polymarket_pipeline.simulator.config import DAY
from polymarket_pipeline.simulator.context import SimContext, endpoint
from polymarket_pipeline.simulator.markets import SimMarket
from polymarket_pipeline.simulator.web import (
    ApiError,
    Query,
    date_only,
    gamma_timestamp,
    iso_ms,
    iso_z,
    json_response,
)

MAX_CONDITION_IDS = 100
"""NautilusTrader's Gamma client chunks condition_ids by 100; we reject more, to stay on the safe side."""


def tag_id(label: str) -> int:
    return zlib.crc32(label.encode()) % 900_000 + 1


def _price_text(p: float) -> str:
    return str(int(p)) if p in (0.0, 1.0) else repr(p)


def tag_object(label: str) -> dict[str, Any]:
    """A tag as Gamma serves it with ``include_tag=true`` (pscanner/event.json's shape)."""
    ident = tag_id(label)
    created = 1_698_960_000 + ident * 37 % 40_000_000
    return {
        "id": str(ident),
        "label": label,
        "slug": slugify(label),
        "forceShow": False,
        "publishedAt": gamma_timestamp(created),
        "createdAt": iso_ms(created),
        "updatedAt": iso_ms(created + 90 * DAY),
        "requiresTranslation": False,
    }


def _event_entry(m: SimMarket) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": str(m.event_id),
        "ticker": m.event_slug,
        "slug": m.event_slug,
        "title": m.event_title,
        "active": True,
        "closed": m.closed,
        "archived": m.archived,
        "negRisk": m.neg_risk,
    }
    if m.category is not None:  # legacy events still carry the classification
        entry["category"] = m.category
    return entry


def gamma_market(m: SimMarket, include_tag: bool) -> dict[str, Any]:
    """One Gamma Market; ``outcomes``/``outcomePrices``/``clobTokenIds`` are JSON-encoded strings.

    ``category`` appears on legacy markets only (current ones classify through events and tags);
    legacy markets also have no UMA status and no ``negRisk`` key.
    """
    p0, p1 = m.price_of(0), m.price_of(1)
    row: dict[str, Any] = {
        "id": str(m.gamma_id),
        "question": m.question,
        "conditionId": m.condition_id,
        "slug": m.slug,
        "questionID": m.question_id,
        "endDate": iso_z(m.end_date),
        "startDate": iso_z(m.created_at),
        "endDateIso": date_only(m.end_date),
        "startDateIso": date_only(m.created_at),
        "createdAt": iso_ms(m.created_at - DAY),
        "updatedAt": iso_ms(max(m.last_trade_at, m.closed_at or 0, m.archived_at or 0, m.created_at)),
        "description": m.description,
        "resolutionSource": "",
        "image": m.icon,
        "icon": m.icon,
        "active": m.active,
        "closed": m.closed,
        "archived": m.archived,
        "restricted": not m.legacy,
        "acceptingOrders": m.accepting_orders,
        "enableOrderBook": not m.legacy,
        "orderPriceMinTickSize": m.tick_size,
        "orderMinSize": m.min_order_size,
        "outcomes": json.dumps(list(m.outcomes)),
        "outcomePrices": json.dumps([_price_text(p0), _price_text(p1)]),
        "clobTokenIds": json.dumps(list(m.token_ids)),
        "lastTradePrice": m.last_prices[0],
        "feesEnabled": m.fee_rate > 0,
        "events": [_event_entry(m)],
    }
    if m.category is not None:
        row["category"] = m.category
    if not m.legacy:
        row["negRisk"] = m.neg_risk
        row["negRiskRequestID"] = m.neg_risk_request_id
    if m.neg_risk:
        row["negRiskMarketID"] = m.neg_risk_market_id
        row["groupItemTitle"] = m.group_item_title
    if not m.closed:
        spread = m.tick_size
        row.update(
            {
                "bestBid": round(max(0.0, p0 - spread), 4),
                "bestAsk": round(min(1.0, p0 + spread), 4),
                "spread": spread,
            }
        )
    if m.has_volume:  # real rows sometimes carry no volume/liquidity keys at all
        row.update(
            {
                "volume": f"{m.volume:.6f}",
                "liquidity": f"{m.volume * 0.05:.6f}",
                "volumeNum": round(m.volume, 6),
                "liquidityNum": round(m.volume * 0.05, 6),
                "volume24hr": 0.0,
                "volume1wk": 0.0,
                "volume1mo": round(m.volume, 6),
                "volume1yr": round(m.volume, 6),
                "volumeClob": round(m.volume, 6),
            }
        )
    if m.closed and m.closed_at is not None:
        row["closedTime"] = gamma_timestamp(m.closed_at)
    status = m.uma_resolution_status
    if status is not None and m.closed_at is not None:
        row["umaEndDate"] = iso_z(m.closed_at)
        row["umaResolutionStatus"] = status
        row["umaResolutionStatuses"] = json.dumps(["proposed", "resolved"])
    else:
        row["umaResolutionStatuses"] = "[]"
    if include_tag:
        row["tags"] = [tag_object(t) for t in m.tags]
    return row


def _optional_bool(q: Query, name: str) -> bool | None:
    return q.get_bool(name, default=False) if q.get(name) not in (None, "") else None


def list_markets(ctx: SimContext, q: Query) -> Response:
    """Filters AND together; ``closed`` defaults to false, so resolved markets need closed=true."""
    cfg = ctx.config
    limit = min(q.get_int("limit", default=cfg.gamma_default_limit), cfg.gamma_max_limit)
    offset = q.get_int("offset", default=0)
    ids = set(q.ints("id", "id[]"))
    slugs = set(q.get_list("slug", "slug[]"))
    cids = {c.lower() for c in q.get_list("condition_ids", "condition_ids[]")}
    if len(cids) > MAX_CONDITION_IDS:
        raise ApiError(422, f"condition_ids accepts at most {MAX_CONDITION_IDS} ids", "condition_ids")
    tokens = set(q.get_list("clob_token_ids", "clob_token_ids[]"))
    closed = q.get_bool("closed", default=False)
    archived = _optional_bool(q, "archived")
    active = _optional_bool(q, "active")
    tag = q.get_int("tag_id", default=0)
    include_tag = q.get_bool("include_tag", default=False)
    ascending = q.get_bool("ascending", default=True)
    order = (q.get("order") or "id").split(",")[0].strip()
    with ctx.model.lock:
        rows = [
            m
            for m in ctx.model.markets
            if m.closed == closed
            and (not ids or m.gamma_id in ids)
            and (not slugs or m.slug in slugs)
            and (not cids or m.condition_id in cids)
            and (not tokens or m.token_ids[0] in tokens or m.token_ids[1] in tokens)
            and (archived is None or m.archived == archived)
            and (active is None or m.active == active)
            and (not tag or any(tag_id(t) == tag for t in m.tags))
        ]
        sort_keys = {
            "id": lambda m: m.gamma_id,
            "endDate": lambda m: m.end_date,
            "startDate": lambda m: m.created_at,
            "volume": lambda m: m.volume,
            "volumeNum": lambda m: m.volume,
        }
        rows.sort(key=sort_keys.get(order, sort_keys["id"]), reverse=not ascending)
        data = [gamma_market(m, include_tag) for m in rows[offset : offset + limit]]
    return json_response(data)


def list_events(ctx: SimContext, q: Query) -> Response:
    """``/events?id=…``: each event with its markets (what tells a neg-risk event's members)."""
    cfg = ctx.config
    limit = min(q.get_int("limit", default=cfg.gamma_default_limit), cfg.gamma_max_limit)
    ids = set(q.ints("id", "id[]"))
    include_tag = q.get_bool("include_tag", default=False)
    with ctx.model.lock:
        chosen = [e for e in ctx.model.events if not ids or e.event_id in ids][:limit]
        data = [
            {
                **_event_entry(e.markets[0]),
                "negRiskMarketID": e.neg_risk_market_id,
                "markets": [gamma_market(m, include_tag) for m in e.markets],
            }
            for e in chosen
            if e.markets
        ]
    return json_response(data)


def gamma_routes(ctx: SimContext) -> list[Route]:
    return [
        Route("/markets", endpoint(ctx, "gamma", "/markets", list_markets), methods=["GET"]),
        Route("/events", endpoint(ctx, "gamma", "/events", list_events), methods=["GET"]),
    ]
