"""Start, stop and inspect one Asterisk instance running on our rendered config.

Used by ``safenum asterisk up/down/status`` in development and by the pbx test
tier; in production systemd supervises the same command line
(``deploy/systemd/safenum-asterisk.service``). Readiness is polled against a
deadline: the process must be alive, the control socket must answer
``core waitfullybooted`` (the AMI port opens *before* the modules load, so an
answering AMI alone does not mean PJSIP is up) and the AMI banner must arrive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from proxy.asterisk.config import AsteriskConfig


class AsteriskProcessError(RuntimeError):
    """Asterisk did not start, did not stop, or its state cannot be read."""


@dataclass(frozen=True)
class AsteriskStatus:
    running: bool
    pid: int | None
    fully_booted: bool
    ami_answering: bool
    config_dir: str
    sip_port: int
    ami_port: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def wait_until(
    predicate: Callable[[], bool],
    timeout: float,
    interval: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed."""
    deadline = clock() + timeout
    while True:
        if predicate():
            return True
        if clock() >= deadline:
            return False
        time.sleep(interval)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def ami_banner(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something on ``host:port`` greets us like the Asterisk manager."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return sock.recv(64).startswith(b"Asterisk Call Manager/")
    except OSError:
        return False


class AsteriskSupervisor:
    """Owns one Asterisk process for one :class:`AsteriskConfig`."""

    def __init__(self, config: AsteriskConfig, binary: str = "asterisk") -> None:
        self._config = config
        self._binary = binary
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> AsteriskConfig:
        return self._config

    def command_line(self) -> list[str]:
        # -f: stay in the foreground so we (or systemd) own the process;
        # -n: no ANSI colours in the console log.
        return [self._binary, "-C", str(self._config.asterisk_conf), "-f", "-n"]

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command over the control socket and return its output."""
        try:
            done = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [self._binary, "-C", str(self._config.asterisk_conf), "-rx", command],
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AsteriskProcessError(f"asterisk -rx {command!r} failed: {exc}") from exc
        if done.returncode != 0:
            raise AsteriskProcessError(
                f"asterisk -rx {command!r} exited {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()[:200]}"
            )
        return done.stdout.decode(errors="replace")

    def pid(self) -> int | None:
        """The pid Asterisk wrote, if that process is still alive."""
        if self._child is not None and self._child.poll() is None:
            return self._child.pid
        try:
            pid = int(self._config.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _fully_booted(self) -> bool:
        if not self._config.ctl_socket.exists():
            return False
        try:
            return "fully booted" in self.cli("core waitfullybooted", timeout=5.0)
        except AsteriskProcessError:
            return False

    def status(self) -> AsteriskStatus:
        pid = self.pid()
        booted = pid is not None and self._fully_booted()
        return AsteriskStatus(
            running=pid is not None,
            pid=pid,
            fully_booted=booted,
            ami_answering=pid is not None and ami_banner("127.0.0.1", self._config.ami_port),
            config_dir=str(self._config.config_dir),
            sip_port=self._config.sip_port,
            ami_port=self._config.ami_port,
        )

    def _tail(self, lines: int = 15) -> str:
        try:
            text = self._config.console_log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def up(self, timeout: float = 30.0) -> AsteriskStatus:
        """Start Asterisk unless it runs already; return once PJSIP and AMI are up."""
        if self.pid() is None:
            self._config.console_log.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                self._config.ctl_socket.unlink()  # stale socket of a killed instance
            with open(self._config.console_log, "ab") as log:
                try:
                    self._child = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                        self.command_line(),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # a Ctrl-C in our terminal is not for it
                    )
                except OSError as exc:
                    raise AsteriskProcessError(f"cannot run {self._binary}: {exc}") from exc

        def ready() -> bool:
            if self.pid() is None:
                raise AsteriskProcessError(f"asterisk exited during start-up:\n{self._tail()}")
            return self._fully_booted() and ami_banner("127.0.0.1", self._config.ami_port)

        if not wait_until(ready, timeout):
            raise AsteriskProcessError(f"asterisk not ready after {timeout:g}s:\n{self._tail()}")
        return self.status()

    def down(self, timeout: float = 15.0) -> AsteriskStatus:
        """Stop Asterisk: ``core stop now``, then SIGTERM, then SIGKILL; wait each time."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(AsteriskProcessError):
                self.cli("core stop now", timeout=timeout)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                if wait_until(lambda: self.pid() is None, timeout / 2):
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if not wait_until(lambda: self.pid() is None, timeout / 2):
                raise AsteriskProcessError(f"asterisk pid {pid} did not stop")
        if self._child is not None:
            self._child.wait(timeout=timeout)  # reap our own child
            self._child = None
        return self.status()
