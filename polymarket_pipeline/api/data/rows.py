"""Data API rows, version-neutral: fields named and typed like the records they become.

Each version subclasses these and states only its spellings (v1's camelCase, v2's ``token_id``
for ``asset``, ``current_size`` for ``size``…), so both versions share every rule of
``api.fields`` and a fill read through v1 or v2 is the same record.
"""

from __future__ import annotations

from polymarket_pipeline.api.fields import (
    Address,
    Amount,
    Code,
    Flag,
    HexId,
    LenientDate,
    OptionalAddress,
    OptionalAmount,
    OptionalFlag,
    OptionalHexId,
    OptionalNumber,
    OptionalPrice,
    OptionalSide,
    OptionalTokenId,
    Outcome,
    OutcomeIndex,
    Price,
    Slug,
    Timestamp,
    Title,
    TokenId,
    TradeSide,
    WireModel,
)
from polymarket_pipeline.domain.records import Activity, Fill, Position


class TradeRow(WireModel):
    """A fill of ``/trades`` (v1) or ``/v2/trades``."""

    wallet_address: Address
    side: TradeSide
    asset: TokenId
    condition_id: HexId
    size: Amount
    price: Price
    timestamp: Timestamp
    transaction_hash: HexId
    title: Title = None
    slug: Slug = None
    event_slug: Slug = None
    outcome: Outcome = None
    outcome_index: OutcomeIndex = None

    def to_record(self) -> Fill:
        return Fill(**self.__dict__)


class PositionRow(WireModel):
    """An open position of ``/positions`` (v1) or ``/v2/positions``."""

    wallet_address: Address
    asset: TokenId
    condition_id: HexId
    size: Amount
    avg_price: OptionalPrice = None
    cur_price: OptionalPrice = None
    current_value: OptionalAmount = None
    initial_value: OptionalAmount = None
    cash_pnl: OptionalNumber = None
    realized_pnl: OptionalNumber = None
    total_bought: OptionalAmount = None
    redeemable: Flag = False
    mergeable: Flag = False
    title: Title = None
    slug: Slug = None
    event_slug: Slug = None
    outcome: Outcome = None
    outcome_index: OutcomeIndex = None
    end_date: LenientDate = None
    negative_risk: OptionalFlag = None

    def to_record(self) -> Position:
        return Position(**self.__dict__)


class ClosedPositionRow(WireModel):
    """A closed position of v1 ``/closed-positions``: no size (it is 0), Polymarket's own figures.

    (v2 serves closed positions as ``/v2/positions?status=CLOSED`` rows of the open shape.)
    """

    wallet_address: Address
    asset: TokenId
    condition_id: HexId
    avg_price: OptionalPrice = None
    total_bought: OptionalAmount = None
    realized_pnl: OptionalNumber = None
    cur_price: OptionalPrice = None
    title: Title = None
    slug: Slug = None
    event_slug: Slug = None
    outcome: Outcome = None
    outcome_index: OutcomeIndex = None

    def to_record(self) -> Position:
        return Position(size=0.0, **self.__dict__)


class ActivityRow(WireModel):
    """A row of ``/activity`` (v1) or ``/v2/activity``.

    Reward and rebate rows have no market (``conditionId: ""``), neg-risk REDEEMs no asset, and
    REDEEM/SPLIT/MERGE no side: those are valid and read as None.
    """

    wallet_address: Address
    type: Code
    timestamp: Timestamp
    condition_id: OptionalHexId = None
    transaction_hash: HexId
    size: OptionalAmount = None
    usdc_size: OptionalAmount = None
    price: OptionalPrice = None
    asset: OptionalTokenId = None
    side: OptionalSide = None
    outcome: Outcome = None
    outcome_index: OutcomeIndex = None
    title: Title = None
    slug: Slug = None
    event_slug: Slug = None

    def to_record(self) -> Activity:
        return Activity(**self.__dict__)


class ValueRow(WireModel):
    """``/value``'s ``{user, value}`` (v1) or ``/v2/value``'s ``{proxy_wallet, value}``."""

    wallet_address: OptionalAddress = None
    value: OptionalAmount = None
