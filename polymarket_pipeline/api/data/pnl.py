"""``/v2/user-pnl``: Polymarket's own PnL series of a wallet, validated into ``OfficialPnlSeries``.

The route exists only in Data API v2 (v1 has no PnL series), so it is read on the Data API host
whatever ``data_api_version`` (``POLYMARKET_DATA_API_VERSION``) says: that setting picks between
the two generations of the routes both have, and this one has no v1 twin to pick.

Shape, from the live capture (dilettante-trading/polyoxide ``fixtures/v2/user_pnl.json``):
``{"data": {"proxy_wallet", "interval", "fidelity", "source_fidelity", "points": [...]}}``, points
oldest first, amounts JSON numbers, ``null`` for what is not covered. Validation:

- structure (no ``data`` object, ``points`` not an array, more than ``MAX_POINTS`` points) and a
  ``proxy_wallet`` other than the wallet asked for raise ``PayloadError``: nothing in it is ours;
- a point with a broken field (a string amount, a timestamp before Polymarket or past now + 5
  min, a negative volume, a fractional count) is rejected alone, and so is a point not after its
  predecessor; the series says how many (``rejected``);
- ``null`` stays None ("not covered"), never 0; unknown fields are ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from polymarket_pipeline.api.fields import (
    Name,
    OptionalAddress,
    OptionalAmount,
    OptionalNumber,
    Timestamp,
    WireModel,
)
from polymarket_pipeline.api.transport import Params, Transport
from polymarket_pipeline.api.validation import ParseContext, Rejections, validate_object, validate_rows
from polymarket_pipeline.domain.addresses import normalize_address
from polymarket_pipeline.domain.records import OfficialPnlPoint, OfficialPnlSeries

PATH = "/v2/user-pnl"
ROUTE = f"GET {PATH}"
INTERVALS = ("max", "all", "1m", "1w", "1d", "12h", "6h")
FIDELITIES = ("1d", "18h", "12h", "3h", "1h")
MAX_POINTS = 20_000
"""Daily points for 55 years: a longer series is not one the API can have sent."""
MAX_COUNT = 2**63 - 1


def _count(value: Any) -> int | None:
    """A JSON integer >= 0 (``trade_count``, ``source_block``); 3.0 is accepted, 3.5 and "3" fail."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("count_type", "must be a JSON integer", {"value": value})
    if isinstance(value, float) and not value.is_integer():
        raise PydanticCustomError("count_integer", "must be a whole number", {"value": value})
    count = int(value)
    if not 0 <= count <= MAX_COUNT:
        raise PydanticCustomError("count_range", "must be between 0 and 2**63 - 1", {"value": value})
    return count


Count = Annotated[int | None, BeforeValidator(_count)]


class PnlPointRow(WireModel):
    """One point; named like ``OfficialPnlPoint``, spelled as the wire spells it."""

    timestamp: Timestamp
    source_block: Count = None
    realized_market_pnl: OptionalNumber = None
    realized_lp_pnl: OptionalNumber = None
    realized_combo_pnl: OptionalNumber = None
    realized_pnl: OptionalNumber = None
    unrealized_pnl: OptionalNumber = None
    position_pnl: OptionalNumber = None
    wallet_income: OptionalNumber = None
    economic_pnl: OptionalNumber = None
    settled_pnl: OptionalNumber = None
    trade_pnl: OptionalNumber = None
    fees: OptionalNumber = None
    fees_paid: OptionalNumber = None
    fees_refunded: OptionalNumber = None
    maker_rebate: OptionalNumber = None
    taker_rebate: OptionalNumber = None
    reward_income: OptionalNumber = None
    yield_income: OptionalNumber = None
    referral_income: OptionalNumber = None
    sponsored_income: OptionalNumber = None
    deposits: OptionalNumber = None
    withdrawals: OptionalNumber = None
    cashflow_net: OptionalNumber = None
    volume: OptionalAmount = None
    volume_usdc: OptionalAmount = None
    trade_count: Count = None

    def to_record(self) -> OfficialPnlPoint:
        return OfficialPnlPoint(**self.__dict__)


class PnlSeriesData(WireModel):
    proxy_wallet: OptionalAddress = None
    interval: Name = None
    fidelity: Name = None
    source_fidelity: Name = None
    points: Any = None


class PnlEnvelope(WireModel):
    data: Any = None


def parse_user_pnl(
    ctx: ParseContext, body: Any, rejections: Rejections, *, interval: str, fidelity: str
) -> OfficialPnlSeries:
    """The series in ``body`` for ``ctx.wallet``; ``interval``/``fidelity`` fill in unechoed ones."""
    wallet = ctx.wallet
    assert wallet is not None
    envelope = validate_object(ctx, PnlEnvelope, body)
    data = validate_object(ctx, PnlSeriesData, envelope.data, where="data")
    if data.proxy_wallet != wallet:
        shown = data.proxy_wallet or "missing"
        raise ctx.error(f"data.proxy_wallet is {shown}, not the wallet asked for", field="data.proxy_wallet")
    raw = [] if data.points is None else data.points
    if isinstance(raw, list) and len(raw) > MAX_POINTS:
        raise ctx.error(f"data.points: {len(raw)} points, more than {MAX_POINTS}", field="data.points")
    points: list[OfficialPnlPoint] = []
    for row in validate_rows(ctx, PnlPointRow, raw, rejections, where="data.points"):
        if points and row.timestamp <= points[-1].timestamp:
            rejections.reject(ctx, f"point at {row.timestamp} is not after the previous one")
            continue
        points.append(row.to_record())
    rejections.summarize(ctx)
    return OfficialPnlSeries(
        wallet_address=wallet,
        interval=data.interval or interval,
        fidelity=data.fidelity or fidelity,
        source_fidelity=data.source_fidelity,
        points=tuple(points),
        rejected=rejections.count,
    )


async def fetch_user_pnl(
    transport: Transport, wallet: str, *, interval: str, fidelity: str, now: int
) -> OfficialPnlSeries:
    """One ``/v2/user-pnl`` request (retried, rate-limited and bounded by the transport), parsed."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    if fidelity not in FIDELITIES:
        raise ValueError(f"fidelity must be one of {', '.join(FIDELITIES)}, not {fidelity!r}")
    wallet = normalize_address(wallet)
    await transport.cooldown.wait(wallet, ROUTE)
    params: Params = [("user", wallet), ("interval", interval), ("fidelity", fidelity)]
    body = await transport.get("data", PATH, params, route=ROUTE, wallet=wallet)
    assert body is not None
    ctx = ParseContext(ROUTE, wallet, now)
    return parse_user_pnl(ctx, body.data, Rejections(transport.stats), interval=interval, fidelity=fidelity)
