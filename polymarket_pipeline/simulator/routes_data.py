"""The Data API, by version: one module per version, so retiring v1 is deleting its file and line."""

from __future__ import annotations

from starlette.routing import Route

from polymarket_pipeline.simulator.context import SimContext
from polymarket_pipeline.simulator.routes_data_v1 import v1_routes
from polymarket_pipeline.simulator.routes_data_v2 import v2_routes


def data_routes(ctx: SimContext) -> list[Route]:
    return [*v1_routes(ctx), *v2_routes(ctx)]
