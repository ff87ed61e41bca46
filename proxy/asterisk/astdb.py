"""AstDB's SQLite file, put in write-ahead-log mode before Asterisk opens it.

Asterisk (``main/db.c``) keeps one AstDB transaction open and a background thread
commits it at most once a second, holding the lock that every ``DB()`` read in the
dialplan takes. With SQLite's default rollback journal a commit is four fdatasyncs
and a journal file created and unlinked: 3-200 ms on the project's machines (``perf
trace``, docs/benchmarks.md), and every call that reaches its route lookup meanwhile
waits. The service writes ``safenum/last`` and ``safenum/cdr`` on every call, so
there is such a commit every second under load. In WAL mode a commit is one
fdatasync of the log, with the same durability (``synchronous`` stays FULL).

SQLite documents the journal mode as a persistent property of the database file
("run PRAGMA journal_mode=WAL, then restart the application"), so Asterisk needs no
change, and AstDB's table, which Asterisk does not document, is not touched: on a
new machine the file is created empty and Asterisk creates its table in it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path


def use_wal(path: Path) -> bool:
    """Put the SQLite database at ``path`` (created if absent) in WAL mode.

    Returns whether it is in WAL mode now. Never waits: a database that another
    process holds busy (a running Asterisk in the middle of a commit) is left as it
    is and switched before a later start.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Private like the rest of the config dir; SQLite gives its -wal file the same mode.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=0)) as db:
            row = db.execute("PRAGMA journal_mode=WAL").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and str(row[0]).lower() == "wal"
