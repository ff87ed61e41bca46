"""Migrations build exactly the models' schema, go down and up again, and guard the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text
from sqlalchemy.exc import DatabaseError

from app_api.migrate import alembic_config, current, downgrade, upgrade
from app_api.model_registry import Base
from app_api.wiring import Core
from numbering.models import Owner


def test_migrated_schema_matches_the_models(core: Core) -> None:
    with core.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_down_and_up_again(core: Core) -> None:
    downgrade(core.engine, "base")
    assert current(core.engine) is None
    upgrade(core.engine)
    head = ScriptDirectory.from_config(alembic_config(core.engine)).get_current_head()
    assert head is not None
    assert head >= "0005"
    assert current(core.engine) == head


def test_audit_log_is_append_only(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "0", "9")
    for stmt in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), core.engine.begin() as conn:
            conn.execute(text(stmt))
    with core.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalar_one() == "system"


def test_key_retirement_starts_at_the_oldest_version_in_use(core: Core) -> None:
    """An install that rotated and retired before 0009: the versions below every data
    key's are recorded retired, so a server on an old key file cannot register under one."""
    downgrade(core.engine, "0008")
    with core.engine.begin() as conn:
        conn.execute(
            insert(Owner.__table__),
            [
                {
                    "id": f"{v:032d}",
                    "phone_hash": bytes([v]) * 32,
                    "phone_ct": b"ct",
                    "wrapped_key": b"wk",
                    "key_version": v,
                    "created_at": datetime.now(UTC),
                }
                for v in (3, 2)
            ],
        )
    upgrade(core.engine)
    with core.engine.connect() as conn:
        row = conn.execute(text("SELECT id, oldest_usable FROM key_retirement")).one()
    assert tuple(row) == (1, 2)
