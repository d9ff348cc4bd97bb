"""Settings: defaults as documented, the .env file, one-line validation errors, and resources that
never make an optional setting a required variable of the run launcher."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster_shared.serdes import serialize_value

from polymarket_pipeline.settings import (
    DATABASE_URL_VARIABLE,
    SettingsError,
    env_names,
    load_settings,
    settings_lines,
)

OPTIONAL = {
    "POLYMARKET_DATA_API_URL": "http://127.0.0.1:9/data",
    "POLYMARKET_CLOB_API_URL": "http://127.0.0.1:9/clob",
    "POLYMARKET_GAMMA_API_URL": "http://127.0.0.1:9/gamma",
    "POLYMARKET_DATA_API_VERSION": "v1",
    "POLYMARKET_HOT_RATE_LIMIT": "2.5",
    "POLYMARKET_HOT_BURST": "7",
    "POLYMARKET_COLD_RATE_LIMIT": "1",
    "POLYMARKET_COLD_BURST": "3",
}
SECRET = "s3cr3t-pw"


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No setting in the environment, and an empty working directory (so no .env)."""
    for name in [*env_names().values(), "POLYMARKET_ENV_FILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_are_the_documented_ones(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.app_database_url == f"sqlite:///{clean_env / 'data' / 'polymarket.sqlite'}"
    assert settings.data_dir == clean_env / "data"
    assert settings.data_api_url == "https://data-api.polymarket.com"
    assert settings.clob_api_url == "https://clob.polymarket.com"
    assert settings.gamma_api_url == "https://gamma-api.polymarket.com"
    assert settings.data_api_version == "v2"
    assert (settings.hot_rate_limit, settings.hot_burst) == (10, 20)
    assert (settings.cold_rate_limit, settings.cold_burst) == (5, 10)
    assert settings.history_start == date(2020, 6, 1)
    assert settings.integrations_start == date(2026, 1, 1)
    assert settings.simulator == "on"
    assert settings.database_statement_timeout_ms == 60_000
    assert settings.database_lock_timeout_ms == 10_000
    assert settings.dagster_home is None


def test_env_file_is_read_and_the_environment_wins(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text(
        "# a comment\n"
        "POLYMARKET_DATA_API_URL=http://127.0.0.1:8765/data/\n"
        "POLYMARKET_COLD_BURST=4\n"
        f"POLYMARKET_DATABASE_URL='postgresql+psycopg://app:{SECRET}@db:5432/app'\n"
        "DAGSTER_HOME=home\n"
        "UNRELATED_TOOL_SETTING=1\n"
    )
    settings = load_settings()
    assert settings.data_api_url == "http://127.0.0.1:8765/data"  # trailing slash dropped
    assert settings.cold_burst == 4
    assert settings.app_database_url == f"postgresql+psycopg://app:{SECRET}@db:5432/app"
    assert SECRET not in settings.masked_database_url
    assert SECRET not in repr(settings)
    assert settings.dagster_home == clean_env / "home"  # made absolute where it was read

    monkeypatch.setenv("POLYMARKET_COLD_BURST", "9")
    assert load_settings().cold_burst == 9
    monkeypatch.setenv("POLYMARKET_COLD_BURST", "")  # empty counts as unset: the file's value holds
    assert load_settings().cold_burst == 4


def test_env_file_can_be_moved_or_switched_off(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("POLYMARKET_HOT_BURST=3\n")
    (clean_env / "other.env").write_text("POLYMARKET_HOT_BURST=5\n")
    monkeypatch.setenv("POLYMARKET_ENV_FILE", str(clean_env / "other.env"))
    assert load_settings().hot_burst == 5
    monkeypatch.setenv("POLYMARKET_ENV_FILE", "")
    assert load_settings().hot_burst == 20


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("POLYMARKET_HOT_RATE_LIMIT", "fast", "must be a valid number"),
        ("POLYMARKET_HOT_RATE_LIMIT", "-1", "greater than 0"),
        ("POLYMARKET_COLD_RATE_LIMIT", "0", "greater than 0"),
        ("POLYMARKET_COLD_RATE_LIMIT", "nan", "finite"),
        ("POLYMARKET_HOT_BURST", "1.5", "integer"),
        ("POLYMARKET_COLD_BURST", "0", "greater than or equal to 1"),
        ("POLYMARKET_DATA_API_VERSION", "v3", "'v1' or 'v2'"),
        ("POLYMARKET_DATA_API_URL", "data-api.polymarket.com", "http:// or https://"),
        ("POLYMARKET_GAMMA_API_URL", "ftp://gamma", "http:// or https://"),
        ("POLYMARKET_HISTORY_START", "2020-13-01", "date"),
        ("POLYMARKET_INTEGRATIONS_START", "2999-01-01", "future"),
        ("POLYMARKET_SIMULATOR", "of", "'on' or 'off'"),
        ("POLYMARKET_DATABASE_STATEMENT_TIMEOUT_MS", "-5", "greater than or equal to 0"),
        ("POLYMARKET_DATABASE_URL", f"postgresql+asyncpg://u:{SECRET}@h/db", "'postgresql+asyncpg'"),
        ("POLYMARKET_DATABASE_URL", f"mysql://u:{SECRET}@h/db", "supported are sqlite://"),
        ("POLYMARKET_DATABASE_URL", f"u:{SECRET} not a url", "not a database URL"),
        ("POLYMARKET_DATABASE_URL", f"postgresql://u:{SECRET}@h", "names no database"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message
    assert SECRET not in message


def test_settings_lines_are_shell_and_dotenv_syntax(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://app:{SECRET}@db:5432/app db"
    monkeypatch.setenv(DATABASE_URL_VARIABLE, url)
    settings = load_settings()
    masked = settings_lines(settings, fields=["database_url", "hot_rate_limit", "dagster_home"])
    assert masked == [
        "POLYMARKET_DATABASE_URL='postgresql+psycopg://app:***@db:5432/app db'",
        "POLYMARKET_HOT_RATE_LIMIT=10",
        "DAGSTER_HOME=",
    ]
    (clean_env / ".env").write_text("\n".join(settings_lines(settings, reveal=True)))
    monkeypatch.delenv(DATABASE_URL_VARIABLE)
    assert load_settings() == settings  # what it prints reads back to the same settings


def _definitions_with(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from polymarket_pipeline.definitions import build_definitions
    from polymarket_pipeline.defs.environment import resources_from_env

    return build_definitions(resources_from_env())


def test_optional_settings_are_plain_values_so_a_run_never_requires_them(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DockerRunLauncher failed with 'Tried to load environment variable
    POLYMARKET_DATA_API_VERSION, but it was not set': every variable set where the code loaded
    was an EnvVar the run worker then required. Now only the database URL (a secret) is one."""
    url = f"postgresql+psycopg://app:{SECRET}@db:5432/app"
    defs = _definitions_with({**OPTIONAL, DATABASE_URL_VARIABLE: url}, monkeypatch)
    repository = defs.get_repository_def()
    assert dict(repository.get_env_vars_by_top_level_resource()) == {DATABASE_URL_VARIABLE: {"database"}}

    api = defs.resources["polymarket"]
    values = {name: getattr(api, name) for name in type(api).model_fields}
    assert not [name for name, value in values.items() if isinstance(value, dg.EnvVar)]
    settings = api.settings("hot")  # type: ignore[attr-defined]
    assert (settings.data_api_url, settings.data_api_version) == ("http://127.0.0.1:9/data", "v1")
    assert (settings.rate_limit, settings.burst) == (2.5, 7)
    assert (api.settings("cold").rate_limit, api.settings("cold").burst) == (1.0, 3)  # type: ignore[attr-defined]

    # The password is not in what Dagster stores and serves for the code location: the
    # repository snapshot (job snapshots, resource config, launchpad defaults) names the variable.
    snapshot = serialize_value(RepositorySnap.from_def(repository))
    assert SECRET not in snapshot
    assert DATABASE_URL_VARIABLE in snapshot


def test_without_an_exported_database_url_nothing_is_required(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default SQLite file (or a URL only .env holds) is resolved from the settings in the run."""
    (clean_env / ".env").write_text(
        f"POLYMARKET_DATABASE_URL=sqlite:///{clean_env / 'from-env-file.sqlite'}\n"
    )
    defs = _definitions_with({}, monkeypatch)
    assert dict(defs.get_repository_def().get_env_vars_by_top_level_resource()) == {}
    database = defs.resources["database"]
    assert database.url == ""  # type: ignore[attr-defined]
    assert database.resolved_url() == f"sqlite:///{clean_env / 'from-env-file.sqlite'}"  # type: ignore[attr-defined]
    assert os.environ.get(DATABASE_URL_VARIABLE) is None
