"""Every setting of the pipeline, read and validated in one place.

Values come from the process environment, then from a ``.env`` file in the working directory
(``scripts/dev.sh`` writes one so a second shell reaches the same simulator, database and Dagster
instance), then from the defaults below. ``POLYMARKET_ENV_FILE`` names another file; set it empty
to read no file at all. Empty variables count as unset, as ``${VAR:-}`` in compose files produces.

A bad value is reported as one line naming the variable (:class:`SettingsError`), never a
traceback, so the CLI, ``dagster dev`` and a code server fail the same readable way.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from polymarket_pipeline.api.settings import ClientSettings

_CLIENT = ClientSettings()
"""The API's own defaults (URLs, version): written once, in ``api.settings``."""

ENV_PREFIX = "POLYMARKET_"
ENV_FILE_VARIABLE = "POLYMARKET_ENV_FILE"
DEFAULT_ENV_FILE = ".env"
DATABASE_URL_VARIABLE = "POLYMARKET_DATABASE_URL"

SUPPORTED_DATABASE_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",  # SQLAlchemy 2 maps the bare name to psycopg 3 too
    "postgresql+psycopg": "postgresql+psycopg",
}
"""Accepted URL schemes and the driver each one runs on (the bulk COPY path needs psycopg 3)."""

SUPPORTED_DATABASE_URLS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable(s)."""


class DatabaseUrlError(ValueError):
    """A database URL that is malformed or names an unsupported driver (the URL is never echoed)."""


def parse_database_url(url: str) -> URL:
    """The parsed URL with its driver made explicit, or :class:`DatabaseUrlError`.

    The message never contains the URL itself: it may carry a password.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # ArgumentError quotes the URL; keep it out of the message
        raise DatabaseUrlError(f"is not a database URL: expected {SUPPORTED_DATABASE_URLS}") from exc
    driver = SUPPORTED_DATABASE_DRIVERS.get(parsed.drivername)
    if driver is None:
        supported = ", ".join(f"{name}://" for name in SUPPORTED_DATABASE_DRIVERS)
        raise DatabaseUrlError(
            f"uses the unsupported driver {parsed.drivername!r}: supported are {supported} "
            f"(e.g. {SUPPORTED_DATABASE_URLS})"
        )
    if driver.startswith("postgresql") and not parsed.database:
        raise DatabaseUrlError("names no database: expected postgresql+psycopg://USER@HOST:PORT/DATABASE")
    return parsed.set(drivername=driver)


def mask_database_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and ``settings`` output)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
    return value.strip().rstrip("/")


RequestsPerSecond = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Burst = Annotated[int, Field(ge=1, le=100_000)]
Milliseconds = Annotated[int, Field(ge=0, le=86_400_000)]


class Settings(BaseSettings):
    """The pipeline's settings (``POLYMARKET_*`` variables, plus ``DAGSTER_HOME`` for the CLI)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="ignore",  # .env may hold other tools' variables (dagster dev reads the same file)
        frozen=True,
        populate_by_name=True,
    )

    database_url: SecretStr | None = Field(
        default=None,
        description="Application database (sqlite:///… or postgresql+psycopg://…); "
        "default: polymarket.sqlite in the data folder. A secret: it may carry a password.",
    )
    data_dir: Path = Field(
        default=Path("data"), description="Local data folder (the default database, simulator files)."
    )
    data_api_url: str = Field(default=_CLIENT.data_api_url, description="Data API base URL.")
    clob_api_url: str = Field(default=_CLIENT.clob_api_url, description="CLOB API base URL.")
    gamma_api_url: str = Field(default=_CLIENT.gamma_api_url, description="Gamma API base URL.")
    data_api_version: Literal["v1", "v2"] = Field(
        default=_CLIENT.data_api_version, description="v2 (cursor paging) or v1 (legacy offsets)."
    )
    hot_rate_limit: RequestsPerSecond = Field(default=10.0, description="Hot tier requests per second.")
    hot_burst: Burst = Field(default=20, description="Hot tier token-bucket burst.")
    cold_rate_limit: RequestsPerSecond = Field(
        default=5.0, description="Cold tier and integrations requests per second."
    )
    cold_burst: Burst = Field(default=10, description="Cold tier and integrations burst.")
    cold_shards: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Runs the hourly cold sweep is split into (by wallet address); with "
        "PostgreSQL they share one rate budget and may run in parallel containers.",
    )
    history_start: date = Field(
        default=date(2020, 6, 1), description="First day offered for trades_history backfills."
    )
    integrations_start: date = Field(
        default=date(2026, 1, 1), description="First partition of the integrations assets."
    )
    simulator: Literal["on", "off"] = Field(
        default="on", description="off makes scripts/dev.sh use the real APIs."
    )
    database_statement_timeout_ms: Milliseconds = Field(
        default=60_000,
        description="PostgreSQL statement_timeout of the application database (0 = none).",
    )
    database_lock_timeout_ms: Milliseconds = Field(
        default=10_000,
        description="PostgreSQL lock_timeout of the application database (0 = none).",
    )
    dagster_home: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("DAGSTER_HOME", "dagster_home"),
        description="Dagster instance the CLI records its runs in (none: an ephemeral instance).",
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                parse_database_url(value.get_secret_value())
            except DatabaseUrlError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("data_api_url", "clob_api_url", "gamma_api_url")
    @classmethod
    def _check_http_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("data_dir", "dagster_home")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """Resolved once, against the directory the settings were read in."""
        return None if value is None else value.expanduser().absolute()

    @field_validator("history_start", "integrations_start")
    @classmethod
    def _not_in_the_future(cls, value: date) -> date:
        if value > datetime.now(UTC).date():
            raise ValueError(f"must not be in the future, got {value.isoformat()}")
        return value

    # ----------------------------------------------------------------------------- derived values
    @property
    def app_database_url(self) -> str:
        """The application database URL in effect (configured, or the SQLite file in ``data_dir``)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'polymarket.sqlite'}"

    @property
    def masked_database_url(self) -> str:
        return mask_database_url(self.app_database_url)


def env_name(field: str) -> str:
    """The environment variable of a settings field (``hot_burst`` -> ``POLYMARKET_HOT_BURST``)."""
    info = Settings.model_fields[field]
    if isinstance(info.validation_alias, AliasChoices):
        first = info.validation_alias.choices[0]
        assert isinstance(first, str)
        return first
    return f"{ENV_PREFIX}{field.upper()}"


def env_names() -> dict[str, str]:
    """Every settings field and its variable, in declaration order."""
    return {field: env_name(field) for field in Settings.model_fields}


def env_file() -> Path | None:
    """The ``.env`` file the settings read: ``POLYMARKET_ENV_FILE``, else ``./.env`` ("" = none)."""
    configured = os.environ.get(ENV_FILE_VARIABLE)
    if configured is None:
        return Path(DEFAULT_ENV_FILE)
    return Path(configured) if configured.strip() else None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings (environment, then the ``.env`` file, then defaults) or raise SettingsError.

    Not cached: tests and the CLI change the environment, and reading is cheap.
    """
    try:
        return Settings(_env_file=env_file(), **overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """One line, each problem as ``VARIABLE: what is wrong (got value)``; secrets are never shown."""
    problems = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = env_name(field) if field in Settings.model_fields else field
        message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be", 1)
        if field != "database_url" and "got " not in message:
            message += f" (got {error.get('input')!r})"
        problems.append(f"{name}: {message}")
    return "; ".join(problems)


def is_exported(name: str) -> bool:
    """Whether ``name`` is set (non-empty) in this process's environment, not only in ``.env``."""
    return bool(os.environ.get(name, "").strip())


def settings_lines(
    settings: Settings, *, fields: Iterable[str] | None = None, reveal: bool = False
) -> list[str]:
    """``NAME=value`` lines (shell- and dotenv-quoted) for ``fields`` (default: all).

    The database URL is masked unless ``reveal``; it is shown as the URL in effect, so the default
    SQLite file is spelled out.
    """
    lines = []
    for field in fields or Settings.model_fields:
        if field == "database_url":
            value: object = settings.app_database_url if reveal else settings.masked_database_url
        else:
            value = getattr(settings, field)
        text = "" if value is None else value.isoformat() if isinstance(value, date) else str(value)
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        lines.append(f"{env_name(field)}={shlex.quote(text) if text else ''}")
    return lines


def field_for_env_name(name: str) -> str:
    """The settings field of a variable name (case-insensitive), or :class:`SettingsError`."""
    by_name = {variable.upper(): field for field, variable in env_names().items()}
    field = by_name.get(name.upper())
    if field is None:
        raise SettingsError(f"unknown setting {name!r}: known are {', '.join(env_names().values())}")
    return field
