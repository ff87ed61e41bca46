"""``safenum demo`` against a stack started the way ``make run`` starts it.

Asterisk through ``safenum asterisk up`` and ``safenum serve`` as real processes on
free ports (SAFENUM_* settings, nothing else); the demo then drives them only through
HTTP, the CLI and SIPp. It must exit 0, having seen the call connect, the move-car
text delivered and the spam text blocked, with no real number crossing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pbx_sipp import free_port

from tests.conftest import wait_until

CLI = [sys.executable, "-c", "from app_api.cli import main; main()"]


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ready(url: str) -> bool:
    try:
        return bool(httpx.get(f"{url}/readyz", timeout=1).json().get("ready"))
    except (httpx.HTTPError, ValueError):
        return False


@pytest.fixture
def stack(db_url: str, redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    http_port = free_port(socket.SOCK_STREAM)
    env = {
        **os.environ,
        "SAFENUM_ENV": "development",
        "SAFENUM_DATA_DIR": str(tmp_path / "var"),
        "SAFENUM_DATABASE_URL": db_url,
        "SAFENUM_REDIS_URL": redis_url,
        "SAFENUM_HTTP_PORT": str(http_port),
        "SAFENUM_PUBLIC_BASE_URL": f"http://127.0.0.1:{http_port}",
        "SAFENUM_SIP_PORT": str(free_port(socket.SOCK_DGRAM)),
        "SAFENUM_TRUNK_ADDR": f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
        "SAFENUM_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
        "SAFENUM_CALL_MENU_TIMEOUT_SECONDS": "1",
    }
    assert _cli(env, "db", "upgrade").returncode == 0
    up = _cli(env, "asterisk", "up")
    assert up.returncode == 0, up.stderr
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [*CLI, "serve"], env={**env, "SAFENUM_LOG_LEVEL": "INFO"}, stdout=log, stderr=log
    )
    try:
        wait_until(lambda: _ready(f"http://127.0.0.1:{http_port}"), 30, what="serve ready")
        yield env
    finally:
        serve.terminate()
        serve.wait(15)
        log.close()
        _cli(env, "asterisk", "down")


def test_demo_shows_the_whole_service(stack: dict[str, str], tmp_path: Path) -> None:
    done = _cli(stack, "demo", timeout=240)
    out = done.stdout
    assert done.returncode == 0, (out, done.stderr, (tmp_path / "serve.log").read_text())
    assert done.stderr == ""
    assert "operator: safenum numbers pool add 0504" in out
    assert "signs in with the code the app shows: " in out
    assert 'caller ID shown: "안심번호" <sip:050' in out
    assert "driver's app: call answered" in out
    assert "driver's phone got a text from" in out
    lines = out.splitlines()
    assert any(x.strip().startswith("verdict: delivered") for x in lines), out
    assert any(x.strip().startswith("verdict: blocked") for x in lines), out
    assert "4. No real number crossed" in out
    # and again: the demo cleans up after itself (the driver may hold only two numbers)
    again = _cli(stack, "demo", timeout=240)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert "(already there)" in again.stdout


def test_demo_without_a_stack_says_what_to_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SAFENUM_DATA_DIR": str(tmp_path),
        "SAFENUM_HTTP_PORT": str(free_port(socket.SOCK_STREAM)),
    }
    done = _cli(env, "demo")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("safenum: error: no safenum API at http://127.0.0.1:")
    assert "make run" in line
