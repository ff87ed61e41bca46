"""The wire: the only module that imports ``asterisk-ami``.

asterisk-ami 0.1.7 is used for what it gets right, the AMI framing: the
``Asterisk Call Manager/x.y`` banner pattern, ``Action``/``LoginAction``
serialisation and ``Response``/``Event`` parsing. Its ``AMIClient`` is not used
because its faults sit in the parts a wrapper cannot reach without replacing
them anyway:

(a) the reader thread shares the socket's 3 s timeout, so the first idle period
    without events raises ``socket.timeout`` inside ``listen()`` and the thread
    dies silently; every later action waits for a response nobody reads;
(b) ``fire_recv_reponse`` completes an action's future with its *first* packet,
    so a list action (``DBGetTree``) returns ``EventList: start`` and no rows;
(c) ``send`` calls ``socket.send`` (not ``sendall``) from any thread without a
    lock: a partial write silently drops the rest of the action and two
    threads can interleave their bytes;
(d) ``_futures`` only loses an entry when its response arrives, so every timed
    out action leaks one future forever.

So the socket is read and written here with asyncio streams instead: one
writer on the event loop (no threads, nothing to lock across threads, and
``drain`` handles partial writes), no read timeout (idle is normal; the client's
keep-alive ``Ping`` detects a dead peer), and completion is left to the client,
which tracks ``EventList`` markers. Each fault has a test in
``tests/unit/proxy/test_ami_library_faults.py`` that fails against the raw library.

Bulk AstDB work (10^6 routes) made the library's per-packet cost the bound of a
load (about 40-70 us of client CPU per ``DBPut``), so two hot paths do without it:
:func:`encode_actions` writes many actions into one buffer with plain string
formatting (the same bytes ``Action.__str__`` gives), and :func:`decode_packet`
reads a packet whose every line is a plain ``Key: value`` header itself (every
response and event AstDB actions get), leaving anything else (``Command`` output,
repeated or ``ChanVariable`` headers) to the library, whose rules it mirrors.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from asterisk.ami import Action, Event, LoginAction, Response
from asterisk.ami.client import AMIClient

from proxy.ami.errors import AmiProtocolError
from proxy.ami.types import AmiMessage

PACKET_END = b"\r\n\r\n"
READ_LIMIT = 4 * 1024 * 1024
"""Largest single packet accepted (a ``Command`` output is one packet)."""


_HEADER_KEY = re.compile(r"^[A-Za-z0-9_-]+$")  # the library's Response.key_regex
_CR_LF = re.compile(r"[\r\n]")


def _check_header(key: str, value: str) -> None:
    # The library writes "key: value\r\n" verbatim: a CR or LF in a value would
    # let a caller inject headers (or a whole second action, e.g. Originate).
    if not key or any(c in key for c in ":\r\n") or any(c in value for c in "\r\n"):
        raise AmiProtocolError(f"refusing header {key!r}: CR, LF or ':' not allowed")


def encode_action(name: str, headers: Mapping[str, str]) -> bytes:
    """Serialise one action, terminated by the empty line."""
    _check_header("Action", name)
    for key, value in headers.items():
        _check_header(key, value)
    if name == "Login":
        action: Action = LoginAction(headers["Username"], headers["Secret"])
        action.keys.update({k: v for k, v in headers.items() if k not in action.keys})
    else:
        action = Action(name, dict(headers))
    return (str(action) + "\r\n").encode("utf-8")


def encode_actions(name: str, actions: Iterable[tuple[str, Mapping[str, str]]]) -> bytes:
    """Serialise many ``(ActionID, headers)`` actions of one kind into one buffer.

    Byte-equal to :func:`encode_action` for each (pipelining: one write for many);
    header keys must be plain names and no value may hold a CR or LF.
    """
    _check_header("Action", name)
    head = f"Action: {name}\r\nActionID: "
    known: set[str] = set()
    parts: list[str] = []
    for action_id, headers in actions:
        if _CR_LF.search(action_id):
            raise AmiProtocolError("refusing header 'ActionID': CR or LF not allowed")
        parts += (head, action_id, "\r\n")
        for key, value in headers.items():
            if key not in known:
                if not _HEADER_KEY.match(key):
                    raise AmiProtocolError(f"refusing header {key!r}: not a plain name")
                known.add(key)
            if _CR_LF.search(value):
                raise AmiProtocolError(f"refusing header {key!r}: CR or LF not allowed")
            parts.append(f"{key}: {value}\r\n")
        parts.append("\r\n")
    return "".join(parts).encode("utf-8")


def _plain_headers(lines: list[str], strip: bool) -> dict[str, str] | None:
    """``Key: value`` lines as a dict, or None when the library's rules are needed."""
    headers: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep or key in headers or not _HEADER_KEY.match(key) or "Variable" in key:
            return None  # follows-text, a repeated header, ChanVariable-style dicts
        headers[key] = value.strip() if strip else value
    return headers


def _flatten(keys: Mapping[str, object]) -> dict[str, str]:
    # Event.read turns ChanVariable-style headers into dicts; keep them addressable.
    flat: dict[str, str] = {}
    for key, value in keys.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                flat[f"{key}({sub})"] = str(subvalue)
        else:
            flat[key] = str(value)
    return flat


def decode_packet(text: str) -> AmiMessage | None:
    """Parse one packet (without its terminating empty line); None if unknown."""
    lines = text.splitlines()  # as the library splits
    first, _, value = lines[0].partition(": ") if lines else ("", "", "")
    kind = first.lower()
    if kind in ("response", "event"):
        plain = _plain_headers(lines[1:], strip=kind == "response")
        if plain is not None:
            if kind == "response":
                return AmiMessage("response", value.strip(), MappingProxyType(plain))
            return AmiMessage("event", value, MappingProxyType(plain))
    return decode_with_library(text)


def decode_with_library(text: str) -> AmiMessage | None:
    """The library's reading of a packet: what :func:`decode_packet` must equal."""
    if Response.match(text):
        response = Response.read(text)
        headers = _flatten(response.keys)
        if response.follows:
            headers["Output"] = "\n".join(filter(None, [headers.get("Output"), *response.follows]))
        return AmiMessage("response", response.status, MappingProxyType(headers))
    if Event.match(text):
        event = Event.read(text)
        return AmiMessage("event", event.name, MappingProxyType(_flatten(event.keys)))
    return None


class AmiStream:
    """One TCP connection to the manager, framed into :class:`AmiMessage` packets."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, version: str
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self.version = version

    @classmethod
    async def open(cls, host: str, port: int, timeout: float) -> AmiStream:
        """Connect and read the banner. Raises OSError/TimeoutError/AmiProtocolError."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
        # cancellation that arrives as the connection completes.
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=READ_LIMIT)
        try:
            async with asyncio.timeout(timeout):
                line = await reader.readline()
            match = AMIClient.asterisk_start_regex.match(line.decode("utf-8", "replace"))
            if match is None:
                raise AmiProtocolError(f"{host}:{port} is not an Asterisk manager")
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, match.group("version"))

    async def send(self, name: str, headers: Mapping[str, str]) -> None:
        """Write one whole action; concurrent callers never interleave."""
        data = encode_action(name, headers)
        async with self._write_lock:
            self._writer.write(data)
            await self._writer.drain()

    async def send_raw(self, data: bytes) -> None:
        """Write pre-encoded actions (:func:`encode_actions`) as one unit."""
        async with self._write_lock:
            self._writer.write(data)
            await self._writer.drain()

    async def receive(self) -> AmiMessage:
        """Next packet; raises ``ConnectionError`` when the peer closed."""
        while True:
            try:
                raw = await self._reader.readuntil(PACKET_END)
            except asyncio.IncompleteReadError as exc:
                raise ConnectionResetError("manager closed the connection") from exc
            except asyncio.LimitOverrunError as exc:
                raise AmiProtocolError("AMI packet larger than READ_LIMIT") from exc
            text = raw[: -len(PACKET_END)].decode("utf-8", "replace").lstrip("\r\n")
            if not text:
                continue
            message = decode_packet(text)
            if message is not None:
                return message

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
