"""Resources wired to the environment variables of the public contract."""

from __future__ import annotations

import os

import dagster as dg

from polymarket_pipeline import config
from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource


def _str(name: str, default: str) -> str | dg.EnvVar:
    """An ``EnvVar`` when the variable is set (resolved where the run executes), else the default."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def _int(name: str, default: int) -> int | dg.EnvVar:
    return dg.EnvVar.int(name) if os.environ.get(name) else default


def polymarket_api_from_env() -> PolymarketApiResource:
    return PolymarketApiResource(
        data_api_url=_str("POLYMARKET_DATA_API_URL", config.DEFAULT_DATA_API_URL),
        clob_api_url=_str("POLYMARKET_CLOB_API_URL", config.DEFAULT_CLOB_API_URL),
        gamma_api_url=_str("POLYMARKET_GAMMA_API_URL", config.DEFAULT_GAMMA_API_URL),
        data_api_version=_str("POLYMARKET_DATA_API_VERSION", "v2"),
        hot_rate_limit=_str("POLYMARKET_HOT_RATE_LIMIT", "10"),
        hot_burst=_int("POLYMARKET_HOT_BURST", 20),  # type: ignore[arg-type]  # EnvVar resolves at run time
        cold_rate_limit=_str("POLYMARKET_COLD_RATE_LIMIT", "5"),
        cold_burst=_int("POLYMARKET_COLD_BURST", 10),  # type: ignore[arg-type]
    )


def database_from_env() -> DatabaseResource:
    return DatabaseResource(url=_str("POLYMARKET_DATABASE_URL", ""))


def resources_from_env() -> dict[str, object]:
    return {"polymarket": polymarket_api_from_env(), "database": database_from_env()}
