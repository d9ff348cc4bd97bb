"""Schema migrations (Alembic), run programmatically so the CLI and tests share one path.

A database is in one of four states for this code: empty, older (a known revision before the
head: ``db upgrade`` migrates it), current, or *newer* (a revision this code does not know: a
newer release migrated it). The last one is refused by both :func:`ensure_current` and
:func:`upgrade` with advice that works, because Alembic itself cannot migrate from a revision it
has no script for and would fail with a long traceback.
"""

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
    """The database schema is missing or older than this code expects (``db upgrade`` fixes it)."""


class SchemaTooNewError(SchemaNotCurrentError):
    """The database was migrated by a newer release: this code must be upgraded, not the schema."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        super().__init__(
            f"this database was migrated by a newer polymarket_pipeline (revision {revision}, "
            f"unknown to this version, whose latest is {head_revision()}): upgrade the code "
            "(pip install the newer release) instead of the schema"
        )


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this code has a migration script for."""
    return {script.revision for script in _scripts().walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with reading(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _refuse_newer(current: str | None) -> None:
    if current is not None and current not in known_revisions():
        raise SchemaTooNewError(current)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema; a no-op when it is already at ``revision``.

    Refuses (:class:`SchemaTooNewError`) a database stamped by a newer release. On PostgreSQL the
    statement timeout is lifted for the migration (an index build on a large table may take longer
    than any single query should), while the lock timeout stays: a migration queued behind a
    running sweep fails after it instead of blocking every other writer meanwhile.
    """
    _refuse_newer(current_revision(engine))
    config = _config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrentError` unless the schema is at the head revision."""
    current = current_revision(engine)
    _refuse_newer(current)
    if current != head_revision():
        state = "has no schema" if current is None else f"is at revision {current}"
        raise SchemaNotCurrentError(
            f"the application database {state}, expected {head_revision()}: "
            "run `polymarket-pipeline db upgrade`"
        )
