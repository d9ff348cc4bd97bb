"""Configuration read from the environment (the names are the public contract in the README)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_API_URL = "https://data-api.polymarket.com"
DEFAULT_CLOB_API_URL = "https://clob.polymarket.com"
DEFAULT_GAMMA_API_URL = "https://gamma-api.polymarket.com"


def data_dir() -> Path:
    """The project's local data folder (``POLYMARKET_DATA_DIR``, default ``./data``)."""
    return Path(os.environ.get("POLYMARKET_DATA_DIR") or Path.cwd() / "data")


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'polymarket.sqlite'}"


def database_url() -> str:
    """``POLYMARKET_DATABASE_URL`` or the SQLite file in the local data folder."""
    return os.environ.get("POLYMARKET_DATABASE_URL") or default_database_url()
