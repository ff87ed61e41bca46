"""Start, stop and inspect the Kamailio edge on its rendered config.

Readiness is polled against a deadline: the process is alive and its RPC socket
answers ``core.version`` (Kamailio opens the socket only once every module is up).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
from dataclasses import dataclass

from proxy.asterisk import procfs
from proxy.asterisk.process import wait_until
from proxy.kamailio.config import EdgeConfig
from proxy.kamailio.rpc import EdgeRpc, EdgeUnavailable


class EdgeProcessError(RuntimeError):
    """Kamailio did not start, did not stop, or its state cannot be read."""


@dataclass(frozen=True)
class EdgeStatus:
    running: bool
    pid: int | None
    rpc_answering: bool
    sip_port: int


class EdgeSupervisor:
    """Owns one Kamailio process for one :class:`EdgeConfig`."""

    def __init__(self, config: EdgeConfig, binary: str = "kamailio") -> None:
        self.config = config
        self.binary = binary
        self.rpc = EdgeRpc(config.rpc_socket)
        self._child: subprocess.Popen[bytes] | None = None

    def command_line(self) -> list[str]:
        # -DD: stay in the foreground (we or systemd own it); -E: log to stderr;
        # -m/-M: shared and per-process memory in MB.
        c = self.config
        return [
            self.binary,
            *("-f", str(c.cfg_file), "-DD", "-E"),
            *("-P", str(c.pid_file), "-Y", str(c.config_dir / "run")),
            *("-m", str(c.shm_mb), "-M", "8"),
        ]

    def pid(self) -> int | None:
        """Our Kamailio if it runs: our child, or the pid file's process run on our config."""
        return procfs.supervised_pid(self._child, self.config.pid_file, self._is_ours)

    def _is_ours(self, pid: int) -> bool:
        argv = procfs.cmdline(pid)
        return any(
            a == "-f" and b == str(self.config.cfg_file) for a, b in itertools.pairwise(argv)
        )

    def answering(self) -> bool:
        try:
            self.rpc.version()
        except EdgeUnavailable:
            return False
        return True

    def status(self) -> EdgeStatus:
        pid = self.pid()
        return EdgeStatus(
            pid is not None, pid, pid is not None and self.answering(), self.config.sip_port
        )

    def _tail(self, lines: int = 15) -> str:
        try:
            text = self.config.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def up(self, timeout: float = 20.0) -> EdgeStatus:
        """Start Kamailio unless it runs already; return once its RPC answers."""
        if self.pid() is None:
            try:
                self._child = procfs.start_logged(
                    self.command_line(),
                    self.config.log_file,
                    stale_socket=self.config.rpc_socket,
                    cwd=self.config.config_dir,
                )
            except OSError as exc:
                raise EdgeProcessError(f"cannot run {self.binary}: {exc}") from exc

        def ready() -> bool:
            if self.pid() is None:
                raise EdgeProcessError(f"kamailio exited during start-up:\n{self._tail()}")
            return self.answering()

        if not wait_until(ready, timeout):
            raise EdgeProcessError(f"kamailio not ready after {timeout:g}s:\n{self._tail()}")
        return self.status()

    def down(self, timeout: float = 10.0) -> EdgeStatus:
        """SIGTERM, then SIGKILL; wait each time."""
        pid = self.pid()
        if pid is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, sig) if self._is_group_leader(pid) else os.kill(pid, sig)
                if wait_until(lambda: self.pid() is None, timeout / 2):
                    break
            if self.pid() is not None:
                raise EdgeProcessError(f"kamailio pid {pid} did not stop")
        if self._child is not None:
            self._child.wait(timeout=timeout)
            self._child = None
        with contextlib.suppress(FileNotFoundError):
            self.config.pid_file.unlink()
        return self.status()

    @staticmethod
    def _is_group_leader(pid: int) -> bool:
        try:
            return os.getpgid(pid) == pid
        except ProcessLookupError:
            return False
