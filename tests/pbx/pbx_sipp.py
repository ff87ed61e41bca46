"""SIPp phones and a trunk trap for the pbx tier.

The caller is a SIPp UAC on the trunk's address (the carrier delivering a call);
the driver is a SIPp UAS on the trunk's port (where Asterisk sends calls to real
phones). Every SIPp run writes its messages with ``-trace_msg``; the privacy
tests read only the *received* ones.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from proxy.ami import AmiSettings
from proxy.asterisk.config import AsteriskConfig
from proxy.asterisk.process import AsteriskSupervisor, wait_until

SCENARIOS = Path(__file__).parent / "scenarios"
DTMF_PCAPS = Path("/usr/share/sip-tester")  # RFC 4733 DTMF captures shipped with SIPp
CALLER_NUMBER = "01099998888"  # fictitious
DRIVER_NATIONAL = "01012345678"  # fictitious
DRIVER_E164 = "+821012345678"
DIAL_TIMEOUT = 2
TONE_SECONDS = 0.3
MENU_TIMEOUT = 1.5

_BLOCK = re.compile(r"^-{20,} [0-9-]+ [0-9:.]+\n", re.MULTILINE)
_SEPARATORS = re.compile(r"[\s\-.()/]")


@dataclass(frozen=True)
class SipMessage:
    received: bool
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def status(self) -> int | None:
        match = re.match(r"SIP/2.0 (\d{3})", self.first_line)
        return int(match.group(1)) if match else None


@dataclass(frozen=True)
class SippRun:
    returncode: int
    messages: tuple[SipMessage, ...]
    log_text: str

    @property
    def received(self) -> list[SipMessage]:
        return [m for m in self.messages if m.received]

    @property
    def final_status(self) -> int | None:
        finals = [m.status for m in self.received if m.status and m.status >= 200]
        return finals[-1] if finals else None

    @property
    def statuses(self) -> list[int]:
        return [m.status for m in self.received if m.status]


def parse_messages(path: Path) -> tuple[SipMessage, ...]:
    if not path.exists():
        return ()
    out = []
    for block in _BLOCK.split(path.read_text(errors="replace")):
        head, _, body = block.partition("\n")
        if "message received" in head:
            out.append(SipMessage(True, body.strip("\n")))
        elif "message sent" in head:
            out.append(SipMessage(False, body.strip("\n")))
    return tuple(out)


def leaks(text: str, national: str) -> list[str]:
    """Spellings of ``national`` (e.g. 01012345678) found in ``text``.

    Separators are removed first, so 010-1234-5678, 010 1234 5678 and
    +82-10-1234-5678 are all caught by the significant digits 1012345678.
    """
    core = national[1:]
    spellings = {national, "+82" + core, "82" + core, core, _dashed(national), _dashed(core)}
    found = [s for s in spellings if s in text]
    if core in _SEPARATORS.sub("", text) and not found:
        found.append(f"{core} (with separators)")
    return found


def _dashed(digits: str) -> str:
    return f"{digits[:-8]}-{digits[-8:-4]}-{digits[-4:]}"


def udp_port_bound(host: str, port: int) -> bool:
    """True when somebody listens on ``host:port`` UDP, read from ``/proc/net/udp``.

    Never by binding the port ourselves: a probe that holds it for an instant can make
    the very SIPp we are waiting for fail to bind it (seen under load in CI).
    """
    want = f"{port:04X}"
    for table in (Path("/proc/net/udp"), Path("/proc/net/udp6")):
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        if any(line.split()[1].endswith(f":{want}") for line in lines if line.split()):
            return True
    return False


class Sipp:
    """Runs SIPp scenarios against one Asterisk instance."""

    def __init__(
        self, workdir: Path, asterisk_port: int, trunk_port: int, caller_port: int
    ) -> None:
        self.workdir = workdir
        self.asterisk_port = asterisk_port
        self.trunk_port = trunk_port
        self.caller_port = caller_port
        self.media_port = free_port(socket.SOCK_DGRAM)
        self._runs = 0

    def _argv(self, scenario: str, ip: str, port: int, log: Path, timeout: float) -> list[str]:
        return [
            "sipp",
            "-sf",
            str(SCENARIOS / f"{scenario}.xml"),
            "-i",
            ip,
            "-p",
            str(port),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            f"{timeout:g}",
            "-timeout_error",
            "-trace_msg",
            "-message_file",
            str(log),
        ]

    def _log(self, role: str) -> Path:
        self._runs += 1
        return self.workdir / f"{self._runs:03d}-{role}.log"

    def call(
        self,
        dialled: str,
        source_ip: str = "127.0.0.1",
        scenario: str = "caller",
        timeout: float = 15.0,
        caller: str = CALLER_NUMBER,
    ) -> SippRun:
        """Place one call from the carrier side and return when SIPp finished."""
        log = self._log("caller")
        argv = self._argv(scenario, source_ip, self.caller_port, log, timeout)
        argv += ["-s", dialled, "-key", "caller", caller]
        argv.append(f"127.0.0.1:{self.asterisk_port}")
        done = subprocess.run(argv, capture_output=True, timeout=timeout + 5, check=False)
        return SippRun(done.returncode, parse_messages(log), done.stdout.decode(errors="replace"))

    def call_menu(
        self,
        dialled: str,
        keys: Sequence[tuple[int, str]] = (),
        hold_ms: int = 3000,
        caller: str = CALLER_NUMBER,
        timeout: float = 30.0,
    ) -> SippRun:
        """A caller who reaches the menu, presses ``keys`` ((ms after the previous, key))
        and hangs up ``hold_ms`` after the last one unless Asterisk hangs up first."""
        steps = []
        for pause_ms, key in keys:
            name = {"*": "star", "#": "pound"}.get(key, key)
            steps.append(f'  <pause milliseconds="{pause_ms}"/>')
            steps.append(
                "  <nop><action><exec play_pcap_audio="
                f'"{DTMF_PCAPS}/dtmf_2833_{name}.pcap"/></action></nop>'
            )
        text = (SCENARIOS / "caller_menu.tmpl").read_text()
        text = text.replace("@KEYS@", "\n".join(steps)).replace("@HOLD_MS@", str(hold_ms))
        self._runs += 1
        scenario = self.workdir / f"{self._runs:03d}-menu.xml"
        scenario.write_text(text)
        log = self._log("caller")
        argv = self._argv("caller_menu", "127.0.0.1", self.caller_port, log, timeout)
        argv[2] = str(scenario)
        argv += ["-s", dialled, "-key", "caller", caller, "-mp", str(self.media_port)]
        argv.append(f"127.0.0.1:{self.asterisk_port}")
        done = subprocess.run(argv, capture_output=True, timeout=timeout + 5, check=False)
        return SippRun(done.returncode, parse_messages(log), done.stdout.decode(errors="replace"))

    def text(
        self, dialled: str, body: bytes, caller: str = CALLER_NUMBER, timeout: float = 15.0
    ) -> SippRun:
        """The carrier delivering one MESSAGE with ``body`` (UTF-8 with CRLF line ends,
        no leading blanks on a line and no trailing line end: SIPp would rewrite those)."""
        text = body.decode()
        if "\n" in text.replace("\r\n", "") or any(ln[:1].isspace() for ln in text.split("\r\n")):
            raise ValueError("SIPp would not send this body byte for byte")
        self._runs += 1
        scenario = self.workdir / f"{self._runs:03d}-text.xml"
        template = (SCENARIOS / "message_body.tmpl").read_text()
        scenario.write_text(template.replace("@BODY@", text), encoding="utf-8")
        log = self._log("texter")
        argv = self._argv("message", "127.0.0.1", self.caller_port, log, timeout)
        argv[2] = str(scenario)
        argv += ["-s", dialled, "-key", "caller", caller, f"127.0.0.1:{self.asterisk_port}"]
        done = subprocess.run(argv, capture_output=True, timeout=timeout + 5, check=False)
        return SippRun(done.returncode, parse_messages(log), done.stdout.decode(errors="replace"))

    @contextlib.contextmanager
    def driver(
        self, scenario: str, timeout: float = 15.0, own: str = DRIVER_NATIONAL
    ) -> Iterator[DriverPhone]:
        """Run the phone behind the trunk for the duration of the block.

        ``own`` is the number of whoever answers there (the driver, or the caller a
        callback reaches): the answering scenarios put it in every identity header of
        their 18x and 200 and in the SDP, so a test can prove none of it crosses.
        """
        log = self._log(scenario)
        argv = self._argv(scenario, "127.0.0.1", self.trunk_port, log, timeout)
        argv += ["-key", "own", own, "-key", "own_e164", "+82" + own[1:]]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        phone = DriverPhone(proc, log)
        try:
            if not wait_until(lambda: udp_port_bound("127.0.0.1", self.trunk_port), 10.0):
                raise RuntimeError(f"SIPp {scenario} did not bind the trunk port")
            if proc.poll() is not None:  # the port was someone else's: SIPp could not bind
                raise RuntimeError(f"SIPp {scenario} exited at start: {phone.finish(1).log_text}")
            yield phone
        finally:
            phone.finish(timeout)


class DriverPhone:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self._proc = proc
        self._log = log
        self.run: SippRun | None = None

    def finish(self, timeout: float) -> SippRun:
        if self.run is None:
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            stderr = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
            if self._proc.stderr:
                self._proc.stderr.close()
            self.run = SippRun(self._proc.returncode, parse_messages(self._log), stderr)
        return self.run


class TrunkTrap:
    """A plain UDP socket on the trunk port: proves that nothing was sent to a phone."""

    def __init__(self, port: int) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", port))
        self._sock.setblocking(False)

    def drain(self) -> list[bytes]:
        got = []
        while True:
            try:
                got.append(self._sock.recv(65535))
            except BlockingIOError:
                return got

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> TrunkTrap:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Pbx:
    config: AsteriskConfig
    supervisor: AsteriskSupervisor
    sipp: Sipp

    def ami_settings(self) -> AmiSettings:
        return AmiSettings(
            host="127.0.0.1",
            port=self.config.ami_port,
            username=self.config.ami_user,
            secret=self.config.ami_secret,
            action_timeout=3.0,
            ping_interval=5.0,
            backoff_initial=0.05,
            backoff_max=0.3,
        )
