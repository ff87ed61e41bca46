"""``safenum asterisk up/status/down`` end to end, in a child process like an operator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from pbx_sipp import free_port

CLI = "from app_api.cli_asterisk import app; app()"


def run(env: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args], env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_up_status_down(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SAFENUM_DATA_DIR": str(tmp_path),
        "SAFENUM_SIP_PORT": str(free_port(socket.SOCK_DGRAM)),
        "SAFENUM_AMI_PORT": str(free_port(socket.SOCK_STREAM)),
        "SAFENUM_TRUNK_ADDR": f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
    }
    env.pop("SAFENUM_AMI_SECRET", None)
    try:
        up = run(env, "up")
        assert up["running"] is True
        assert up["fully_booted"] is True
        assert up["ami_answering"] is True
        status = run(env, "status")
        assert status["pid"] == up["pid"]
    finally:
        down = run(env, "down")
    assert down["running"] is False
    assert run(env, "status")["running"] is False
