"""Data API v2: ``{data, pagination}`` envelopes of snake_case rows, opaque cursor paging.

Field names differ from v1 (``token_id`` for ``asset``, ``current_size`` for ``size``...); the
records do not, so both versions are interchangeable downstream.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from polymarket_pipeline.api.parsing.common import (
    Address,
    Flag,
    HexId,
    LenientDate,
    OptionalHexId,
    OptionalSide,
    OptionalStr,
    ParseContext,
    RequiredStr,
    Timestamp,
    TradeSide,
    WireModel,
    validate_one,
    validate_rows,
)
from polymarket_pipeline.api.parsing.v1 import value_from_items
from polymarket_pipeline.domain.records import Activity, Fill, Page, PortfolioValue, Position


class V2Pagination(WireModel):
    next_cursor: OptionalStr = None
    has_more: bool | None = None


class V2Envelope(WireModel):
    """Every v2 response: ``data`` plus, on list routes, ``pagination``."""

    data: Any
    pagination: V2Pagination | None = None


class V2Trade(WireModel):
    """A row of ``GET /v2/trades``."""

    proxy_wallet: Address
    side: TradeSide
    token_id: RequiredStr
    condition_id: HexId
    size: float
    price: float
    timestamp: Timestamp
    transaction_hash: HexId
    title: OptionalStr = None
    slug: OptionalStr = None
    event_slug: OptionalStr = None
    outcome: OptionalStr = None
    outcome_index: int | None = None

    def to_record(self) -> Fill:
        return Fill(
            wallet_address=self.proxy_wallet,
            side=self.side,
            asset=self.token_id,
            condition_id=self.condition_id,
            size=self.size,
            price=self.price,
            timestamp=self.timestamp,
            transaction_hash=self.transaction_hash,
            title=self.title,
            slug=self.slug,
            event_slug=self.event_slug,
            outcome=self.outcome,
            outcome_index=self.outcome_index,
        )


class V2Position(WireModel):
    """A row of ``GET /v2/positions`` (``total_size`` is lifetime bought, not the balance)."""

    proxy_wallet: Address
    token_id: RequiredStr
    condition_id: HexId
    current_size: float
    avg_price: float | None = None
    current_price: float | None = None
    current_value: float | None = None
    entry_cost_usdc: float | None = None
    unrealized_pnl: float | None = None
    realized_pnl: float | None = None
    total_size: float | None = None
    redeemable: Flag = False
    mergeable: Flag = False
    title: OptionalStr = None
    slug: OptionalStr = None
    event_slug: OptionalStr = None
    outcome: OptionalStr = None
    outcome_index: int | None = None
    end_date: LenientDate = None
    negative_risk: bool | None = None

    def to_record(self) -> Position:
        return Position(
            wallet_address=self.proxy_wallet,
            asset=self.token_id,
            condition_id=self.condition_id,
            size=self.current_size,
            avg_price=self.avg_price,
            cur_price=self.current_price,
            current_value=self.current_value,
            initial_value=self.entry_cost_usdc,
            cash_pnl=self.unrealized_pnl,
            realized_pnl=self.realized_pnl,
            total_bought=self.total_size,
            redeemable=self.redeemable,
            mergeable=self.mergeable,
            title=self.title,
            slug=self.slug,
            event_slug=self.event_slug,
            outcome=self.outcome,
            outcome_index=self.outcome_index,
            end_date=self.end_date,
            negative_risk=self.negative_risk,
        )


class V2Activity(WireModel):
    """A row of ``GET /v2/activity``."""

    proxy_wallet: Address
    type: RequiredStr
    timestamp: Timestamp
    condition_id: OptionalHexId = None
    transaction_hash: HexId
    size: float | None = None
    usdc_size: float | None = None
    price: float | None = None
    token_id: OptionalStr = None
    side: OptionalSide = None
    outcome: OptionalStr = None
    outcome_index: int | None = None
    title: OptionalStr = None

    def to_record(self) -> Activity:
        return Activity(
            wallet_address=self.proxy_wallet,
            type=self.type.upper(),
            timestamp=self.timestamp,
            condition_id=self.condition_id,
            transaction_hash=self.transaction_hash,
            size=self.size,
            usdc_size=self.usdc_size,
            price=self.price,
            asset=self.token_id,
            side=self.side,
            outcome=self.outcome,
            outcome_index=self.outcome_index,
            title=self.title,
        )


_TRADES = TypeAdapter(list[V2Trade])
_POSITIONS = TypeAdapter(list[V2Position])
_ACTIVITY = TypeAdapter(list[V2Activity])


def _envelope(body: Any, ctx: ParseContext) -> V2Envelope:
    return validate_one(ctx, V2Envelope, body)


def _page(body: Any, ctx: ParseContext, adapter: TypeAdapter[list[Any]]) -> tuple[list[Any], V2Pagination]:
    env = _envelope(body, ctx)
    rows = validate_rows(ctx, adapter, [] if env.data is None else env.data, where="data")
    return rows, env.pagination or V2Pagination()


def _has_more(pagination: V2Pagination) -> bool:
    return pagination.has_more if pagination.has_more is not None else pagination.next_cursor is not None


def _records(body: Any, ctx: ParseContext, adapter: TypeAdapter[list[Any]]) -> Page[Any]:
    """One page of rows as normalized records, with what is needed to ask for the next page."""
    rows, pagination = _page(body, ctx, adapter)
    return Page(
        items=[row.to_record() for row in rows],
        next_cursor=pagination.next_cursor,
        has_more=_has_more(pagination),
    )


def parse_trades(body: Any, ctx: ParseContext) -> Page[Fill]:
    return _records(body, ctx, _TRADES)


def parse_positions(body: Any, ctx: ParseContext) -> Page[Position]:
    return _records(body, ctx, _POSITIONS)


def parse_activity(body: Any, ctx: ParseContext) -> Page[Activity]:
    return _records(body, ctx, _ACTIVITY)


def parse_value(body: Any, ctx: ParseContext, wallet: str) -> PortfolioValue:
    """``{"data": {"user", "value"}}``; a list in ``data`` (v1 style) is accepted too."""
    env = _envelope(body, ctx)
    if env.data is None:
        return PortfolioValue(wallet_address=wallet, value=None)
    return value_from_items(env.data, ctx, wallet)
