"""AstDB's file is switched to WAL mode before Asterisk opens it, never waiting."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from proxy.asterisk.astdb import use_wal


def journal_mode(path: Path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])


def test_a_new_database_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "lib" / "astdb.sqlite3"
    assert use_wal(path)
    assert journal_mode(path) == "wal"
    with contextlib.closing(sqlite3.connect(path)) as db:  # empty: Asterisk makes its table
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_an_existing_database_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "astdb.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE t(key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO t VALUES ('/safenum/route/050412345678', '+821012345678')")
    assert journal_mode(path) == "delete"

    assert use_wal(path)
    assert use_wal(path)  # idempotent
    assert journal_mode(path) == "wal"
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT value FROM t").fetchall() == [("+821012345678",)]


def test_a_busy_database_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "astdb.sqlite3"
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("CREATE TABLE t(v)")
        holder.execute("BEGIN EXCLUSIVE")  # like Asterisk in the middle of a commit
        holder.execute("INSERT INTO t VALUES (1)")
        assert not use_wal(path)
        holder.execute("COMMIT")
    assert journal_mode(path) == "delete"
