"""Every failure of the ``safenum`` command is exit 2 and one line, and what it writes
into the data directory is readable by its owner only."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from app_api.db import make_engine
from app_api.settings import Settings
from tests.conftest import free_port
from tests.integration.test_cli import refused, run


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["db", "upgrade", "--revision", "nonexistent"], {}, "revision: Can't locate revision"),
        (["numbers", "pool", "list"], {"SAFENUM_DATABASE_URL": "nonsense"}, "SAFENUM_DATABASE_URL"),
        (
            ["numbers", "pool", "list"],
            {"SAFENUM_DATABASE_URL": "oracle+nodriver://x/y"},
            "SAFENUM_DATABASE_URL",
        ),
        (
            ["db", "upgrade"],
            {"SAFENUM_DATABASE_URL": "postgresql+psycopg://safenum:topsecret@127.0.0.1:1/x"},
            "database: OperationalError",
        ),
        (["numbers", "pool", "list"], {"SAFENUM_LOG_LEVEL": "LOUD"}, "SAFENUM_LOG_LEVEL"),
    ],
)
def test_failures_are_one_line_with_exit_2(
    settings: Settings, args: list[str], env: dict[str, str], says: str
) -> None:
    line = refused(settings, *args, env=env)
    assert line.startswith("safenum: error: ")
    assert says in line
    assert "topsecret" not in line
    assert "Traceback" not in line


def test_a_data_dir_that_is_a_file_is_one_line(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    line = refused(
        settings,
        "db",
        "upgrade",
        env={"SAFENUM_DATA_DIR": str(blocker), "SAFENUM_DATABASE_URL": ""},
    )
    assert line.startswith("safenum: error: ")
    assert str(blocker) in line


def test_serve_on_a_taken_port_is_one_line(settings: Settings) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        line = refused(settings, "serve", env={"SAFENUM_HTTP_PORT": str(port)})
    assert line == (
        f"safenum: error: SAFENUM_HTTP_PORT: 127.0.0.1:{port} is in use (Address already in use)"
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_is_0700_and_its_files_0600(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    env = {"SAFENUM_DATA_DIR": str(data), "SAFENUM_DATABASE_URL": ""}
    old = os.umask(0o022)  # a typical login umask, which made safenum.db 0644
    try:
        ok_run = run(settings, "db", "upgrade", env=env)
        assert ok_run.returncode == 0, ok_run.stderr
        db = data / "safenum.db"
        assert _mode(data) == 0o700
        assert {p.name: _mode(p) for p in data.iterdir()} == {
            "safenum.db": 0o600,
            "master.key": 0o600,
        }
        engine = make_engine(f"sqlite:///{db}")  # this process has umask 022
        with engine.connect() as conn:  # WAL and shared memory follow the database's mode
            conn.exec_driver_sql("CREATE TABLE probe (x)")
            conn.exec_driver_sql("DROP TABLE probe")
            assert _mode(Path(f"{db}-wal")) == 0o600
            assert _mode(Path(f"{db}-shm")) == 0o600
        engine.dispose()
    finally:
        os.umask(old)


def test_an_older_world_readable_data_dir_is_tightened(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "old"
    env = {"SAFENUM_DATA_DIR": str(data), "SAFENUM_DATABASE_URL": ""}
    assert run(settings, "db", "upgrade", env=env).returncode == 0
    data.chmod(0o755)
    (data / "safenum.db").chmod(0o644)
    assert run(settings, "numbers", "pool", "list", env=env).returncode == 0
    assert _mode(data) == 0o700
    assert _mode(data / "safenum.db") == 0o600
