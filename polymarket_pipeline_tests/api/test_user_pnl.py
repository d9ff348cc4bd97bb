"""``/v2/user-pnl`` parsing: the live capture's shape (hand-written values), structure errors, bad points.

The body below follows dilettante-trading/polyoxide ``fixtures/v2/user_pnl.json`` field for field
(numbers as numbers, ``null`` where not covered, the capture's identities), with made-up values.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from polymarket_pipeline.api import ClientSettings, PayloadError, PolymarketClient
from polymarket_pipeline.api.data import pnl
from polymarket_pipeline.api.stats import ApiStats
from polymarket_pipeline.api.validation import ParseContext, Rejections
from polymarket_pipeline.domain.records import OfficialPnlPoint

WALLET = "0x5e1f0c2a9b7d4e3f8a6c1b0d2e4f6a8c9b7d5e3f"
OTHER = "0x" + "7" * 40
DAY_0 = 1_788_998_400
"""A UTC midnight."""
NOW = DAY_0 + 3 * 86_400 + 5_000


def point(ts: int, **overrides: Any) -> dict[str, Any]:
    """A point obeying the capture's identities (trade_pnl = position_pnl + fees charged)."""
    row: dict[str, Any] = {
        "timestamp": ts,
        "source_block": 93_500_000 + (ts - DAY_0) // 2,
        "realized_market_pnl": -120.25,
        "realized_lp_pnl": 0.0,
        "realized_combo_pnl": 0.0,
        "unrealized_pnl": 30.5,
        "fees_refunded": 0.0,
        "maker_rebate": 1.5,
        "taker_rebate": 2.25,
        "reward_income": 0.75,
        "yield_income": 0.0,
        "referral_income": 0.0,
        "deposits": None,
        "withdrawals": None,
        "realized_pnl": -120.25,
        "wallet_income": 4.5,
        "position_pnl": -89.75,
        "settled_pnl": -115.75,
        "economic_pnl": -85.25,
        "trade_pnl": -79.75,
        "sponsored_income": 0.75,
        "fees": -10.0,
        "fees_paid": -10.0,
        "cashflow_net": None,
        "volume": 2500.5,
        "volume_usdc": 1210.125,
        "trade_count": 42,
    }
    row.update(overrides)
    return row


def body(points: Any, **data: Any) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "proxy_wallet": WALLET,
        "interval": "1w",
        "fidelity": "1d",
        "source_fidelity": "1d",
        "points": points,
    }
    inner.update(data)
    return {"data": inner}


def parse(doc: Any, *, interval: str = "1w", fidelity: str = "1d") -> Any:
    ctx = ParseContext(pnl.ROUTE, WALLET, NOW)
    return pnl.parse_user_pnl(ctx, doc, Rejections(ApiStats()), interval=interval, fidelity=fidelity)


def days(n: int) -> list[dict[str, Any]]:
    return [point(DAY_0 + i * 86_400) for i in range(n)] + [point(NOW - 10)]


def test_a_capture_shaped_body_parses_field_for_field() -> None:
    series = parse(body(days(3)))
    assert (series.wallet_address, series.interval, series.fidelity, series.source_fidelity) == (
        WALLET,
        "1w",
        "1d",
        "1d",
    )
    assert series.complete
    assert [p.timestamp for p in series.points] == [DAY_0, DAY_0 + 86_400, DAY_0 + 2 * 86_400, NOW - 10]
    first = series.points[0]
    assert first == OfficialPnlPoint(**point(DAY_0))
    assert (first.deposits, first.withdrawals, first.cashflow_net) == (None, None, None)  # not covered: not 0
    assert isinstance(first.trade_count, int)
    assert first.position_pnl == first.realized_pnl + first.unrealized_pnl  # type: ignore[operator]
    assert series.latest == series.points[-1]


def test_missing_and_null_figures_stay_none_and_unknown_fields_are_ignored() -> None:
    sparse = {"timestamp": DAY_0, "realized_pnl": None, "new_atom": 7.0}
    series = parse(body([sparse]))
    (only,) = series.points
    assert only == OfficialPnlPoint(timestamp=DAY_0)
    assert parse(body([])).points == ()
    assert parse(body(None)).latest is None
    unechoed = parse({"data": {"proxy_wallet": WALLET, "points": []}}, interval="all", fidelity="1h")
    assert (unechoed.interval, unechoed.fidelity, unechoed.source_fidelity) == ("all", "1h", None)


def test_millisecond_timestamps_and_mixed_case_wallets_are_normalized() -> None:
    series = parse(body([point(DAY_0 * 1000)], proxy_wallet=WALLET.upper().replace("0X", "0x")))
    assert series.points[0].timestamp == DAY_0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "expected a JSON object"),
        ({"error": "boom"}, "data: expected a JSON object"),
        ({"data": [point(DAY_0)]}, "data: expected a JSON object"),
        (body({"0": point(DAY_0)}), "data.points: expected a JSON array"),
        (body([], proxy_wallet=OTHER), "not the wallet asked for"),
        (body([], proxy_wallet=None), "proxy_wallet is missing"),
        (body([], proxy_wallet="0x12"), "proxy_wallet"),
    ],
)
def test_a_wrong_structure_or_wallet_raises(doc: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as info:
        parse(doc)
    assert info.value.route == "GET /v2/user-pnl"
    assert info.value.wallet == WALLET
    assert not info.value.retryable


def test_a_series_longer_than_the_bound_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pnl, "MAX_POINTS", 3)
    assert len(parse(body(days(2))).points) == 3
    with pytest.raises(PayloadError, match="more than 3"):
        parse(body(days(3)))


@pytest.mark.parametrize(
    "broken",
    [
        {"realized_pnl": "1e3"},
        {"unrealized_pnl": True},
        {"timestamp": NOW + 3600},  # past now + 5 minutes
        {"timestamp": 1_500_000_000},  # before Polymarket
        {"volume": -1.0},
        {"trade_count": 4.5},
        {"trade_count": "42"},
        {"source_block": -3},
        {"fees": float("nan")},
    ],
)
def test_a_broken_point_is_rejected_alone(broken: dict[str, Any]) -> None:
    points = days(2)
    points[1] = {**points[1], **broken}
    series = parse(body(points))
    assert series.rejected == 1
    assert not series.complete
    assert [p.timestamp for p in series.points] == [DAY_0, NOW - 10]


def test_points_out_of_order_or_repeated_are_rejected() -> None:
    series = parse(body([point(DAY_0 + 86_400), point(DAY_0), point(DAY_0 + 86_400), point(NOW - 1)]))
    assert [p.timestamp for p in series.points] == [DAY_0 + 86_400, NOW - 1]
    assert series.rejected == 2


def _client(handler: Any, **overrides: Any) -> PolymarketClient:
    values: dict[str, Any] = {
        "data_api_url": "https://data.example/data",
        "rate_limit": 1000.0,
        "burst": 1000,
        "wallet_cooldown_seconds": 0.0,
        "max_retries": 0,
    }
    values.update(overrides)
    client = PolymarketClient(ClientSettings(**values), transport=httpx.MockTransport(handler))
    client.clock = lambda: float(NOW)
    return client


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_client_reads_v2_whatever_the_data_api_version(version: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body(days(1), interval="1m", fidelity="3h"))

    async def go() -> Any:
        async with _client(handler, data_api_version=version) as client:
            return await client.fetch_user_pnl(
                WALLET.upper().replace("0X", "0x"), interval="1m", fidelity="3h"
            )

    series = asyncio.run(go())
    assert len(series.points) == 2
    (request,) = seen
    assert request.url.path == "/data/v2/user-pnl"
    assert dict(request.url.params) == {"user": WALLET, "interval": "1m", "fidelity": "3h"}


@pytest.mark.parametrize(("interval", "fidelity"), [("2w", "1d"), ("1M", "1d"), ("all", "5m"), ("all", "1D")])
def test_the_client_refuses_undocumented_values_before_sending(interval: str, fidelity: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:  # pragma: no cover - never called
        raise AssertionError("nothing should be sent")

    async def go() -> None:
        async with _client(handler) as client:
            await client.fetch_user_pnl(WALLET, interval=interval, fidelity=fidelity)

    with pytest.raises(ValueError, match=r"^(interval|fidelity) must be one of"):
        asyncio.run(go())
