"""The resources, built from the settings where the code loads (code server, run worker, CLI).

Optional settings (API URLs, version, rate limits) become plain values: each process that loads
the code reads its own environment and ``.env``, so a run launcher never has to forward them
(with ``dg.EnvVar`` every variable set in the code server became *required* in the run worker).
Only the database URL stays an ``EnvVar``, because it may carry a password: Dagster then stores
and shows the variable's *name* (``{"env": "POLYMARKET_DATABASE_URL"}``) in the job snapshot,
launchpad and run config, and resolves the value inside the run, so the password never enters
the definitions. When the variable is not exported (the default SQLite file, or a URL that only a
``.env`` file holds) the resource gets an empty URL and resolves it from the settings inside the
run, again without baking it in.
"""

from __future__ import annotations

import dagster as dg

from polymarket_pipeline.defs.resources import DatabaseResource, PolymarketApiResource
from polymarket_pipeline.settings import DATABASE_URL_VARIABLE, Settings, is_exported, load_settings


def polymarket_api_from_settings(settings: Settings) -> PolymarketApiResource:
    return PolymarketApiResource(
        data_api_url=settings.data_api_url,
        clob_api_url=settings.clob_api_url,
        gamma_api_url=settings.gamma_api_url,
        data_api_version=settings.data_api_version,
        hot_rate_limit=settings.hot_rate_limit,
        hot_burst=settings.hot_burst,
        cold_rate_limit=settings.cold_rate_limit,
        cold_burst=settings.cold_burst,
    )


SECRET_VARIABLES = ("POLYMARKET_DATABASE_URL",)
"""The only variables a run worker must have (the launcher forwards them); spelled out for greps."""
assert SECRET_VARIABLES == (DATABASE_URL_VARIABLE,)


def database_from_settings() -> DatabaseResource:
    """An ``EnvVar`` when the URL is exported (a secret stays out of the definitions), else empty."""
    if is_exported("POLYMARKET_DATABASE_URL"):
        return DatabaseResource(url=dg.EnvVar("POLYMARKET_DATABASE_URL"))
    return DatabaseResource(url="")


def resources_from_settings(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or load_settings()
    return {"polymarket": polymarket_api_from_settings(settings), "database": database_from_settings()}


def resources_from_env() -> dict[str, object]:
    """The code location's resources (``definitions.py`` calls this at import)."""
    return resources_from_settings(load_settings())
