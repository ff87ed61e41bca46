"""The data directory holds personal data (the SQLite file, keys, secrets): owner only.

Every ``safenum`` command starts with a ``077`` umask, so what it creates is 0600 (files)
and 0700 (directories); SQLite gives its ``-wal`` and ``-shm`` files the mode of the
database file. ``secure`` also tightens what an older run left readable by others.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from app_api.settings import Settings

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def _tighten(path: Path, mode: int) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
        path.chmod(mode)


def secure(settings: Settings) -> None:
    """Create the data directory 0700; make it and the SQLite files owner-only."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(settings.data_dir, 0o700)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            _tighten(path, 0o600)
