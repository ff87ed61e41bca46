"""Apply Alembic migrations from the installed package, with no alembic.ini to find."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def _run(engine: Engine, fn: str, revision: str) -> None:
    cfg = alembic_config(engine)
    # A plain connection, not engine.begin(): SQLite's BEGIN IMMEDIATE hook must not wrap
    # Alembic's own transaction handling twice.
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, fn)(cfg, revision)
        conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
