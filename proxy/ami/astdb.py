"""AstDB actions of :class:`proxy.ami.AmiClient`: one key at a time, or in bulk.

The bulk ones serve the replicas' reconcile: ``db_tree`` reads a whole family in
one ``DBGetTree`` (streamed, never held as messages), ``db_put_many`` and
``db_del_many`` pipeline their actions (``AmiClient.pipeline``). Families and keys
are validated here, so nothing else needs to know AstDB's path rules.

Cost in Asterisk 22 (``main/db.c``): ``DBGet``, ``DBPut`` and ``DBDel`` look one
key up by the primary key (``WHERE key=?``); ``DBGetTree`` and ``DBDelTree`` with
a family match ``key || '/' LIKE ?``, which no index serves: each scans the whole
table (about a second with 10^6 routes, docs/benchmarks.md). So one key is read
with ``DBGet`` (:meth:`db_get`, :meth:`db_get_many`), never with a tree, and
trees are read only where a whole family is wanted (reconcile, periodic scans).
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from proxy.ami.errors import AmiActionFailed
from proxy.ami.types import AmiListResult, AmiMessage

EventSink = Callable[[AmiMessage], None]

_FAMILY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_KEY = re.compile(r"^[A-Za-z0-9_.+-]+$")

NOT_FOUND = "Database entry not found"
"""``DBGet``'s ``Message`` for a missing key (``main/db.c`` ``manager_dbget``).

Asterisk gives the same answer when its SQLite step itself fails on that key
(logged there as a warning): a read can tell "absent" from a refused action
(no such family or key header, permission, a lost link), not from a database
fault inside Asterisk. The write paths do not rely on it: a put is checked by
its own answer."""


@dataclass(frozen=True)
class DbEntry:
    """One AstDB row; ``key`` is relative to ``family``."""

    family: str
    key: str
    value: str


def _check_family(family: str) -> None:
    if not _FAMILY.match(family):
        raise ValueError(f"invalid AstDB family: {family!r}")


def valid_key(key: str) -> bool:
    """Whether ``key`` can be addressed in one ``DB*`` action (no ``/``, no spaces)."""
    return _KEY.match(key) is not None


def _check_key(key: str) -> None:
    if not _KEY.match(key):
        raise ValueError(f"invalid AstDB key: {key!r}")


class AstDbActions(ABC):
    """The ``DB*`` actions, over the transport primitives a client provides."""

    @abstractmethod
    async def action(
        self, name: str, headers: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> AmiMessage: ...

    @abstractmethod
    async def list_action(
        self,
        name: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        sink: EventSink | None = None,
    ) -> AmiListResult: ...

    @abstractmethod
    async def pipeline(
        self, name: str, actions: Iterable[Mapping[str, str]]
    ) -> list[tuple[int, AmiMessage]]: ...

    async def db_put(self, family: str, key: str, value: str) -> None:
        _check_family(family)
        _check_key(key)
        await self.action("DBPut", {"Family": family, "Key": key, "Val": value})

    async def db_get_tree(self, family: str, key: str | None = None) -> list[DbEntry]:
        """Every row under ``family`` (or under ``family/key``), complete."""
        tree = await self.db_tree(family, key)
        return [DbEntry(family, k, v) for k, v in tree.items()]

    async def db_tree(self, family: str, key: str | None = None) -> dict[str, str]:
        """Every row under ``family`` (or ``family/key``) in one ``DBGetTree``: key -> value.

        Keys are relative to ``family``; rows are read as they stream in, never
        kept as messages (10^6 rows take seconds, not gigabytes).
        """
        _check_family(family)
        headers = {"Family": family}
        if key is not None:
            _check_key(key)
            headers["Key"] = key
        prefix = f"/{family}/"
        tree: dict[str, str] = {}

        def row(event: AmiMessage) -> None:
            path = event.headers.get("Key", "")
            if event.name == "DBGetTreeResponse" and path.startswith(prefix):
                tree[path[len(prefix) :]] = event.headers.get("Val", "")

        await self.list_action("DBGetTree", headers, sink=row)
        return tree

    async def db_put_many(self, family: str, rows: Iterable[tuple[str, str]]) -> int:
        """``DBPut`` every ``(key, value)`` under ``family``, pipelined; returns the count.

        Raises :class:`AmiActionFailed` if Asterisk refused any (all others are
        written); on a lost link, see :meth:`pipeline`. Putting is idempotent.
        """
        _check_family(family)

        count = 0

        def actions() -> Iterable[Mapping[str, str]]:
            nonlocal count
            for key, value in rows:
                _check_key(key)
                count += 1
                yield {"Family": family, "Key": key, "Val": value}

        failures = await self.pipeline("DBPut", actions())
        if failures:
            first = failures[0][1].headers.get("Message", "")
            raise AmiActionFailed("DBPut", f"{len(failures)} of {count} refused: {first}")
        return count

    async def db_del_many(self, family: str, keys: Iterable[str]) -> int:
        """``DBDel`` every key under ``family``, pipelined; returns how many existed.

        A key already absent is not an error (idempotent, like :meth:`db_del`).
        """
        _check_family(family)
        doomed = list(keys)
        for key in doomed:
            _check_key(key)
        failures = await self.pipeline("DBDel", ({"Family": family, "Key": k} for k in doomed))
        if failures:
            # DBDel answers a missing key with the same error as a refused one:
            # an indexed read of the failed keys tells them apart.
            left = (await self.db_get_many(family, (doomed[i] for i, _ in failures))).keys()
            if left:
                first = failures[0][1].headers.get("Message", "")
                raise AmiActionFailed("DBDel", f"{len(left)} of {len(doomed)} refused: {first}")
        return len(doomed) - len(failures)

    async def db_get(self, family: str, key: str) -> str | None:
        """The value, or None when absent: one ``DBGet`` (an indexed lookup).

        Absent is told from other errors by Asterisk's message (:data:`NOT_FOUND`);
        any other ``Response: Error`` raises :class:`AmiActionFailed`.
        """
        _check_family(family)
        _check_key(key)
        found: list[str] = []

        def row(event: AmiMessage) -> None:
            if event.name == "DBGetResponse":
                found.append(event.headers.get("Val", ""))

        try:
            await self.list_action("DBGet", {"Family": family, "Key": key}, sink=row)
        except AmiActionFailed as exc:
            if exc.message.rstrip(".") == NOT_FOUND:
                return None
            raise
        return found[-1] if found else None

    async def db_get_many(self, family: str, keys: Iterable[str]) -> dict[str, str]:
        """The keys of ``family`` that exist, with their values: one ``DBGet`` each,
        all in flight at once on the link (an indexed lookup each, never a scan)."""
        _check_family(family)
        wanted = list(dict.fromkeys(keys))
        for key in wanted:
            _check_key(key)
        values = await asyncio.gather(*(self.db_get(family, k) for k in wanted))
        return {k: v for k, v in zip(wanted, values, strict=True) if v is not None}

    async def db_del(self, family: str, key: str) -> bool:
        """Delete one key; False if it was already absent (idempotent)."""
        _check_family(family)
        _check_key(key)
        try:
            await self.action("DBDel", {"Family": family, "Key": key})
        except AmiActionFailed:
            if await self.db_get(family, key) is None:
                return False
            raise
        return True

    async def db_deltree(self, family: str, key: str | None = None) -> bool:
        """Delete a family (or one sub-tree); False if there was nothing to delete."""
        _check_family(family)
        headers = {"Family": family}
        if key is not None:
            _check_key(key)
            headers["Key"] = key
        try:
            await self.action("DBDelTree", headers)
        except AmiActionFailed:
            if not await self.db_get_tree(family, key):
                return False
            raise
        return True
