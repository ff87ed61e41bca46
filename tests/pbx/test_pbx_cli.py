"""``safenum asterisk up/status/down`` end to end, in a child process like an operator.

Also the supervisor's two promises about *which* Asterisk it talks to (issue 12,
hole 1): ``up`` never reports ready while another process holds our SIP or AMI
port, and ``down`` stops the instance it started even when its pid file is gone.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from pbx_sipp import Pbx, free_port

from proxy.asterisk.config import write_config, write_prompts
from proxy.asterisk.process import AsteriskProcessError, AsteriskSupervisor, wait_until

CLI = "from app_api.cli_asterisk import app; app()"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run(env: dict[str, str], *args: str) -> dict[str, object]:
    done = cli(env, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def environment(data_dir: Path, sip_port: int, ami_port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "SAFENUM_DATA_DIR": str(data_dir),
        "SAFENUM_SIP_PORT": str(sip_port),
        "SAFENUM_AMI_PORT": str(ami_port),
        "SAFENUM_TRUNK_ADDR": f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
    }
    env.pop("SAFENUM_AMI_SECRET", None)
    return env


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return environment(tmp_path / "a", free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM))


def test_up_status_down(env: dict[str, str]) -> None:
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


def test_up_refuses_ports_another_asterisk_holds_and_names_the_port(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A second instance on the same SIP and AMI ports: the other one answers AMI, so a
    banner check alone would call the second one ready."""
    first = run(env, "up")
    second = {**env, "SAFENUM_DATA_DIR": str(tmp_path / "b")}
    try:
        done = cli(second, "up", "--timeout", "20")
        assert done.returncode == 2, done.stdout
        assert done.stderr.count("\n") == 1
        assert f"SIP port {env['SAFENUM_SIP_PORT']}/udp" in done.stderr
        assert "in use by pid" in done.stderr  # the holder is named when we may look
        assert run(second, "status")["running"] is False
        assert run(env, "status")["pid"] == first["pid"]  # the first one is untouched
    finally:
        run(second, "down")
        run(env, "down")


def test_up_refuses_an_ami_port_held_by_something_else(env: dict[str, str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", int(env["SAFENUM_AMI_PORT"])))
        squatter.listen()
        done = cli(env, "up", "--timeout", "20")
    assert done.returncode == 2
    assert f"AMI port {env['SAFENUM_AMI_PORT']}/tcp" in done.stderr
    assert run(env, "status")["running"] is False


def test_ready_means_our_process_bound_the_sip_port(
    pbx: Pbx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check after start-up, for a port taken between the pre-flight probe and
    Asterisk's bind: our Asterisk boots fully while the session's instance holds SIP
    and AMI, and answers AMI on its behalf. ``up`` must fail naming the SIP port."""
    monkeypatch.setattr(AsteriskSupervisor, "_check_ports_free", lambda self: None)
    config = replace(pbx.config, config_dir=tmp_path / "asterisk")
    write_config(config)
    write_prompts(config)
    intruder = AsteriskSupervisor(config)
    try:
        with pytest.raises(AsteriskProcessError, match=f"SIP port {config.sip_port}/udp"):
            intruder.up(timeout=30)
        assert intruder.pid() is None  # the instance that could not bind was stopped
    finally:
        intruder.down()
    assert pbx.supervisor.status().fully_booted


def test_down_stops_our_instance_without_its_pid_file(env: dict[str, str]) -> None:
    up = run(env, "up")
    pid = int(str(up["pid"]))
    pid_file = Path(env["SAFENUM_DATA_DIR"]) / "asterisk" / "run" / "asterisk.pid"
    pid_file.unlink()
    assert run(env, "status")["pid"] == pid  # found by its command line
    down = run(env, "down")
    assert down["running"] is False
    assert wait_until(lambda: not pid_alive(pid), 10)


def test_a_stale_pid_file_never_signals_another_process(env: dict[str, str]) -> None:
    up = run(env, "up")
    pid = int(str(up["pid"]))
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        pid_file = Path(env["SAFENUM_DATA_DIR"]) / "asterisk" / "run" / "asterisk.pid"
        pid_file.write_text(f"{bystander.pid}\n")
        assert run(env, "down")["running"] is False
        assert wait_until(lambda: not pid_alive(pid), 10)
        assert bystander.poll() is None  # still alive: it was not ours
    finally:
        bystander.kill()
        bystander.wait()
