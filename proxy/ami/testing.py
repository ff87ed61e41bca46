"""A fake Asterisk manager for unit tests: a real TCP server on 127.0.0.1.

It answers from transcripts captured from our real Asterisk
(``tests/unit/proxy/transcripts/*.json``, written by
``tests/pbx/test_pbx_transcripts.py``): every reply is a captured packet with only
the ActionID and the data headers (Family/Key/Val) rewritten, so the client is
tested against the byte layout Asterisk really sends (``ListItems`` is replayed as
captured, so it is wrong for any other count: the client must not trust it; Asterisk
16 even sent ``ListItems: 1`` for every ``DBGetTree``). It keeps an
in-memory AstDB, records every action it received, and has knobs for the
failure modes a unit test needs: stall an action, drop connections, stop and
start, read slowly, push events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

TRANSCRIPTS_DIR = Path(__file__).resolve().parents[2] / "tests" / "unit" / "proxy" / "transcripts"


@dataclass(frozen=True)
class Transcript:
    """Packets Asterisk sent in answer to one captured action."""

    name: str
    action: Mapping[str, str]
    replies: tuple[str, ...]


@dataclass
class TranscriptBook:
    """All exchanges of one capture run, by name."""

    source: str
    banner: str
    exchanges: dict[str, Transcript] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> TranscriptBook:
        data = json.loads(path.read_text(encoding="utf-8"))
        book = cls(data["source"], data["banner"])
        for item in data["exchanges"]:
            book.exchanges[item["name"]] = Transcript(
                item["name"], item["action"], tuple(item["replies"])
            )
        return book

    def __getitem__(self, name: str) -> Transcript:
        return self.exchanges[name]


def default_book() -> TranscriptBook:
    return TranscriptBook.load(TRANSCRIPTS_DIR / "asterisk22.json")


def rewrite(packet: str, **headers: str) -> str:
    """Replace the values of existing ``Name: value`` lines; other lines stay byte-equal."""
    out = []
    for line in packet.split("\r\n"):
        name, sep, _ = line.partition(": ")
        if sep and name in headers:
            line = f"{name}: {headers[name]}"
        out.append(line)
    return "\r\n".join(out)


def parse_action(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in text.split("\r\n"):
        name, sep, value = line.partition(": ")
        if sep:
            headers[name] = value
    return headers


class FakeAmi:
    """An AMI server speaking from a :class:`TranscriptBook`."""

    def __init__(
        self,
        book: TranscriptBook | None = None,
        username: str = "safenum",
        secret: str = "fake-secret-0123456789",  # noqa: S107 - a fake's own default
        rcvbuf: int | None = None,
    ) -> None:
        self.book = book or default_book()
        self.username = username
        self.secret = secret
        self.db: dict[str, str] = {}  # "/family/key" -> value, like AstDB
        self.actions: list[dict[str, str]] = []
        self.malformed: list[str] = []
        self.stalled: set[str] = set()
        self.logins = 0
        self.port = 0
        self._rcvbuf = rcvbuf
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- control -----------------------------------------------------------

    async def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self._rcvbuf is not None:
            # Set before listen() so accepted sockets inherit the small window.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._rcvbuf)
        sock.bind(("127.0.0.1", self.port))
        sock.listen()
        self._server = await asyncio.start_server(self._handle, sock=sock, limit=4 * 1024 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection (an Asterisk restart keeps the port)."""
        if self._server is not None:
            self._server.close()
        await self.drop_connections()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._writers.clear()

    async def __aenter__(self) -> FakeAmi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def pause_reading(self) -> None:
        """Stop reading from every connection: the kernel buffers fill, senders block."""
        for writer in self._writers:
            cast(asyncio.Transport, writer.transport).pause_reading()

    def resume_reading(self) -> None:
        for writer in self._writers:
            cast(asyncio.Transport, writer.transport).resume_reading()

    def received(self, action: str) -> list[dict[str, str]]:
        return [a for a in self.actions if a.get("Action", "").lower() == action.lower()]

    async def emit(self, packet: str) -> None:
        """Send an event packet (e.g. a captured one) to every logged-in connection."""
        for writer in list(self._writers):
            writer.write(packet.encode() + b"\r\n\r\n")
            with contextlib.suppress(OSError):
                await writer.drain()

    # -- protocol ----------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.book.banner.encode() + b"\r\n")
        logged_in = False
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                text = raw.decode("utf-8", "replace")[:-4]
                action = parse_action(text)
                name = action.get("Action", "")
                if not name or text.count("Action: ") != 1:
                    self.malformed.append(text)
                    continue
                self.actions.append(action)
                if name.lower() in self.stalled:
                    continue
                if name == "Login":
                    logged_in = self._login_ok(action)
                    self.logins += logged_in
                    if logged_in:
                        self._writers.add(writer)
                    replies = self._replies("login_ok" if logged_in else "login_failed", action)
                elif not logged_in:
                    replies = self._replies("permission_denied", action)
                else:
                    replies = self._answer(name, action)
                for packet in replies:
                    writer.write(packet.encode() + b"\r\n\r\n")
                await writer.drain()
                if name == "Logoff":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _login_ok(self, action: Mapping[str, str]) -> bool:
        return action.get("Username") == self.username and action.get("Secret") == self.secret

    def _replies(self, name: str, action: Mapping[str, str], **headers: str) -> list[str]:
        action_id = action.get("ActionID", "")
        return [rewrite(p, ActionID=action_id, **headers) for p in self.book[name].replies]

    def _answer(self, name: str, action: Mapping[str, str]) -> list[str]:
        family, key = action.get("Family", ""), action.get("Key", "")
        path = f"/{family}/{key}"
        if name == "Ping":
            return self._replies("ping", action)
        if name == "DBPut":
            self.db[path] = action.get("Val", "")
            return self._replies("dbput", action)
        if name == "DBGet":
            if path in self.db:
                return self._replies(
                    "dbget_found", action, Family=family, Key=key, Val=self.db[path]
                )
            return self._replies("dbget_missing", action)
        if name == "DBDel":
            if self.db.pop(path, None) is not None:
                return self._replies("dbdel_ok", action)
            return self._replies("dbdel_missing", action)
        if name == "DBDelTree":
            prefix = f"/{family}/{key}" if key else f"/{family}"
            doomed = [k for k in self.db if k == prefix or k.startswith(prefix + "/")]
            for k in doomed:
                del self.db[k]
            return self._replies("dbdeltree_ok" if doomed else "dbdeltree_missing", action)
        if name == "DBGetTree":
            prefix = f"/{family}/{key}" if key else f"/{family}"
            rows = sorted((k, v) for k, v in self.db.items() if k.startswith(prefix))
            return self._tree(action, rows)
        if name == "Filter":
            return self._replies("filter", action)
        if name == "Events":
            return self._replies("events", action)
        if name == "Logoff":
            return self._replies("logoff", action)
        if name == "Command":
            return self._replies("command_denied", action)
        reply = self._replies("unknown_action", action)
        return [re.sub(r"command: \w+\.", f"command: {name}.", p) for p in reply]

    def _tree(self, action: Mapping[str, str], rows: Iterable[tuple[str, str]]) -> list[str]:
        # Captured with two rows: response, row, row, complete.
        first, row, _, complete = self._replies("dbgettree", action)
        return [first, *(rewrite(row, Key=k, Val=v) for k, v in rows), complete]
