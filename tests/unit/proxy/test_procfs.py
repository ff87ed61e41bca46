"""Reading sockets and command lines from a /proc tree (a fake one, laid out as Linux does)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from proxy.asterisk import procfs
from proxy.asterisk.process import wait_until

HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
    "   uid  timeout inode\n"
)


def row(port: int, state: str, inode: int) -> str:
    return (
        f"   0: 0100007F:{port:04X} 00000000:0000 {state} 00000000:00000000 "
        f"00:00000000 00000000     0        0 {inode} 1 0000000000000000 0\n"
    )


def fake_proc(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    (proc / "net").mkdir(parents=True)
    (proc / "net" / "udp").write_text(HEADER + row(5060, "07", 111))
    (proc / "net" / "udp6").write_text(HEADER)
    # 5038 listening (inode 222); 5039 only an established connection (inode 333).
    (proc / "net" / "tcp").write_text(HEADER + row(5038, "0A", 222) + row(5039, "01", 333))
    for pid, inodes, name, argv in (
        (10, (111, 222), "asterisk", ["asterisk", "-C", "/x/asterisk.conf", "-f"]),
        (20, (333,), "python3", ["python3"]),
    ):
        fd = proc / str(pid) / "fd"
        fd.mkdir(parents=True)
        for n, inode in enumerate(inodes):
            os.symlink(f"socket:[{inode}]", fd / str(n))
        os.symlink("/dev/null", fd / "9")
        (proc / str(pid) / "comm").write_text(name + "\n")
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return proc


def test_who_holds_a_port(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    assert procfs.holds_port(10, "udp", 5060, proc)
    assert procfs.holds_port(10, "tcp", 5038, proc)
    assert not procfs.holds_port(20, "udp", 5060, proc)
    assert [str(h) for h in procfs.port_holders("udp", 5060, proc)] == ["pid 10 (asterisk)"]


def test_only_listening_tcp_sockets_hold_a_port(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    assert procfs.port_holders("tcp", 5039, proc) == []
    assert not procfs.holds_port(20, "tcp", 5039, proc)


def test_a_free_port_and_a_vanished_process(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path)
    assert procfs.port_holders("udp", 5061, proc) == []
    assert procfs.socket_inodes(99, proc) == set()
    assert procfs.cmdline(99, proc) == []
    assert procfs.process_name(99, proc) == "?"


def test_command_line(tmp_path: Path) -> None:
    assert procfs.cmdline(10, fake_proc(tmp_path)) == ["asterisk", "-C", "/x/asterisk.conf", "-f"]


def test_a_pid_file_names_our_server_only_while_it_runs_and_is_ours(tmp_path: Path) -> None:
    pid_file = tmp_path / "server.pid"
    assert procfs.supervised_pid(None, pid_file, lambda pid: True) is None  # no file
    other = subprocess.Popen(["sleep", "30"])
    try:
        pid_file.write_text(f"{other.pid}\n")
        assert procfs.supervised_pid(None, pid_file, lambda pid: True) == other.pid
        # A stale file whose pid now belongs to another program: never ours to signal.
        assert procfs.supervised_pid(None, pid_file, lambda pid: False) is None
        # Our own child wins over the file while it runs.
        assert (
            procfs.supervised_pid(other, tmp_path / "missing.pid", lambda pid: False) == other.pid
        )
        other.kill()
        # A zombie until reaped (it still answers kill 0): dead for us.
        assert wait_until(lambda: not procfs.alive(other.pid), 5)
        assert procfs.supervised_pid(None, pid_file, lambda pid: True) is None
    finally:
        other.kill()
        other.wait()
    pid_file.write_text("not a pid")
    assert procfs.supervised_pid(None, pid_file, lambda pid: True) is None


def test_a_server_starts_in_its_own_session_logging_after_what_was_there(tmp_path: Path) -> None:
    log_file = tmp_path / "log" / "server.log"  # the directory does not exist yet
    stale = tmp_path / "ctl.sock"
    stale.touch()
    workdir = tmp_path / "work"
    workdir.mkdir()
    script = 'echo "out $SERVER_ENV $(pwd) $(cut -d" " -f6 /proc/$$/stat)"; echo err >&2'
    child = procfs.start_logged(
        ["sh", "-c", script], log_file, stale_socket=stale, cwd=workdir,
        env={"PATH": os.environ["PATH"], "SERVER_ENV": "set"},
    )  # fmt: skip
    try:
        assert not stale.exists()
        assert child.wait(10) == 0
    finally:
        child.kill()
        child.wait()
    out, err = log_file.read_text().splitlines()
    assert out.split() == ["out", "set", str(workdir), str(child.pid)]  # its own session
    assert err == "err"
    procfs.start_logged(["sh", "-c", "echo again"], log_file).wait(10)
    assert log_file.read_text().splitlines()[-3:] == [out, err, "again"]  # appended


def test_a_server_that_cannot_run_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):  # the supervisors translate any OSError
        procfs.start_logged([str(tmp_path / "missing")], tmp_path / "server.log")
