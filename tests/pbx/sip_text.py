"""Byte-exact SIP MESSAGE ends for the text tests: a texter and a phone inbox.

SIPp plays the texter and the phone in the flow tests; these two plain UDP ends
exist because a SIPp scenario rewrites the line ends of a body (LF -> CRLF), and
the relay must be proven to carry newlines, Hangul and emoji byte for byte.
Real SIP over loopback all the same: Asterisk cannot tell them from a carrier.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from dataclasses import dataclass

from proxy.ami import AmiClient
from proxy.messaging import send_text as send_ami_text


@dataclass(frozen=True)
class ReceivedText:
    request_line: str
    headers: dict[str, str]
    body: bytes
    raw: bytes
    received_at: float = 0.0  # time.perf_counter() on arrival (bench/relay.py)

    @property
    def from_user(self) -> str:
        value = self.headers.get("from", "")
        return value.split("sip:", 1)[1].split("@", 1)[0] if "sip:" in value else ""

    @property
    def to_user(self) -> str:
        return self.request_line.split("sip:", 1)[1].split("@", 1)[0]


def split_datagram(datagram: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = datagram.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "replace").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return lines[0], headers, body


def via_values(datagram: bytes) -> list[str]:
    """The values of every Via header of a request, top first."""
    head = datagram.partition(b"\r\n\r\n")[0].decode("utf-8", "replace")
    values = []
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("via", "v"):
            values.extend(v.strip() for v in value.split(","))
    return values


def message(
    sip_port: int, to: str, sender: str, body: bytes, source: str, port: int
) -> tuple[bytes, str]:
    """A MESSAGE from ``sender`` at ``source:port`` to ``to`` at Asterisk, and its Call-ID."""
    tag = secrets.token_hex(6)
    call_id = f"{secrets.token_hex(10)}@{source}"
    head = (
        f"MESSAGE sip:{to}@127.0.0.1:{sip_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
        f'From: "{sender}" <sip:{sender}@{source}:{port}>;tag={tag}\r\n'
        f"To: <sip:{to}@127.0.0.1:{sip_port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 MESSAGE\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body, call_id


def send_text(sip_port: int, to: str, sender: str, body: bytes, source: str = "127.0.0.1") -> int:
    """Send one MESSAGE from ``sender`` to ``to`` at Asterisk; return the final status."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        port = sock.getsockname()[1]
        datagram, _ = message(sip_port, to, sender, body, source, port)
        sock.settimeout(0.5)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            sock.sendto(datagram, ("127.0.0.1", sip_port))
            try:
                while True:
                    line, _, _ = split_datagram(sock.recv(65535))
                    status = int(line.split()[1])
                    if status >= 200:
                        return status
            except TimeoutError:
                continue
        raise TimeoutError(f"no final answer to a MESSAGE for {to}")


class Inbox:
    """Phones behind the trunk: answers 200 OK to every MESSAGE and keeps it."""

    def __init__(self, port: int) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", port))
        self._sock.settimeout(0.1)
        self._lock = threading.Lock()
        self._texts: list[ReceivedText] = []
        self._seen: set[tuple[str, str]] = set()
        self._other: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                datagram, peer = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            arrived = time.perf_counter()
            line, headers, body = split_datagram(datagram)
            if not line.startswith("MESSAGE "):
                with self._lock:
                    self._other.append(datagram)
                continue
            # Every Via, in order (RFC 3261 8.2.6.2): through the edge the 200 must go
            # on to the node, or the node retransmits for 32 s and the edge, once its
            # transaction is gone, relays the retransmissions here as new requests.
            vias = "".join(f"Via: {v}\r\n" for v in via_values(datagram))
            reply = (
                "SIP/2.0 200 OK\r\n"
                f"{vias}"
                f"From: {headers.get('from', '')}\r\n"
                f"To: {headers.get('to', '')};tag={secrets.token_hex(4)}\r\n"
                f"Call-ID: {headers.get('call-id', '')}\r\n"
                f"CSeq: {headers.get('cseq', '')}\r\n"
                "Content-Length: 0\r\n\r\n"
            )
            self._sock.sendto(reply.encode(), peer)
            key = (headers.get("call-id", ""), headers.get("cseq", ""))
            with self._lock:
                if key not in self._seen:  # a retransmission is one text
                    self._seen.add(key)
                    self._texts.append(ReceivedText(line, headers, body, datagram, arrived))

    def texts(self) -> list[ReceivedText]:
        with self._lock:
            return list(self._texts)

    def texts_since(self, start: int) -> list[ReceivedText]:
        """The texts after the first ``start`` (without copying those)."""
        with self._lock:
            return self._texts[start:]

    def other(self) -> list[bytes]:
        with self._lock:
            return list(self._other)

    def wait(self, count: int, timeout: float = 10) -> list[ReceivedText]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.texts()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.texts())} text(s) arrived, {count} expected")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


MARKER = "marker "


def without_markers(texts: list[ReceivedText]) -> list[ReceivedText]:
    return [t for t in texts if not t.body.startswith(MARKER.encode())]


async def texts_before_marker(inbox: Inbox, ami: AmiClient, trunk: str) -> list[ReceivedText]:
    """What the phones got before a marker text sent now, the marker excluded.

    Asterisk sends every SIP MESSAGE (MessageSend, from any AMI session) through one
    serializer, in order: once the marker arrives, any text handed to Asterisk before
    it is in the inbox too. A negative ("nothing was relayed") then rests on a fact,
    not on a sleep.
    """
    marker = f"{MARKER}{secrets.token_hex(8)}"
    await send_ami_text(ami, trunk, "01000000000", "050400000000", marker)
    got = await asyncio.to_thread(_until_body, inbox, marker.encode())
    return got[: [t.body for t in got].index(marker.encode())]


def _until_body(inbox: Inbox, body: bytes, timeout: float = 10) -> list[ReceivedText]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = inbox.texts()
        if any(t.body == body for t in got):
            return got
        time.sleep(0.02)
    raise AssertionError("the marker text never arrived")
