"""Fixtures shared by every tier: a real Redis, a migrated database, a settable clock.

The database is SQLite unless SAFENUM_DATABASE_URL names another one (CI runs the
whole suite a second time against PostgreSQL). Each test gets a freshly migrated
schema: a copy of a migrated template file on SQLite, truncated tables on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app_api.db import make_engine
from app_api.migrate import upgrade
from app_api.model_registry import Base
from app_api.settings import Settings
from app_api.wiring import Core

EXTERNAL_DB = os.environ.get("SAFENUM_DATABASE_URL", "")
ON_POSTGRES = EXTERNAL_DB.startswith("postgresql")
# pytest-xdist's worker ("gw0", "gw1", ...; empty when the session runs alone). Each
# worker is its own session: its own Redis, Asterisks, temp dirs and PostgreSQL database.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_index() -> int:
    """0 for the first xdist worker (or no xdist), 1 for the second, ..."""
    return int(WORKER.removeprefix("gw")) if WORKER else 0


def _worker_database(url: str) -> str:
    """The xdist worker's own PostgreSQL database next to ``url``'s (``safenum_ci_gw0``),
    created afresh: the tests truncate tables, so two sessions cannot share one. Needs
    CREATEDB for the test role (deploy/scripts/pg-test-db.sh grants it)."""
    parsed = make_url(url)
    name = f"{parsed.database}_{WORKER}"
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist on PostgreSQL, point this worker (and every subprocess it starts with
    ``os.environ``) at its own database."""
    global EXTERNAL_DB
    if ON_POSTGRES and WORKER:
        EXTERNAL_DB = _worker_database(EXTERNAL_DB)
        os.environ["SAFENUM_DATABASE_URL"] = EXTERNAL_DB


# The longest test file (about a third of the pbx tier): handed out first, so that under
# xdist's --dist loadfile one worker does not run it alone at the end while the other idles.
LONGEST_FIRST = ("test_pbx_cluster.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``@pytest.mark.postgres`` tests run only when SAFENUM_DATABASE_URL is PostgreSQL;
    the longest file runs first (a stable sort: every file keeps its own order)."""
    skip = pytest.mark.skip(reason="needs SAFENUM_DATABASE_URL=postgresql+psycopg://...")
    for item in items:
        if item.get_closest_marker("postgres") and not ON_POSTGRES:
            item.add_marker(skip)
    items.sort(key=lambda item: Path(item.path).name not in LONGEST_FIRST)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``predicate`` until truthy or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Clock:
    """A clock the test moves by hand; starts now, so real expiry maths applies."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A throw-away redis-server on a free port (no persistence); returns it and its URL.

    Shared by the test session and ``bench/``; the caller terminates it.
    """
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--dir", str(directory), "--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_until(up, what="redis-server")
    return proc, f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port, for the whole session."""
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    proc.terminate()
    proc.wait(10)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    if ON_POSTGRES:
        _reset_postgres(EXTERNAL_DB)
        return EXTERNAL_DB
    template = tmp_path_factory.mktemp("db") / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints and removes the WAL
    assert not Path(f"{template}-wal").exists()
    return str(template)


def fresh_database(migrated_db: str, directory: Path) -> str:
    """A freshly migrated, empty database: a copy of the template in ``directory`` on
    SQLite, the one PostgreSQL database truncated (so one user at a time)."""
    if ON_POSTGRES:
        engine = make_engine(migrated_db)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return migrated_db
    target = directory / "safenum.db"
    shutil.copy(migrated_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def db_url(migrated_db: str, tmp_path: Path) -> str:
    """A freshly migrated, empty database for this test."""
    return fresh_database(migrated_db, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, redis_url: str) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        database_url=db_url,
        redis_url=redis_url,
        master_key_file=tmp_path / "master.key",
    )


@pytest.fixture
def core(settings: Settings, clock: Clock) -> Iterator[Core]:
    built = Core.build(settings, clock=clock)
    yield built
    built.close()


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


@dataclass(frozen=True)
class PostgresFiles:
    """The on-disk files of the test database on the local Debian cluster.

    Reading them needs the cluster on this machine (``pg_lsclusters``, as
    deploy/scripts/pg-test-db.sh sets it up) and root or sudo to the ``postgres``
    user, who runs the CHECKPOINT that puts every page on disk first.
    """

    directory: Path
    port: int

    @classmethod
    def of(cls, core: Core) -> PostgresFiles:
        url = make_url(core.settings.database_url)
        port = url.port or 5432
        try:
            clusters = subprocess.run(
                ["pg_lsclusters", "-h"], capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            pytest.skip("reading PostgreSQL's files needs the local cluster (pg_lsclusters)")
        data = next(
            (ln.split()[5] for ln in clusters.splitlines() if ln.split()[2:3] == [str(port)]),
            None,
        )
        if data is None:
            pytest.skip(f"no local PostgreSQL cluster on port {port}")
        with core.engine.connect() as conn:
            oid = conn.execute(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
        files = cls(Path(data) / "base" / str(oid), port)
        if not os.access(files.directory, os.R_OK):
            pytest.skip(f"{files.directory} is not readable by this user")
        return files

    def read(self, core: Core | None = None) -> bytes:
        """Checkpoint, then every byte of every file of the database; with ``core``,
        only the files of the application's tables (with their TOAST and indexes),
        not the system catalogs."""
        psql = f"psql -qtA -p {self.port} -c CHECKPOINT"
        argv = ["su", "postgres", "-c", psql] if os.getuid() == 0 else ["sudo", "-u", "postgres"]
        if os.getuid() != 0:
            argv += ["sh", "-c", psql]
        subprocess.run(argv, check=True, capture_output=True)
        paths = sorted(p for p in self.directory.iterdir() if p.is_file())
        if core is not None:
            with core.engine.connect() as conn:
                nodes = set(conn.execute(text(_OUR_FILES)).scalars())
            paths = [p for p in paths if p.name.split(".")[0].split("_")[0] in nodes]
        return b"".join(p.read_bytes() for p in paths)


_OUR_FILES = """
SELECT pg_relation_filenode(c.oid)::text FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace
   OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
   OR c.oid IN (SELECT indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                WHERE t.relnamespace = 'public'::regnamespace
                   OR t.oid IN (SELECT reltoastrelid FROM pg_class
                                WHERE relnamespace = 'public'::regnamespace))
"""
