"""Engine and session factory: the one place that knows about database back ends."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "safenum_read_only"
"""Execution option marking a unit of work that never writes (see ``Core.reading``)."""

TURN_TIMEOUT = 30.0
"""Seconds a writer waits for its turn, like SQLite's busy timeout; then "locked"."""


class WriterQueue:
    """First come, first served turns for this process's SQLite writers.

    SQLite has one writer at a time. Left to itself, a writer that finds the lock taken
    sleeps in the busy handler and retries, so under concurrency some wait far longer
    than the work takes (the 2-second tail of issuing numbers at 16 clients). Here each
    write transaction of the process takes a ticket before ``BEGIN IMMEDIATE`` and waits
    its turn on a condition, and the turn passes on right after its COMMIT or ROLLBACK
    (:class:`_TurnConnection`), so in-process writers never meet in the busy handler and
    are served in arrival order; the busy handler remains for other processes (the CLI,
    a bridge of its own).
    """

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next = 0
        self._serving = 0
        self._abandoned: set[int] = set()

    def acquire(self, timeout: float = TURN_TIMEOUT) -> None:
        with self._turns:
            ticket = self._next
            self._next += 1
            if self._turns.wait_for(lambda: self._serving >= ticket, timeout):
                return
            # Give the ticket up: when its turn comes it is passed on at once.
            self._abandoned.add(ticket)
        raise sqlite3.OperationalError("database is locked (no write turn in time)")

    def release(self) -> None:
        with self._turns:
            self._serving += 1
            while self._serving in self._abandoned:
                self._abandoned.discard(self._serving)
                self._serving += 1
            self._turns.notify_all()


class _TurnConnection(sqlite3.Connection):
    """A DB-API connection that hands its writer turn on after COMMIT and ROLLBACK."""

    writers: WriterQueue | None = None
    holds_turn = False

    def _pass_turn(self) -> None:
        if self.holds_turn and self.writers is not None:
            self.holds_turn = False
            self.writers.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._pass_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._pass_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._pass_turn()


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    writers = WriterQueue()
    engine = create_engine(url, connect_args={"timeout": 30, "factory": _TurnConnection}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level so SQLAlchemy's "begin" below is the only BEGIN.
        dbapi_conn.isolation_level = None
        dbapi_conn.writers = writers
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode NORMAL may lose the last commits on power loss, and an issued
        # number must survive a reboot.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten, not left in free pages: crypto-shredding must
        # not leave a wrapped key behind in the file.
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # A unit of work that may write takes the write lock up front: a deferred one that
        # reads then writes fails with SQLITE_BUSY instead of waiting when another writer
        # got there first. Read-only units (READ_ONLY option) begin deferred and read their
        # WAL snapshot without queueing behind writers.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        if read_only:
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        dbapi = conn.connection.dbapi_connection
        writers.acquire()
        dbapi.holds_turn = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi._pass_turn()
            raise

    return engine


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    if not read_only:
        return sessionmaker(engine, expire_on_commit=False)
    factory = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)

    @event.listens_for(factory, "before_flush")
    def _refuse_writes(session: Session, *_: Any) -> None:
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("a read-only unit of work tried to write")

    return factory


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def purge_residue(engine: Engine, tables: tuple[str, ...]) -> None:
    """After deleting personal data, leave no old copy of it in the database's own files.

    SQLite (secure_delete on) zeroes the freed cells, but the write-ahead log may still
    hold an earlier image of the page: checkpoint and truncate it. PostgreSQL keeps dead
    tuples until VACUUM; vacuum the tables so their space is reclaimed promptly. (Its WAL
    and base backups age out by the operator's retention; what they hold is sealed under
    data keys that no longer exist.)
    """
    if is_sqlite(engine):
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.exec_driver_sql(f"VACUUM {table}")
