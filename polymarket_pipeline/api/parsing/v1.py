"""Data API v1 ("legacy"): bare JSON arrays of camelCase rows, offset paging.

Parsed into the same records as v2, so switching ``data_api_version`` changes nothing downstream.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from polymarket_pipeline.api.parsing.common import (
    Address,
    CamelWireModel,
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
    json_type,
    validate_one,
    validate_rows,
)
from polymarket_pipeline.domain.records import Activity, Fill, PortfolioValue, Position


class V1Trade(CamelWireModel):
    """A row of v1 ``GET /trades``."""

    proxy_wallet: Address
    side: TradeSide
    asset: RequiredStr
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
            asset=self.asset,
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


class V1Position(CamelWireModel):
    """A row of v1 ``GET /positions``."""

    proxy_wallet: Address
    asset: RequiredStr
    condition_id: HexId
    size: float
    avg_price: float | None = None
    cur_price: float | None = None
    current_value: float | None = None
    initial_value: float | None = None
    cash_pnl: float | None = None
    realized_pnl: float | None = None
    total_bought: float | None = None
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
            asset=self.asset,
            condition_id=self.condition_id,
            size=self.size,
            avg_price=self.avg_price,
            cur_price=self.cur_price,
            current_value=self.current_value,
            initial_value=self.initial_value,
            cash_pnl=self.cash_pnl,
            realized_pnl=self.realized_pnl,
            total_bought=self.total_bought,
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


class V1Activity(CamelWireModel):
    """A row of v1 ``GET /activity`` (REDEEM rows carry ``side: ""`` and ``price: 0``)."""

    proxy_wallet: Address
    type: RequiredStr
    timestamp: Timestamp
    condition_id: OptionalHexId = None
    transaction_hash: HexId
    size: float | None = None
    usdc_size: float | None = None
    price: float | None = None
    asset: OptionalStr = None
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
            asset=self.asset,
            side=self.side,
            outcome=self.outcome,
            outcome_index=self.outcome_index,
            title=self.title,
        )


class V1Value(CamelWireModel):
    """An element of v1 ``GET /value`` (``[{user, value}]``)."""

    user: OptionalHexId = None
    value: float | None = None


_TRADES = TypeAdapter(list[V1Trade])
_POSITIONS = TypeAdapter(list[V1Position])
_ACTIVITY = TypeAdapter(list[V1Activity])


def parse_trades(body: Any, ctx: ParseContext) -> list[Fill]:
    return [row.to_record() for row in validate_rows(ctx, _TRADES, body)]


def parse_positions(body: Any, ctx: ParseContext) -> list[Position]:
    return [row.to_record() for row in validate_rows(ctx, _POSITIONS, body)]


def parse_activity(body: Any, ctx: ParseContext) -> list[Activity]:
    return [row.to_record() for row in validate_rows(ctx, _ACTIVITY, body)]


def parse_value(body: Any, ctx: ParseContext, wallet: str) -> PortfolioValue:
    """The documented array, or a bare object (some deployments); an empty array means unknown."""
    return value_from_items(body, ctx, wallet)


def value_from_items(body: Any, ctx: ParseContext, wallet: str) -> PortfolioValue:
    """Shared by v1 and v2: ``body`` is one ``{user, value}`` object or a list of them."""
    if isinstance(body, dict):
        if "value" not in body and "error" in body:
            raise ctx.error(f"expected a value, got {json_type(body)}", field="value")
        items = [validate_one(ctx, V1Value, body)]
    elif isinstance(body, list):
        items = [validate_one(ctx, V1Value, item, where=f"row {i}") for i, item in enumerate(body)]
    else:
        raise ctx.error(f"expected a JSON array or object, got {json_type(body)}")
    chosen = next((item for item in items if item.user == wallet), items[0] if items else None)
    return PortfolioValue(wallet_address=wallet, value=chosen.value if chosen else None)
