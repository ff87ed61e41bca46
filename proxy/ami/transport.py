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
``tests/unit/proxy/test_library_faults.py`` that fails against the raw library.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import MappingProxyType

from asterisk.ami import Action, Event, LoginAction, Response
from asterisk.ami.client import AMIClient

from proxy.ami.errors import AmiProtocolError
from proxy.ami.types import AmiMessage

PACKET_END = b"\r\n\r\n"
READ_LIMIT = 4 * 1024 * 1024
"""Largest single packet accepted (a ``Command`` output is one packet)."""


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
