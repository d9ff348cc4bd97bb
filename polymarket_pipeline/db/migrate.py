"""Schema migrations (Alembic), run programmatically so the CLI and tests share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from polymarket_pipeline.db.engine import reading

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class SchemaNotCurrentError(RuntimeError):
    """The database schema is missing or older than this code expects."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with reading(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema; a no-op when it is already at ``revision``."""
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrentError` unless the schema is at the head revision."""
    current = current_revision(engine)
    if current != head_revision():
        state = "has no schema" if current is None else f"is at revision {current}"
        raise SchemaNotCurrentError(
            f"the application database {state}, expected {head_revision()}: "
            "run `polymarket-pipeline db upgrade`"
        )
