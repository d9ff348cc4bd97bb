"""Gamma ``GET /markets``: display metadata (question, category, tags, outcomes).

Gamma encodes ``outcomes``, ``outcomePrices`` and ``clobTokenIds`` as JSON strings and sends
``tags`` as objects (``{label, slug}``) or plain strings; both forms are accepted.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, TypeAdapter

from polymarket_pipeline.api.parsing.common import (
    CamelWireModel,
    HexId,
    JsonFloatList,
    JsonStrList,
    LenientDatetime,
    OptionalStr,
    ParseContext,
    validate_rows,
)
from polymarket_pipeline.domain.records import MarketMetadata


def _tag_labels(value: Any) -> Any:
    """``[{label, slug}, ...]`` or ``["Crypto", ...]`` -> ``["Crypto", ...]``."""
    if value is None:
        return []
    if not isinstance(value, list):
        return value
    labels: list[Any] = []
    for tag in value:
        if isinstance(tag, dict):
            label = tag.get("label") or tag.get("slug")
            if isinstance(label, str) and label.strip():
                labels.append(label.strip())
        elif isinstance(tag, str):
            if tag.strip():
                labels.append(tag.strip())
        else:
            labels.append(tag)  # let validation report it
    return labels


class GammaEvent(CamelWireModel):
    category: OptionalStr = None


class GammaMarket(CamelWireModel):
    condition_id: HexId
    question: OptionalStr = None
    slug: OptionalStr = None
    category: OptionalStr = None
    tags: Annotated[list[str], BeforeValidator(_tag_labels)] = []
    outcomes: JsonStrList = []
    outcome_prices: JsonFloatList = []
    clob_token_ids: JsonStrList = []
    active: bool | None = None
    closed: bool | None = None
    uma_resolution_status: OptionalStr = None
    end_date: LenientDatetime = None
    events: Annotated[list[GammaEvent], BeforeValidator(lambda v: [] if v is None else v)] = []

    def to_record(self) -> MarketMetadata:
        # Gamma often leaves the market's category empty while its event has one.
        category = self.category or next((e.category for e in self.events if e.category), None)
        return MarketMetadata(
            condition_id=self.condition_id,
            question=self.question,
            slug=self.slug,
            category=category,
            tags=tuple(self.tags),
            outcomes=tuple(self.outcomes),
            outcome_prices=tuple(self.outcome_prices),
            clob_token_ids=tuple(self.clob_token_ids),
            active=self.active,
            closed=self.closed,
            uma_resolution_status=self.uma_resolution_status,
            end_date=self.end_date,
        )


_MARKETS = TypeAdapter(list[GammaMarket])


def parse_markets(body: Any, ctx: ParseContext) -> list[MarketMetadata]:
    return [row.to_record() for row in validate_rows(ctx, _MARKETS, body)]
