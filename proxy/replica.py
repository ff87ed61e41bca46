"""Keep Asterisk's AstDB route table an exact replica of the active routes.

The dialplan routes a call by reading ``safenum/route/<050 number>`` (the families
are spelled in :mod:`proxy.dialplan`), so the database stays the source of truth and
Asterisk needs no database driver. Writes are pushed one by one (``put``/``delete``,
by the bridge's outbox applier); ``reconcile`` heals whatever a crash, a lost AMI
link or an Asterisk restart (fresh AstDB) left behind, and runs on every
(re)connect of the AMI link. It reads the whole family in one ``DBGetTree`` and
writes only the difference, pipelined (``AmiClient.db_put_many``/``db_del_many``):
10^6 routes into an empty AstDB in well under a minute (``bench/routes.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from numbering.types import SafeNumber
from proxy.ami import DbEntry, valid_key
from proxy.dialplan import DRIVER_PHONE, GENERATION_KEY, META_FAMILY, ROUTE_FAMILY, SAFE_NUMBER

log = logging.getLogger(__name__)

__all__ = ["ROUTE_FAMILY", "AstDb", "InvalidRoute", "ReconcileReport", "RouteReplica"]

LoadRoutes = Callable[[], Awaitable[Mapping[str, str]]]


class InvalidRoute(ValueError):
    """A safe number or driver phone the dialplan would refuse."""

    code = "invalid-route"
    http_status = 422


def check_route(number: str, phone: str | None = None) -> None:
    """Raise :class:`InvalidRoute` unless both values have the replica's shape."""
    if not SAFE_NUMBER.match(number):
        raise InvalidRoute(f"not a 12-digit 050 number: {number!r}")
    if phone is not None and not DRIVER_PHONE.match(phone):
        raise InvalidRoute(f"not a +82 phone number the trunk may dial: {phone!r}")


class AstDb(Protocol):
    """The part of :class:`proxy.ami.AmiClient` the replica uses."""

    async def db_put(self, family: str, key: str, value: str) -> None: ...
    async def db_get(self, family: str, key: str) -> str | None: ...
    async def db_get_many(self, family: str, keys: Iterable[str]) -> dict[str, str]: ...
    async def db_del(self, family: str, key: str) -> bool: ...
    async def db_get_tree(self, family: str, key: str | None = None) -> list[DbEntry]: ...
    async def db_tree(self, family: str, key: str | None = None) -> dict[str, str]: ...
    async def db_put_many(self, family: str, rows: Iterable[tuple[str, str]]) -> int: ...
    async def db_del_many(self, family: str, keys: Iterable[str]) -> int: ...


@dataclass(frozen=True)
class ReconcileReport:
    added: int
    fixed: int
    removed: int
    skipped: int
    generation: int


class RouteReplica:
    """Pushes route changes to AstDB and repairs drift."""

    def __init__(self, ami: AstDb, load_routes: LoadRoutes) -> None:
        self._ami = ami
        self._load_routes = load_routes
        # put/delete wait while a reconcile runs, so a change committed after
        # the reconcile's snapshot is applied after it and never undone by it.
        self._lock = asyncio.Lock()
        self._ready = False
        self.last_report: ReconcileReport | None = None

    @property
    def ready(self) -> bool:
        """True once a reconcile completed: AstDB matched the database at least once."""
        return self._ready

    async def put(self, number: SafeNumber, phone: str) -> None:
        check_route(number.digits, phone)
        async with self._lock:
            await self._ami.db_put(ROUTE_FAMILY, number.digits, phone)

    async def delete(self, number: SafeNumber) -> None:
        async with self._lock:
            await self._ami.db_del(ROUTE_FAMILY, number.digits)

    async def reconcile(self) -> ReconcileReport:
        """Make ``safenum/route`` equal to ``load_routes()`` and bump the generation."""
        async with self._lock:
            # The database load (a worker thread) and the family read overlap: each
            # takes seconds at 10^6 routes. AstDB's routes change only under our lock.
            loaded, present = await asyncio.gather(
                self._load_routes(), self._ami.db_tree(ROUTE_FAMILY)
            )
            wanted: dict[str, str] = {}
            skipped = 0
            for number, phone in loaded.items():
                try:
                    check_route(number, phone)
                except InvalidRoute as exc:
                    skipped += 1
                    log.error("route not replicated: %s", exc)
                    continue
                wanted[number] = phone
            changed = [(n, p) for n, p in wanted.items() if present.get(n) != p]
            fixed = sum(1 for number, _ in changed if number in present)
            await self._ami.db_put_many(ROUTE_FAMILY, changed)
            stale = []
            for key in present.keys() - wanted.keys():
                if not valid_key(key):
                    # A nested key nobody of ours wrote; the dialplan never reads it.
                    log.error("cannot remove unexpected AstDB key %s/%s", ROUTE_FAMILY, key)
                    continue
                stale.append(key)
            await self._ami.db_del_many(ROUTE_FAMILY, stale)
            added, removed = len(changed) - fixed, len(stale)
            generation = await self._bump_generation()
        report = ReconcileReport(added, fixed, removed, skipped, generation)
        self.last_report = report
        self._ready = True
        log.info("route replica reconciled: %s", report)
        return report

    async def _bump_generation(self) -> int:
        current = await self._ami.db_get(META_FAMILY, GENERATION_KEY)
        generation = int(current) + 1 if current and current.isdigit() else 1
        await self._ami.db_put(META_FAMILY, GENERATION_KEY, str(generation))
        return generation
