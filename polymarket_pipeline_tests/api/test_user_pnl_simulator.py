"""``fetch_user_pnl`` against the simulator over real HTTP: the series as served, the skew switch,
retries on 429 and 5xx, and bodies that cannot be trusted."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from polymarket_pipeline.api import ClientSettings, PayloadError, PolymarketClient
from polymarket_pipeline.domain.records import OfficialPnlPoint, OfficialPnlSeries

simulator = pytest.importorskip("polymarket_pipeline.simulator.server")
from polymarket_pipeline.simulator.faults import FaultRule  # noqa: E402
from polymarket_pipeline.simulator.model import SimulatorConfig  # noqa: E402
from polymarket_pipeline_tests.support import fast_settings  # noqa: E402

T = TypeVar("T")


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    config = SimulatorConfig(seed=29, n_wallets=12, n_markets=8, history_days=20, trades_per_wallet=15)
    with simulator.SimulatorServer(config) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(sim: Any) -> Iterator[None]:
    sim.faults.clear()
    sim.log.clear()
    yield
    sim.faults.clear()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def settings(sim: Any, **overrides: Any) -> ClientSettings:
    """The suite's simulator settings, with this module's fast retries."""
    return fast_settings(sim, **{"rate_limit": 1000.0, "burst": 1000, "backoff_base_seconds": 0.01,
                                 "max_retries": 2, **overrides})  # fmt: skip


def fetch(sim: Any, wallet: str, **kwargs: Any) -> tuple[OfficialPnlSeries, dict[str, int]]:
    overrides = kwargs.pop("settings", {})

    async def go() -> tuple[OfficialPnlSeries, dict[str, int]]:
        async with PolymarketClient(settings(sim, **overrides)) as client:
            return await client.fetch_user_pnl(wallet, **kwargs), client.stats.snapshot()

    return run(go())


def statuses(sim: Any, wallet: str) -> list[int | None]:
    return [r.status for r in sim.log.records() if r.route == "/v2/user-pnl" and r.wallet == wallet]


def as_served(point: OfficialPnlPoint) -> dict[str, Any]:
    return {name: getattr(point, name) for name in OfficialPnlPoint.__slots__}


def without_now(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = {k: v for k, v in points[-1].items() if k not in ("timestamp", "source_block")}
    return [*points[:-1], last]


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_series_is_what_the_simulator_computed(sim: Any, version: str) -> None:
    wallet = sim.model.wallets[2]
    series, stats = fetch(sim, wallet, interval="all", settings={"data_api_version": version})
    assert (series.wallet_address, series.interval, series.fidelity, series.source_fidelity) == (
        wallet,
        "all",
        "1d",
        "1d",
    )
    assert series.complete
    truth = sim.admin.pnl_truth([wallet])[wallet]["series"]
    assert without_now([as_served(p) for p in series.points]) == without_now(truth)
    latest = series.latest
    assert latest is not None
    assert latest.deposits is None  # not covered, kept so
    assert latest.position_pnl == pytest.approx(latest.realized_pnl + latest.unrealized_pnl)  # type: ignore[operator]
    assert statuses(sim, wallet) == [200]
    assert stats["rows_rejected"] == 0


def test_the_skew_switch_is_visible_through_the_client(sim: Any) -> None:
    wallet = sim.model.wallets[3]
    honest, _ = fetch(sim, wallet, interval="1w")
    sim.admin.skew_official_pnl(wallet, 250.0)
    try:
        skewed, _ = fetch(sim, wallet, interval="1w")
    finally:
        sim.admin.skew_official_pnl(wallet, 0)
    assert len(skewed.points) == len(honest.points)
    for before, after in zip(honest.points, skewed.points, strict=True):
        assert after.realized_pnl == pytest.approx(before.realized_pnl + 250.0)  # type: ignore[operator]
        assert after.unrealized_pnl == before.unrealized_pnl
    truth = sim.admin.pnl_truth([wallet])[wallet]
    assert truth["totals"]["skew_usdc"] == "0.000000000000"


def test_a_429_is_waited_out_and_retried(sim: Any) -> None:
    wallet = sim.model.wallets[4]
    sim.faults.add(FaultRule(kind="429", route="/v2/user-pnl", wallet=wallet, count=1, retry_after=1.0))
    series, stats = fetch(sim, wallet)
    assert series.points
    attempts = [r for r in sim.log.records() if r.route == "/v2/user-pnl" and r.wallet == wallet]
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # Retry-After honoured
    assert (stats["rate_limited"], stats["retries"]) == (1, 1)


def test_server_errors_are_retried(sim: Any) -> None:
    wallet = sim.model.wallets[5]
    sim.faults.add(FaultRule(kind="500", route="/v2/user-pnl", wallet=wallet, count=1))
    sim.faults.add(FaultRule(kind="502", route="/v2/user-pnl", wallet=wallet, count=1))
    series, _ = fetch(sim, wallet)
    assert series.points
    assert sorted(statuses(sim, wallet)[:2]) == [500, 502]
    assert statuses(sim, wallet)[2] == 200


def test_a_garbage_body_is_a_payload_error_after_retries(sim: Any) -> None:
    wallet = sim.model.wallets[6]
    sim.faults.add(FaultRule(kind="malformed", route="/v2/user-pnl", wallet=wallet, count=None))
    with pytest.raises(PayloadError) as info:
        fetch(sim, wallet)
    assert (info.value.route, info.value.wallet) == ("GET /v2/user-pnl", wallet)
    assert statuses(sim, wallet) == [200, 200, 200]  # undecodable: retried, then given up


def test_a_series_of_another_wallet_is_refused_at_once(sim: Any) -> None:
    wallet = sim.model.wallets[7]
    sim.faults.add(
        FaultRule(kind="corrupt", route="/v2/user-pnl", wallet=wallet, count=None, field="foreign_wallet")
    )
    with pytest.raises(PayloadError, match="not the wallet asked for"):
        fetch(sim, wallet)
    assert statuses(sim, wallet) == [200]  # the same body would come back: no retry
