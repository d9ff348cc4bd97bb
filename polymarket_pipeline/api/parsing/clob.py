"""CLOB ``GET /markets/{condition_id}``: the source of truth for resolution.

A resolved market keeps ``active: true``; resolution is ``closed`` plus a ``winner`` token.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from polymarket_pipeline.api.parsing.common import (
    Flag,
    HexId,
    OptionalStr,
    ParseContext,
    RequiredStr,
    WireModel,
    validate_one,
)
from polymarket_pipeline.domain.records import MarketResolution, MarketToken


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


class ClobToken(WireModel):
    token_id: RequiredStr
    outcome: OptionalStr = None
    price: float | None = None
    winner: Flag = False


class ClobMarket(WireModel):
    condition_id: HexId
    closed: bool
    active: bool | None = None
    question: OptionalStr = None
    tags: Annotated[list[str], BeforeValidator(_none_to_list)] = []
    tokens: Annotated[list[ClobToken], BeforeValidator(_none_to_list)] = []

    def to_record(self) -> MarketResolution:
        return MarketResolution(
            condition_id=self.condition_id,
            closed=self.closed,
            active=self.active,
            question=self.question,
            tags=tuple(self.tags),
            tokens=tuple(
                MarketToken(token_id=t.token_id, outcome=t.outcome, price=t.price, winner=t.winner)
                for t in self.tokens
            ),
        )


def parse_market(body: Any, ctx: ParseContext) -> MarketResolution:
    return validate_one(ctx, ClobMarket, body).to_record()
