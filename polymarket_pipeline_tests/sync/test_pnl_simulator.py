"""PnL through the real boundary: the simulator over HTTP, swept into SQLite/PostgreSQL, then
``update_pnl``, against the simulator's ground truth and its own ``/v2/positions`` figures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.simulator.model import SimulatorConfig
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.markets import MarketDirectory
from polymarket_pipeline.sync.pnl import update_pnl
from polymarket_pipeline_tests.support import adaptive_sweep, fast_settings, register
from polymarket_pipeline_tests.sync.pnl_support import rows, snapshot_of, twin_engine

CTF = ("SPLIT", "MERGE", "CONVERSION")
REALIZED_TOLERANCE = 1e-6
"""The simulator keeps float costs; the replay is exact: they differ by float rounding only."""


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    # seed 13: 12 wallets, one neg-risk conversion, three wallets with splits/merges/conversions
    config = SimulatorConfig(
        seed=13, n_wallets=12, n_markets=12, history_days=6, trades_per_wallet=25, ctf_ops_per_wallet=0.5,
        start_time=1_790_000_000,
    )  # fmt: skip
    with SimulatorServer(config) as server:
        yield server


def sweep_into(sim: SimulatorServer, engine: Engine) -> None:
    """A cold sweep, then every market through the market directory (Gamma and CLOB over HTTP), as a
    sweep that met every market would have cached them (a conversion's YES legs need its event),
    re-asking the unresolved ones (what classifying a close does)."""
    register(engine, sim.model.wallets)
    adaptive_sweep(sim, engine)

    async def cache() -> None:
        async with PolymarketClient(fast_settings(sim)) as client:
            await MarketDirectory(client, engine).resolved([m.condition_id for m in sim.model.markets])

    asyncio.run(cache())


def truth_holdings(sim: SimulatorServer) -> dict[tuple[str, str], float]:
    truth = sim.model.ground_truth()
    return {
        (p["wallet"], p["asset"]): float(p["size"])
        for p in truth["positions"] + truth["archived_positions"]
        if float(p["size"]) > 0
    }


def stored_holdings(engine: Engine) -> dict[tuple[str, str], float]:
    return {
        (r["wallet_address"], r["asset"]): float(r["shares"])
        for r in rows(engine, "position_pnl", where="shares > 0")
    }


def api_positions(sim: SimulatorServer, wallet: str) -> dict[str, dict[str, Any]]:
    """The simulator's ``/v2/positions`` rows of a wallet, open and closed, archived markets too."""
    out: dict[str, dict[str, Any]] = {}
    for status in ("OPEN", "CLOSED"):
        params = {"user": wallet, "status": status, "limit": 1000, "include_archived": "true"}
        response = httpx.get(f"{sim.data_api_url}/v2/positions", params=params, timeout=10)
        response.raise_for_status()
        out.update({p["token_id"]: p for p in response.json()["data"]})
    return out


def ctf_wallets(engine: Engine) -> set[str]:
    kinds = ", ".join(f"'{k}'" for k in CTF)
    return {r["wallet_address"] for r in rows(engine, "activity_public", where=f"type IN ({kinds})")}


def compare_with_simulator(sim: SimulatorServer, engine: Engine) -> int:
    """Shares per (wallet, asset) against the ground truth; realized PnL and avg per position against
    ``/v2/positions`` for every wallet, splits, merges and conversions included (the simulator keeps
    the subgraph's accounting: $0.50 legs, the conversion's YES price). Returns positions compared."""
    held = truth_holdings(sim)
    assert stored_holdings(engine) == pytest.approx(held, abs=1e-9)
    ours = {(r["wallet_address"], r["asset"]): r for r in rows(engine, "position_pnl")}
    compared = 0
    for wallet in sim.model.wallets:
        for asset, api in api_positions(sim, wallet).items():
            mine = ours[(wallet, asset)]
            assert float(mine["realized_pnl"]) == pytest.approx(
                float(api["realized_pnl"]), abs=REALIZED_TOLERANCE
            )
            if float(api["current_size"]) > 0:
                assert float(mine["avg_price"]) == pytest.approx(float(api["avg_price"]), abs=1e-6)
            compared += 1
    return compared


def test_pnl_of_a_swept_simulator_matches_its_ground_truth_then_stays_exact_incrementally(
    sim: SimulatorServer, engine: Engine, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sweep_into(sim, engine)
    first = update_pnl(engine, now=datetime.now(UTC))
    assert first.wallets_replayed == len(sim.model.wallets)
    assert sim.model.ground_truth()["conversions"], "the seed should convert (its YES legs are compared)"
    assert 3 <= len(ctf_wallets(engine)) < len(sim.model.wallets)
    assert compare_with_simulator(sim, engine) > 100
    stats = rows(engine, "trader_stats")
    assert all(s["complete"] for s in stats)  # whole histories swept, every market known
    assert sum(s["conversions"] for s in stats) >= 1

    # live trading, a market resolving and a redeem; the next sweep stores them, the next run applies
    # them. One settlement per second: within a second pnl.md applies a token's BUYs before its SELLs,
    # where the simulator keeps its own sequence (chain order), so same-second pairs would differ by rule.
    open_markets = [m for m in sim.model.markets if not m.closed and not m.neg_risk]
    start = int(datetime.now(UTC).timestamp()) - 120
    for i in range(25):
        sim.model.generate_trades(1, timestamp=start + 3 * i)
    resolved = open_markets[0]
    sim.model.resolve_market(resolved.condition_id, 0)
    holders = {v.wallet for v in sim.model.position_views(condition_id=resolved.condition_id, held_only=True)}
    if holders:
        sim.model.redeem(sorted(holders)[0], resolved.condition_id)
    sweep_into(sim, engine)
    second = update_pnl(engine, now=datetime.now(UTC))
    assert second.new_rows > 0
    assert second.replay_reasons.get("market_changed", 0) >= 1  # the resolution replayed its holders
    # ... in that condition only, except a wallet with conversions (replayed whole)
    assert set(second.replay_reasons) <= {"market_changed", "late_with_conversions"}
    assert second.wallets_replayed == second.replay_reasons.get("late_with_conversions", 0)
    assert second.conditions_replayed == second.replay_reasons["market_changed"]
    compare_with_simulator(sim, engine)
    today = datetime.now(UTC).date().isoformat()

    with twin_engine(request, db_url, tmp_path) as fresh:
        sweep_into(sim, fresh)
        update_pnl(fresh, now=datetime.now(UTC))
        ours, theirs = snapshot_of(engine, today), snapshot_of(fresh, today)
        assert ours["position_pnl"] == theirs["position_pnl"]
        assert ours == theirs
