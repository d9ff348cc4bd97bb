"""CLOB ``GET /markets/{condition_id}``: a market's resolution state and token list.

A resolved market keeps ``active: true``; resolution is ``closed`` plus the winning token, which
is the token flagged ``winner`` or, as on 74 of 98 real closed markets of 2022-23 that carry no
flag, the token priced 1 against 0s (``MarketResolution.winner_asset``). Tokens are checked one
by one: a token with ``token_id: ""`` (a few legacy markets) or an invalid field is dropped with
a warning and the market still parses; a market left without a usable token list is skipped
(None, with a warning), never failing the caller.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool

from polymarket_pipeline.api.fields import (
    HEX_ID,
    Flag,
    HexId,
    Labels,
    OptionalPrice,
    OptionalTokenId,
    Outcome,
    Title,
    WireModel,
    json_list,
)
from polymarket_pipeline.api.text import escape
from polymarket_pipeline.api.transport import Transport
from polymarket_pipeline.api.validation import ParseContext, Rejections, validate_object, validate_rows
from polymarket_pipeline.domain.records import MarketResolution, MarketToken

ROUTE = "GET /markets/{condition_id}"


class ClobToken(WireModel):
    token_id: OptionalTokenId = None
    outcome: Outcome = None
    price: OptionalPrice = None
    winner: Flag = False


class ClobMarket(WireModel):
    condition_id: HexId
    closed: StrictBool
    active: StrictBool | None = None
    question: Title = None
    tags: Labels = []
    tokens: Annotated[list[Any], BeforeValidator(json_list)] = []
    """Raw token objects, checked one by one so one bad token does not sink the market."""


def parse_market(body: Any, ctx: ParseContext, rejections: Rejections) -> MarketResolution | None:
    """One market, or None when its token list is unusable (every token dropped, or ids repeat)."""
    market = validate_object(ctx, ClobMarket, body)
    tokens: list[MarketToken] = []
    for i, token in enumerate(validate_rows(ctx, ClobToken, market.tokens, rejections, where="tokens")):
        if token.token_id is None:
            rejections.reject(ctx, f"market {market.condition_id}: token {i} has an empty token_id; dropped")
            continue
        tokens.append(MarketToken(token.token_id, token.outcome, token.price, token.winner))
    ids = [t.token_id for t in tokens]
    if (market.tokens and not tokens) or len(set(ids)) != len(ids):
        rejections.reject(ctx, f"market {market.condition_id}: no usable token list; market skipped")
        return None
    return MarketResolution(
        condition_id=market.condition_id,
        closed=market.closed,
        active=market.active,
        question=market.question,
        tags=tuple(market.tags),
        tokens=tuple(tokens),
    )


async def fetch_market(transport: Transport, condition_id: str, now: int) -> MarketResolution | None:
    """CLOB's view of one market; None when CLOB does not know it (404) or it is unusable."""
    wanted = condition_id.strip().lower()
    if not HEX_ID.fullmatch(wanted):
        shown = escape(condition_id, 80)
        raise ValueError(f"condition_id must be 0x followed by 64 hex digits, not {shown!r}")
    body = await transport.get("clob", f"/markets/{wanted}", [], route=ROUTE, wallet=None, allow_404=True)
    if body is None:
        return None
    ctx = ParseContext(ROUTE, None, now)
    rejections = Rejections(transport.stats)
    market = parse_market(body.data, ctx, rejections)
    rejections.summarize(ctx)
    if market is not None and market.condition_id != wanted:
        raise ctx.error(f"asked for market {wanted}, got {market.condition_id}", field="condition_id")
    return market
