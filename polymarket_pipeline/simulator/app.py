"""The Starlette app: Data API under /data, CLOB under /clob, Gamma under /gamma, admin under /_sim.

One port serves all three APIs, so a pipeline is pointed at the simulator by three base URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount

from polymarket_pipeline.simulator.admin import admin_routes
from polymarket_pipeline.simulator.clock import run_live_tape
from polymarket_pipeline.simulator.context import SimContext
from polymarket_pipeline.simulator.edgecache import EdgeCache
from polymarket_pipeline.simulator.faults import FaultInjector
from polymarket_pipeline.simulator.hostile import install_log_filter
from polymarket_pipeline.simulator.limits import RateLimiter
from polymarket_pipeline.simulator.live import LiveEvents, run_live_events
from polymarket_pipeline.simulator.model import MarketModel, SimulatorConfig
from polymarket_pipeline.simulator.requestlog import RequestLog
from polymarket_pipeline.simulator.routes_clob import clob_routes
from polymarket_pipeline.simulator.routes_data import data_routes
from polymarket_pipeline.simulator.routes_gamma import gamma_routes


def build_context(config: SimulatorConfig | None = None, model: MarketModel | None = None) -> SimContext:
    """The model (built from the config unless given) plus fresh faults, limits, cache and request log."""
    if model is None:
        model = MarketModel(config or SimulatorConfig())
    cfg = model.config
    return SimContext(
        config=cfg,
        model=model,
        faults=FaultInjector(seed=cfg.seed),
        log=RequestLog(cfg.request_log_size),
        limiter=RateLimiter(cfg.rate_limits, cfg.rate_window_seconds, enabled=cfg.enforce_limits),
        edge=EdgeCache(cfg.edge_cache_seconds, cfg.edge_cache_routes),
    )


def create_app(ctx: SimContext) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        install_log_filter()
        cfg = ctx.config
        events = LiveEvents(ctx.model, seed=cfg.seed, wallets=cfg.live_event_wallets)
        tasks = [
            asyncio.create_task(run_live_tape(ctx.model)),
            asyncio.create_task(run_live_events(events, cfg.live_events_per_minute)),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            ctx.model.close()  # flush and release the state file

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
