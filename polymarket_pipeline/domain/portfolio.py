"""A user's portfolio: positions summed per token across all of the user's linked wallets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from polymarket_pipeline.domain.records import Position


class MarketInfo(Protocol):
    """What the portfolio needs to know about a market (the market cache provides it)."""

    @property
    def title(self) -> str | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def resolved(self) -> bool: ...
    def outcome_for(self, asset: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class UserMarket:
    """One ``external_markets`` row."""

    user_id: str
    asset: str
    market_id: str
    title: str | None
    category: str | None
    tags: list[str]
    outcome: str | None
    size: float
    avg_price: float | None
    current_value: float | None
    pnl: float | None
    resolved: bool
    wallet_count: int


def _sum(values: Sequence[float | None]) -> float | None:
    """Sum of the known values; None only when none is known (a missing number is not zero)."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _weighted_avg_price(positions: Sequence[Position]) -> float | None:
    priced = [(p.size, p.avg_price) for p in positions if p.avg_price is not None and p.size > 0]
    total = sum(size for size, _ in priced)
    if not priced or total <= 0:
        return None
    return sum(size * price for size, price in priced) / total


def aggregate_user_positions(
    user_id: str, positions: Sequence[Position], markets: Mapping[str, MarketInfo]
) -> list[UserMarket]:
    """Sum a user's positions per token: size and value summed, ``avg_price`` size-weighted,
    ``pnl`` (unrealized cash PnL) summed, labelled with the market's metadata."""
    by_asset: dict[str, list[Position]] = defaultdict(list)
    for position in positions:
        if position.size > 0:
            by_asset[position.asset].append(position)
    rows = []
    for asset, held in sorted(by_asset.items()):
        first = held[0]
        market = markets.get(first.condition_id)
        rows.append(
            UserMarket(
                user_id=user_id,
                asset=asset,
                market_id=first.condition_id,
                title=(market.title if market else None) or first.title,
                category=market.category if market else None,
                tags=list(market.tags) if market else [],
                outcome=first.outcome or (market.outcome_for(asset) if market else None),
                size=sum(p.size for p in held),
                avg_price=_weighted_avg_price(held),
                current_value=_sum([p.current_value for p in held]),
                pnl=_sum([p.cash_pnl for p in held]),
                resolved=bool((market and market.resolved) or any(p.redeemable for p in held)),
                wallet_count=len({p.wallet_address for p in held}),
            )
        )
    return rows
