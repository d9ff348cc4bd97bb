"""Helpers shared by tests that compare the database with the simulator's ground truth."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from polymarket_pipeline.api.client import PolymarketClient
from polymarket_pipeline.api.settings import ClientSettings
from polymarket_pipeline.db import wallets
from polymarket_pipeline.simulator.server import SimulatorServer
from polymarket_pipeline.sync.sweep import SweepOptions, SweepStats, sweep
from polymarket_pipeline.sync.wallet_poll import PollPlan

FillKey = tuple[str, str, str, str, float, float, int]


def fast_settings(sim: SimulatorServer, **overrides: Any) -> ClientSettings:
    """Client settings for tests: the simulator's URLs, a generous rate, no cooldown."""
    values: dict[str, Any] = {
        "data_api_url": sim.data_api_url,
        "clob_api_url": sim.clob_api_url,
        "gamma_api_url": sim.gamma_api_url,
        "rate_limit": 500.0,
        "burst": 100,
        "wallet_cooldown_seconds": 0.0,
        "backoff_base_seconds": 0.05,
        "read_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return ClientSettings(**values)


def random_wallets(n: int, seed: int) -> list[str]:
    """``n`` well-formed wallet addresses, the same for the same seed."""
    rng = random.Random(seed)
    return [f"0x{rng.getrandbits(160):040x}" for _ in range(n)]


def adaptive_sweep(
    sim: SimulatorServer, engine: Engine, wallets_: list[str] | None = None, now: datetime | None = None
) -> SweepStats:
    """A cold sweep as the hourly schedule runs it (positions first; history when changed or due)
    over ``wallets_`` (default: every simulator wallet), at ``now`` if given."""
    options = SweepOptions(plan=PollPlan(verify_every=timedelta(hours=12)))
    chosen = sim.model.wallets if wallets_ is None else wallets_

    async def main() -> SweepStats:
        async with PolymarketClient(fast_settings(sim)) as client:
            clock = (lambda: now) if now else (lambda: datetime.now(UTC))
            return await sweep(client, engine, chosen, options=options, now=clock)

    return asyncio.run(main())


def register(engine: Engine, addresses: Iterable[str], *, hot: bool | None = None) -> None:
    with engine.begin() as connection:
        wallets.register_wallets(connection, list(addresses), hot=hot)


def truth_fills(truth: dict[str, Any], wallets_: Iterable[str] | None = None) -> Counter[FillKey]:
    wanted = set(wallets_) if wallets_ is not None else None
    return Counter(
        (f["wallet"], f["transaction_hash"].lower(), f["asset"], f["side"], float(f["size"]),
         float(f["price"]), int(f["timestamp"]))
        for f in truth["fills"]
        if wanted is None or f["wallet"] in wanted
    )  # fmt: skip


def stored_fills(engine: Engine, wallets_: Iterable[str] | None = None) -> Counter[FillKey]:
    """Stored fills as natural keys (of ``wallets_`` only, when given)."""
    counted = _stored_fills(engine)
    if wallets_ is None:
        return counted
    wanted = set(wallets_)
    return Counter({k: v for k, v in counted.items() if k[0] in wanted})


def _stored_fills(engine: Engine) -> Counter[FillKey]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT wallet_address, transaction_hash, asset, side, size, price, traded_at "
                "FROM trades_public"
            )
        ).all()
    return Counter((r[0], r[1].lower(), r[2], r[3], float(r[4]), float(r[5]), _epoch(r[6])) for r in rows)


def _epoch(value: Any) -> int:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def truth_positions(truth: dict[str, Any], floor: float = 0.1) -> dict[tuple[str, str], float]:
    return {
        (p["wallet"], p["asset"]): float(p["size"]) for p in truth["positions"] if float(p["size"]) >= floor
    }


def stored_positions(engine: Engine) -> dict[tuple[str, str], float]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT wallet_address, asset, size FROM positions_current")).all()
    return {(r[0], r[1]): float(r[2]) for r in rows}


def stored_closes(engine: Engine) -> Counter[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT wallet_address, asset, reason FROM positions_closed")).all()
    return Counter((r[0], r[1], r[2]) for r in rows)
