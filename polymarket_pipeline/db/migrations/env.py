"""Alembic environment: runs on the connection handed over by ``polymarket_pipeline.db.migrate``."""

from __future__ import annotations

from alembic import context

from polymarket_pipeline.db.schema import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the plain alembic CLI
    raise RuntimeError("run migrations with `polymarket-pipeline db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
