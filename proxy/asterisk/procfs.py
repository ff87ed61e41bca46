"""What ``/proc`` says about processes and the ports they hold (Linux only).

The supervisor uses it to tell *its* Asterisk from another one: an AMI banner or
a SIP answer on a port proves only that something listens there, not that the
process we started bound it. Sockets are matched by inode (``/proc/net/udp``,
``/proc/net/tcp`` and their IPv6 twins against ``/proc/<pid>/fd``).

The supervisors (Asterisk, Kamailio, ``cluster up``) also start their servers here, the
one way: :func:`start_logged`; :func:`supervised_pid` finds them again.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Proto = Literal["udp", "tcp"]

_TCP_LISTEN = "0A"
PROC = Path("/proc")


@dataclass(frozen=True)
class Holder:
    pid: int
    name: str

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.name})"


def _port_inodes(proto: Proto, port: int, proc: Path) -> set[int]:
    """Inodes of sockets bound to ``port`` (TCP: listening ones only)."""
    inodes: set[int] = set()
    for table in (proc / "net" / proto, proc / "net" / f"{proto}6"):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port != port or (proto == "tcp" and fields[3] != _TCP_LISTEN):
                continue
            inodes.add(int(fields[9]))
    inodes.discard(0)
    return inodes


def socket_inodes(pid: int, proc: Path = PROC) -> set[int]:
    """Inodes of every socket ``pid`` has open (empty when we may not look)."""
    found: set[int] = set()
    try:
        fds = os.listdir(proc / str(pid) / "fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(proc / str(pid) / "fd" / fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def holds_port(pid: int, proto: Proto, port: int, proc: Path = PROC) -> bool:
    """True when ``pid`` itself has a socket bound to ``port`` (TCP: listening)."""
    return bool(_port_inodes(proto, port, proc) & socket_inodes(pid, proc))


def pids(proc: Path = PROC) -> Iterator[int]:
    for entry in proc.iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def process_name(pid: int, proc: Path = PROC) -> str:
    try:
        return (proc / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def port_holders(proto: Proto, port: int, proc: Path = PROC) -> list[Holder]:
    """The processes with a socket bound to ``port`` (only those we may inspect)."""
    wanted = _port_inodes(proto, port, proc)
    if not wanted:
        return []
    return [
        Holder(pid, process_name(pid, proc))
        for pid in pids(proc)
        if wanted & socket_inodes(pid, proc)
    ]


def alive(pid: int, proc: Path = PROC) -> bool:
    """True when ``pid`` runs; a zombie still answers ``kill(0)`` but is dead for us."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def supervised_pid(
    child: subprocess.Popen[bytes] | None, pid_file: Path, is_ours: Callable[[int], bool]
) -> int | None:
    """The pid of a server we supervise, if it runs: our own child, else the pid its pid
    file names when that process is alive and ``is_ours`` (a stale file's pid may belong
    to another program by now, which must never be signalled)."""
    if child is not None and child.poll() is None:
        return child.pid
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid) and is_ours(pid) else None


def start_logged(
    argv: list[str],
    log_file: Path,
    *,
    stale_socket: Path | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server we supervise: ``stale_socket`` (a killed instance's control socket)
    removed first, stdout and stderr appended to ``log_file``, stdin closed, and in its
    own session, so a Ctrl-C in our terminal is not for it. OSError when it cannot run."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if stale_socket is not None:
        with contextlib.suppress(FileNotFoundError):
            stale_socket.unlink()
    with open(log_file, "ab") as log:
        return subprocess.Popen(  # noqa: S603 - the caller's fixed argv, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )


def cmdline(pid: int, proc: Path = PROC) -> list[str]:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [arg.decode(errors="replace") for arg in raw.split(b"\0") if arg]
