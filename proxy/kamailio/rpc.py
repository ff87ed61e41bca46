"""The one client of Kamailio's JSON-RPC (module ``jsonrpcs``, datagram transport).

Requests go over the edge's local unix datagram socket; each call binds its own
abstract-namespace socket for the answer, so calls from several threads never
read each other's replies. Transport failures become :class:`EdgeUnavailable`,
JSON-RPC errors :class:`EdgeRpcError`. Only this module spells RPC method names.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_MAX_REPLY = 65_536
PIPELINE = 8
"""Requests in flight in a bulk call: below the kernel's default queue of 10 datagrams
per unix socket (``net.unix.max_dgram_qlen``), so our replies always fit in our queue;
a send to a queue that is full (other callers at once) only waits, within the timeout."""


class EdgeUnavailable(RuntimeError):
    """The edge's RPC socket does not answer."""

    def __init__(self, socket_path: Path, reason: str) -> None:
        super().__init__(f"kamailio rpc at {socket_path}: {reason}")
        self.socket_path = socket_path


class EdgeRpcError(RuntimeError):
    """Kamailio answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method}: {code} {message}")
        self.code = code


@dataclass(frozen=True, slots=True)
class Destination:
    """One dispatcher destination and its state flags (e.g. ``AP``, ``IP``, ``DX``)."""

    uri: str
    flags: str

    @property
    def active(self) -> bool:
        return self.flags.upper().startswith("A")


class EdgeRpc:
    def __init__(self, socket_path: Path, timeout: float = 2.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._ids = 0
        self._lock = threading.Lock()

    def call(self, method: str, *params: str | int) -> Any:
        with self._lock:
            self._ids += 1
            ident = self._ids
        request = json.dumps(
            {"jsonrpc": "2.0", "method": method, "params": list(params), "id": ident}
        ).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            try:
                # Abstract name (leading NUL): nothing to clean up on the disk.
                sock.bind(f"\0safenum-edge-{os.getpid()}-{ident}-{id(sock)}")
                sock.sendto(request, str(self.socket_path))
                reply = sock.recv(_MAX_REPLY)
            except OSError as exc:
                raise EdgeUnavailable(self.socket_path, type(exc).__name__) from exc
        try:
            answer = json.loads(reply)
        except ValueError as exc:
            raise EdgeUnavailable(self.socket_path, "unreadable reply") from exc
        if "error" in answer:
            error = answer["error"]
            raise EdgeRpcError(method, int(error.get("code", 0)), str(error.get("message", "")))
        return answer.get("result")

    def call_many(self, method: str, params: Iterable[Sequence[str | int]]) -> int:
        """Call ``method`` once per parameter list, pipelined: up to ``PIPELINE`` requests
        in flight on one reply socket (a bulk load pays one round trip per window, not
        per call). Returns the calls made; the first JSON-RPC error raises, after the
        requests in flight are answered."""
        made = 0
        failure: EdgeRpcError | None = None
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            in_flight = 0

            def settle() -> None:
                nonlocal in_flight, failure
                answer = json.loads(sock.recv(_MAX_REPLY))
                in_flight -= 1
                if "error" in answer and failure is None:
                    error = answer["error"]
                    failure = EdgeRpcError(
                        method, int(error.get("code", 0)), str(error.get("message", ""))
                    )

            try:
                sock.bind(f"\0safenum-edge-{os.getpid()}-bulk-{id(sock)}")
                for args in params:
                    if in_flight >= PIPELINE:
                        settle()
                    made += 1
                    request = {"jsonrpc": "2.0", "method": method, "params": list(args)}
                    sock.sendto(json.dumps({**request, "id": made}).encode(), str(self.socket_path))
                    in_flight += 1
                while in_flight:
                    settle()
            except OSError as exc:
                raise EdgeUnavailable(self.socket_path, type(exc).__name__) from exc
            except ValueError as exc:
                raise EdgeUnavailable(self.socket_path, "unreadable reply") from exc
        if failure is not None:
            raise failure
        return made

    # typed calls -------------------------------------------------------------
    def version(self) -> str:
        return str(self.call("core.version"))

    def uptime(self) -> int:
        """Seconds since this Kamailio started (a smaller value: it restarted)."""
        return int(self.call("core.uptime")["uptime"])

    def shm_used(self) -> int:
        """Bytes of shared memory in use (the hash tables live there)."""
        return int(self.call("core.shmmem")["real_used"])

    def table_get(self, table: str, key: str) -> str | None:
        try:
            result = self.call("htable.get", table, key)
        except EdgeRpcError:
            return None  # "key not found"
        item = result.get("item", {}) if isinstance(result, dict) else {}
        value = item.get("value")
        return None if value is None else str(value)

    def table_set(self, table: str, key: str, value: str) -> None:
        self.call("htable.sets", table, key, value)

    def table_set_many(self, table: str, keys: Iterable[str], value: str) -> int:
        """Set every key of ``keys`` to ``value`` (a full reload); returns how many."""
        return self.call_many("htable.sets", ((table, key, value) for key in keys))

    def table_delete(self, table: str, key: str) -> None:
        with contextlib.suppress(EdgeRpcError):  # not there: deleted already
            self.call("htable.delete", table, key)

    def table_flush(self, table: str) -> None:
        self.call("htable.flush", table)

    def table_size(self, table: str) -> int:
        for row in self.call("htable.stats") or []:
            if row.get("name") == table:
                return int(row.get("all", 0))
        raise EdgeRpcError("htable.stats", 0, f"no table {table}")

    def destinations(self) -> list[Destination]:
        result = self.call("dispatcher.list")
        out: list[Destination] = []
        for record in result.get("RECORDS", []):
            for target in record.get("SET", {}).get("TARGETS", []):
                dest = target.get("DEST", {})
                out.append(Destination(str(dest.get("URI")), str(dest.get("FLAGS"))))
        return out

    def set_destination_state(self, state: str, uri: str, group: int = 1) -> None:
        self.call("dispatcher.set_state", state, group, uri)
