"""Deprecated shim over :mod:`polymarket_pipeline.settings`, kept for callers not yet moved.

Every value comes from the settings (environment, ``.env``, defaults); nothing is read here.
"""

from __future__ import annotations

from pathlib import Path

from polymarket_pipeline.settings import (
    DEFAULT_CLOB_API_URL,
    DEFAULT_DATA_API_URL,
    DEFAULT_GAMMA_API_URL,
    load_settings,
)

__all__ = [
    "DEFAULT_CLOB_API_URL",
    "DEFAULT_DATA_API_URL",
    "DEFAULT_GAMMA_API_URL",
    "data_dir",
    "database_url",
    "default_database_url",
]


def data_dir() -> Path:
    """The local data folder (``POLYMARKET_DATA_DIR``, default ``./data``)."""
    return load_settings().data_dir


def database_url() -> str:
    """The application database URL in effect (``POLYMARKET_DATABASE_URL``, ``.env`` or the default)."""
    return load_settings().app_database_url


def default_database_url() -> str:
    """What an unconfigured ``DatabaseResource`` uses: the URL the settings resolve where it runs."""
    return load_settings().app_database_url
