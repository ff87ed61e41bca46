"""SIPp as the phones of the demo: what each one sent and received, read from its trace.

Every run writes its messages with ``-trace_msg``; the demo reads only the *received*
ones to say what each side saw.
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).parent / "scenarios"
_BLOCK = re.compile(r"^-{20,} [0-9-]+ [0-9:.]+\n", re.MULTILINE)
_SEPARATORS = re.compile(r"[\s\-.()/]")


class SippMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Run:
    returncode: int
    received: tuple[str, ...]  # every SIP message this phone received, in order

    def first(self, start: str) -> str | None:
        return next((m for m in self.received if m.startswith(start)), None)

    @property
    def statuses(self) -> list[int]:
        return [int(m.split()[1]) for m in self.received if m.startswith("SIP/2.0 ")]


def header(message: str, name: str) -> str:
    for line in message.splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return ""


def received(trace: Path) -> tuple[str, ...]:
    if not trace.exists():
        return ()
    out = []
    for block in _BLOCK.split(trace.read_text(errors="replace")):
        head, _, body = block.partition("\n")
        if "message received" in head:
            out.append(body.strip("\n"))
    return tuple(out)


def leaks(text: str, national: str) -> list[str]:
    """Spellings of the phone number ``national`` (01012345678) found in ``text``,
    separators ignored: 010-1234-5678, +82 10 1234 5678, 821012345678 ..."""
    core = national[1:]
    spellings = {national, "+82" + core, "82" + core, core}
    found = sorted(s for s in spellings if s in text)
    if not found and core in _SEPARATORS.sub("", text):
        found.append(f"{core} (with separators)")
    return found


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bound(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


class Sipp:
    """Phones on loopback: callers and texters from ``host`` (the trunk's address, the
    only source Asterisk accepts), the driver's phone on the trunk's port."""

    def __init__(self, workdir: Path, pbx: tuple[str, int], trunk: tuple[str, int]) -> None:
        if shutil.which("sipp") is None:
            raise SippMissing("sipp is not installed (make system installs sip-tester)")
        self.workdir = workdir
        self.pbx = pbx
        self.trunk = trunk
        self._runs = 0

    def _argv(self, scenario: str, port: int, timeout: float) -> tuple[list[str], Path]:
        self._runs += 1
        trace = self.workdir / f"{self._runs:02d}-{scenario}.log"
        argv = [
            *("sipp", "-sf", str(SCENARIOS / f"{scenario}.xml")),
            *("-i", self.trunk[0], "-p", str(port), "-m", "1", "-nostdin"),
            *("-timeout", f"{timeout:g}", "-timeout_error"),
            *("-trace_msg", "-message_file", str(trace)),
        ]
        return argv, trace

    def send(self, scenario: str, to: str, timeout: float = 30, **keys: str) -> Run:
        """Run a caller or texter scenario towards Asterisk and wait for it to end."""
        argv, trace = self._argv(scenario, free_udp_port(), timeout)
        argv += ["-s", to, "-mp", str(free_udp_port())]
        for key, value in keys.items():
            argv += ["-key", key, value]
        argv.append(f"{self.pbx[0]}:{self.pbx[1]}")
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            argv, capture_output=True, timeout=timeout + 10, check=False
        )
        return Run(done.returncode, received(trace))

    @contextlib.contextmanager
    def phone(self, scenario: str, timeout: float = 60) -> Iterator[Phone]:
        """The driver's phone on the trunk port for the duration of the block."""
        if _bound(*self.trunk):
            raise RuntimeError(
                f"something already listens on the trunk address {self.trunk[0]}:"
                f"{self.trunk[1]} (SAFENUM_TRUNK_ADDR); the demo's phone needs it"
            )
        argv, trace = self._argv(scenario, self.trunk[1], timeout)
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        phone = Phone(proc, trace)
        try:
            deadline = time.monotonic() + 5
            while not _bound(*self.trunk):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"SIPp {scenario} did not start on the trunk port")
                time.sleep(0.02)
            yield phone
        finally:
            phone.hang_up(0)


class Phone:
    def __init__(self, proc: subprocess.Popen[bytes], trace: Path) -> None:
        self._proc = proc
        self._trace = trace

    def seen(self) -> tuple[str, ...]:
        return received(self._trace)

    def wait(self, timeout: float) -> Run:
        """Wait for the scenario to finish (or kill it after ``timeout`` seconds)."""
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        return Run(self._proc.returncode, received(self._trace))

    def hang_up(self, timeout: float) -> Run:
        return self.wait(timeout)
