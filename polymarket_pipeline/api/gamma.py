"""Gamma ``GET /markets``: display metadata (question, tags, outcomes) and Gamma's resolution view.

Gamma encodes ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` as JSON strings (prices as
decimal strings), sends ``tags`` (with ``include_tag=true``) as ``{label, slug}`` objects, and
leaves ``category`` empty on most current markets: the market's ``events[]`` carry the
classification, read into ``event_category`` and ``event_tags``. Rows are checked one by one:
a bad market is rejected alone. ``closed`` defaults to false on ``/markets``, so each batch is
asked with ``closed=false`` and ``closed=true``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool

from polymarket_pipeline.api.fields import (
    HexId,
    Labels,
    LenientDatetime,
    Name,
    OutcomeList,
    PriceList,
    Slug,
    Title,
    TokenIdList,
    WireModel,
    json_list,
    wire_config,
)
from polymarket_pipeline.api.transport import Params, Transport
from polymarket_pipeline.api.validation import ParseContext, Rejections, validate_rows
from polymarket_pipeline.domain.records import MarketMetadata

ROUTE = "GET /markets"


def _event_id(value: Any) -> str | None:
    """Gamma event ids are decimal strings (``"903193"``); a JSON integer reads the same; else unknown."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 40:
        return value.strip()
    return None


EventId = Annotated[str | None, BeforeValidator(_event_id)]


class GammaEvent(WireModel):
    model_config = wire_config({}, camel=True)

    id: EventId = None
    slug: Slug = None
    title: Title = None
    category: Name = None
    tags: Labels = []
    neg_risk: StrictBool | None = None


class GammaMarket(WireModel):
    model_config = wire_config({}, camel=True)

    condition_id: HexId
    question: Title = None
    slug: Slug = None
    category: Name = None
    tags: Labels = []
    outcomes: OutcomeList = []
    outcome_prices: PriceList = []
    clob_token_ids: TokenIdList = []
    active: StrictBool | None = None
    closed: StrictBool | None = None
    uma_resolution_status: Name = None
    end_date: LenientDatetime = None
    closed_time: LenientDatetime = None
    neg_risk: StrictBool | None = None
    events: Annotated[list[GammaEvent], BeforeValidator(json_list)] = []

    def to_record(self, events: Sequence[GammaEvent] = ()) -> MarketMetadata:
        """The record; ``events`` classify it when the row carries none of its own (``/events``)."""
        events = self.events or list(events)
        event_tags: list[str] = []
        for event in events:
            event_tags.extend(t for t in event.tags if t not in event_tags)
        return MarketMetadata(
            condition_id=self.condition_id,
            question=self.question,
            slug=self.slug,
            category=self.category,
            tags=tuple(self.tags),
            event_category=next((e.category for e in events if e.category), None),
            event_tags=tuple(event_tags),
            outcomes=tuple(self.outcomes),
            outcome_prices=tuple(self.outcome_prices),
            clob_token_ids=tuple(self.clob_token_ids),
            active=self.active,
            closed=self.closed,
            uma_resolution_status=self.uma_resolution_status,
            end_date=self.end_date,
            neg_risk=self.neg_risk
            if self.neg_risk is not None
            else next((e.neg_risk for e in events if e.neg_risk is not None), None),
            event_id=next((e.id for e in events if e.id), None),
            closed_time=self.closed_time,
        )


class GammaEventWithMarkets(GammaEvent):
    markets: Annotated[list[Any], BeforeValidator(json_list)] = []


def parse_markets(body: Any, ctx: ParseContext, rejections: Rejections) -> list[MarketMetadata]:
    """A ``/markets`` array (or a single market object, as ``/markets/{id}`` answers)."""
    rows = [body] if isinstance(body, dict) else body
    return [row.to_record() for row in validate_rows(ctx, GammaMarket, rows, rejections)]


def parse_events(body: Any, ctx: ParseContext, rejections: Rejections) -> list[MarketMetadata]:
    """The markets of an ``/events`` answer (array or one event), classified by their event."""
    events = [body] if isinstance(body, dict) else body
    out: list[MarketMetadata] = []
    for event in validate_rows(ctx, GammaEventWithMarkets, events, rejections):
        for market in validate_rows(ctx, GammaMarket, event.markets, rejections, where="markets"):
            out.append(market.to_record([event]))
    return out


async def fetch_metadata(
    transport: Transport, condition_ids: Sequence[str], now: int
) -> list[MarketMetadata]:
    """Metadata for the given markets, open or closed, in input order (unknown ids skipped)."""
    wanted = list(dict.fromkeys(c.strip().lower() for c in condition_ids if c.strip()))
    if not wanted:
        return []
    size = transport.settings.gamma_batch_size
    batches = [wanted[i : i + size] for i in range(0, len(wanted), size)]
    ctx = ParseContext(ROUTE, None, now)
    rejections = Rejections(transport.stats)

    async def one(batch: list[str], closed: str) -> list[MarketMetadata]:
        params: Params = [("condition_ids", c) for c in batch]
        params += [("include_tag", "true"), ("closed", closed), ("limit", len(batch))]
        body = await transport.get("gamma", "/markets", params, route=ROUTE, wallet=None)
        assert body is not None
        if not isinstance(body.data, list):
            raise ctx.error("expected a JSON array of markets")
        return parse_markets(body.data, ctx, rejections)

    results = await asyncio.gather(*(one(b, closed) for b in batches for closed in ("false", "true")))
    rejections.summarize(ctx)
    by_id: dict[str, MarketMetadata] = {}
    for markets in results:  # closed=true answers come later and win a (racy) tie
        for market in markets:
            by_id[market.condition_id] = market
    return [by_id[c] for c in wanted if c in by_id]


EVENTS_ROUTE = "GET /events"


async def fetch_event_markets(
    transport: Transport, event_ids: Sequence[str], now: int
) -> list[MarketMetadata]:
    """Every market of the given Gamma events (a neg-risk event's members: what a conversion's
    legs are), one request per batch of ids."""
    wanted = list(dict.fromkeys(e.strip() for e in event_ids if e.strip()))
    if not wanted:
        return []
    ctx = ParseContext(EVENTS_ROUTE, None, now)
    rejections = Rejections(transport.stats)
    size = transport.settings.gamma_batch_size
    out: list[MarketMetadata] = []
    for start in range(0, len(wanted), size):
        batch = wanted[start : start + size]
        params: Params = [("id", e) for e in batch] + [("include_tag", "true"), ("limit", len(batch))]
        body = await transport.get("gamma", "/events", params, route=EVENTS_ROUTE, wallet=None)
        assert body is not None
        if not isinstance(body.data, list):
            raise ctx.error("expected a JSON array of events")
        out += parse_events(body.data, ctx, rejections)
    rejections.summarize(ctx)
    return out
