"""Alembic environment; run through ``safenum db upgrade`` (app_api.migrate)."""

from __future__ import annotations

from alembic import context

from app_api.model_registry import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called with a connection
    raise RuntimeError("run migrations through safenum db upgrade")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
