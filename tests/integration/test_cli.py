"""The ``safenum`` command as an operator runs it: JSON out, exit 2 and one line when refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from app_api.migrate import MIGRATIONS
from app_api.settings import Settings

CLI = [sys.executable, "-c", "from app_api.cli import main; main()"]


def _environ(settings: Settings, env: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "SAFENUM_DATA_DIR": str(settings.data_dir),
        "SAFENUM_DATABASE_URL": settings.database_url,
        "SAFENUM_REDIS_URL": settings.redis_url,
        **(env or {}),
    }


def run(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=_environ(settings, env),
        timeout=60,
        check=False,
    )


def run_in_background(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """The command in another process, not waited for: the caller communicate()s."""
    return subprocess.Popen(
        [*CLI, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environ(settings, None),
    )


def ok(settings: Settings, *args: str, env: dict[str, str] | None = None):
    proc = run(settings, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def refused(settings: Settings, *args: str, env: dict[str, str] | None = None) -> str:
    proc = run(settings, *args, env=env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_operator_flow(settings: Settings) -> None:
    assert ok(settings, "db", "upgrade")["revision"] == head_revision()
    pool = ok(settings, "numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
    assert pool["size"] == 100_000_000
    issued = ok(
        settings,
        "numbers",
        "issue",
        "--owner-phone",
        "010-1234-5678",
        "--plate",
        "12가3456",
        "--prefix",
        "0504",
    )
    assert issued["safe_number"].startswith("0504-")
    assert len(issued["safe_number"]) == 14
    assert issued["owner_phone"] == "010-****-5678"
    assert {"expires_at", "status", "plate"} <= issued.keys()
    n = issued["safe_number"]
    assert ok(settings, "numbers", "show", n.replace("-", ""))["safe_number"] == n
    assert ok(settings, "numbers", "pause", n)["status"] == "paused"
    assert ok(settings, "numbers", "resume", n)["status"] == "active"
    assert ok(settings, "numbers", "renew", n)["status"] == "active"
    assert ok(settings, "numbers", "pool", "list")[0]["used"] == 1
    assert ok(settings, "numbers", "release", n)["status"] == "quarantined"
    assert ok(settings, "numbers", "sweep") == {"released": 0, "freed": 0}
    receipt = ok(settings, "owners", "delete", "--phone", "+82 10 1234 5678")
    assert receipt["subject"].startswith("owner:")
    assert "5678" not in json.dumps(receipt)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["numbers", "issue", "--owner-phone", "02-123-4567", "--plate", "12가3456"], "landline"),
        (["numbers", "issue", "--owner-phone", "010-1234-5678", "--plate", "12A3456"], "plate"),
        (["numbers", "issue", "--owner-phone", "010-1234-5678"], "--plate"),
        (
            ["numbers", "issue", "--owner-phone", "010-1234-5678", "--plate", "12가3456"],
            "no number pool",
        ),
        (["numbers", "show", "0504-1234"], "12 digits"),
        (["numbers", "show", "0504-1234-5678"], "not issued"),
        (["numbers", "pool", "add", "0104", "--from", "0", "--to", "9"], "0502 to 0509"),
        (["numbers", "pool", "add", "0504", "--from", "9", "--to", "0"], "greater"),
        (["owners", "delete", "--phone", "010-1234-5678"], "no owner"),
        (["numbers", "frobnicate"], "No such command"),
    ],
)
def test_refusals_are_one_line_with_exit_2(settings: Settings, args: list[str], says: str) -> None:
    line = refused(settings, *args)
    assert line.startswith("safenum: error: ")
    assert says in line
    assert "1234-5678" not in line.replace("0504-1234-5678", "")  # no real phone echoed


def test_bad_setting_is_one_line(settings: Settings, tmp_path: Path) -> None:
    env_bad = dict(os.environ, SAFENUM_TRUNK_ADDR="nonsense", SAFENUM_DATA_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", "from app_api.cli import main; main()", "numbers", "pool", "list"],
        capture_output=True,
        text=True,
        env=env_bad,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "safenum: error: SAFENUM_TRUNK_ADDR: Value error, must be host:port, e.g. 127.0.0.1:5070"
    )
