"""Start, stop and inspect one Asterisk instance running on our rendered config.

Used by ``safenum asterisk up/down/status`` in development and by the pbx test
tier; in production systemd supervises the same command line
(``deploy/systemd/safenum-asterisk.service``). Readiness is polled against a
deadline: the process must be alive, the control socket must answer
``core waitfullybooted`` (the AMI port opens *before* the modules load, so an
answering AMI alone does not mean PJSIP is up), and *our* process must hold the
SIP (UDP) and AMI (TCP) ports. A banner on the AMI port proves nothing: another
Asterisk may answer there while ours failed to bind, and then ours would be
"ready" without receiving a single call. Ports held by another process fail
``up`` with a message naming the port, before or after the start.

Our instance is recognised by its command line (``-C <our asterisk.conf>``), so
``down`` stops it even when its pid file is gone, and a stale pid file whose pid
now belongs to another process is never signalled.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from proxy.asterisk import procfs
from proxy.asterisk.astdb import use_wal
from proxy.asterisk.config import AsteriskConfig
from proxy.asterisk.install import AsteriskNotInstalled


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


def ami_banner(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something on ``host:port`` greets us like the Asterisk manager."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            return sock.recv(64).startswith(b"Asterisk Call Manager/")
    except OSError:
        return False


class AsteriskSupervisor:
    """Owns one Asterisk process for one :class:`AsteriskConfig`."""

    def __init__(self, config: AsteriskConfig) -> None:
        self._config = config
        self._binary = str(config.install.binary)
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

    def _is_ours(self, pid: int) -> bool:
        """True when ``pid`` is an Asterisk server (not a remote console) on our config."""
        argv = procfs.cmdline(pid)
        conf = str(self._config.asterisk_conf)
        server = not any(arg.startswith("-r") or arg.startswith("-R") for arg in argv)
        return server and any(a == "-C" and b == conf for a, b in itertools.pairwise(argv))

    def pid(self) -> int | None:
        """The pid of our Asterisk if it runs: our child, the pid file, or a scan."""
        pid = procfs.supervised_pid(self._child, self._config.pid_file, self._is_ours)
        if pid is not None:
            return pid
        # No (or a stale) pid file: find the server started on our asterisk.conf.
        return next((p for p in procfs.pids() if self._is_ours(p) and procfs.alive(p)), None)

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

    def _ports(self) -> tuple[tuple[str, procfs.Proto, str, int], ...]:
        cfg = self._config
        return (
            ("SIP", "udp", cfg.sip_bind_host, cfg.sip_port),
            ("AMI", "tcp", "127.0.0.1", cfg.ami_port),
        )

    @staticmethod
    def _in_use(label: str, proto: procfs.Proto, host: str, port: int) -> str:
        holders = procfs.port_holders(proto, port)
        who = ", ".join(str(h) for h in holders) if holders else "another process"
        return f"{label} port {port}/{proto} on {host} is in use by {who}"

    def _check_ports_free(self) -> None:
        """Refuse to start when the SIP or AMI port is taken: Asterisk would start
        anyway, log the failed bind and never receive a call."""
        for label, proto, host, port in self._ports():
            kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
            with socket.socket(socket.AF_INET, kind) as probe:
                if proto == "tcp":  # as Asterisk does: TIME_WAIT leftovers are no obstacle
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    raise AsteriskProcessError(self._in_use(label, proto, host, port)) from exc

    def _unbound(self, pid: int) -> str | None:
        """Why ``pid`` is not serving: the first port it does not hold, or None."""
        for label, proto, host, port in self._ports():
            if not procfs.holds_port(pid, proto, port):
                return self._in_use(label, proto, host, port) + "; Asterisk could not bind it"
        return None

    def up(self, timeout: float = 30.0) -> AsteriskStatus:
        """Start Asterisk unless it runs already; return once PJSIP and AMI are up."""
        if self.pid() is None:
            try:
                self._config.install.verify()
            except AsteriskNotInstalled as exc:
                raise AsteriskProcessError(str(exc)) from exc
            self._check_ports_free()
            use_wal(self._config.astdb_file)  # also a database deleted since write_config
            try:
                self._child = procfs.start_logged(
                    self.command_line(),
                    self._config.console_log,
                    stale_socket=self._config.ctl_socket,
                )
            except OSError as exc:
                raise AsteriskProcessError(f"cannot run {self._binary}: {exc}") from exc

        def ready() -> bool:
            pid = self.pid()
            if pid is None:
                raise AsteriskProcessError(f"asterisk exited during start-up:\n{self._tail()}")
            if not (self._fully_booted() and ami_banner("127.0.0.1", self._config.ami_port)):
                return False
            # Fully booted means every module loaded: the binds have succeeded or failed.
            problem = self._unbound(pid)
            if problem is not None:
                with contextlib.suppress(AsteriskProcessError):
                    self.down()
                raise AsteriskProcessError(problem)
            return True

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
