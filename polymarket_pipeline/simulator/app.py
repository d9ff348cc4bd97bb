"""The Starlette app: Data API under /data, CLOB under /clob, Gamma under /gamma, admin under /_sim.

One port serves all three APIs, so a pipeline is pointed at the simulator by three base URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount

from polymarket_pipeline.simulator.admin import admin_routes
from polymarket_pipeline.simulator.context import SimContext
from polymarket_pipeline.simulator.faults import FaultInjector
from polymarket_pipeline.simulator.limits import RateLimiter
from polymarket_pipeline.simulator.model import MarketModel, SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestLog
from polymarket_pipeline.simulator.routes_clob import clob_routes
from polymarket_pipeline.simulator.routes_data import data_routes
from polymarket_pipeline.simulator.routes_gamma import gamma_routes

logger = logging.getLogger(__name__)

LIVE_TICK_SECONDS = 0.05
MAX_LIVE_PER_TICK = 500


def build_context(config: SimulatorConfig | None = None, model: MarketModel | None = None) -> SimContext:
    """The model (built from the config unless given) plus fresh faults, limits and request log."""
    if model is None:
        model = MarketModel(config or SimulatorConfig())
    cfg = model.config
    return SimContext(
        config=cfg,
        model=model,
        faults=FaultInjector(seed=cfg.seed),
        log=RequestLog(cfg.request_log_size),
        limiter=RateLimiter(cfg.rate_limits, cfg.rate_window_seconds, enabled=cfg.enforce_limits),
    )


async def live_trades(ctx: SimContext) -> None:
    """Generate settlements at the model's current live rate (changeable at run time)."""
    carry = 0.0
    last = time.monotonic()
    while True:
        await asyncio.sleep(LIVE_TICK_SECONDS)
        now = time.monotonic()
        rate = ctx.model.live_trades_per_second
        carry = carry + rate * (now - last) if rate > 0 else 0.0
        last = now
        n = min(int(carry), MAX_LIVE_PER_TICK)
        if n:
            carry -= n
            try:
                ctx.model.generate_trades(n)
            except Exception:  # keep the feed alive; a bad tick is not worth killing the server
                logger.exception("live trade generation failed")


def create_app(ctx: SimContext) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(live_trades(ctx))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = Starlette(
        routes=[
            Mount("/data", routes=data_routes(ctx)),
            Mount("/clob", routes=clob_routes(ctx)),
            Mount("/gamma", routes=gamma_routes(ctx)),
            Mount("/_sim", routes=admin_routes(ctx)),
        ],
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
