"""The edge's bridge: Kamailio's tables of routable numbers, kept from the outbox.

Kamailio refuses a text (MESSAGE) to a number without a route with 404 by looking
the number up in a hash table, never in the database. This bridge (``safenum edge``)
keeps that table: it reads the same outbox as the node bridges, re-reads each named
number from the database ("active, with a route") and sets or deletes its key over
Kamailio's RPC. The table holds 12-digit safe numbers and nothing else: no phone
number ever reaches the edge.

A full reload (at start, and whenever Kamailio restarted: its tables live in memory)
fills the table *not* in use (``numa`` or ``numb``), then flips ``meta=>active`` to
it, so the edge never answers 404 for a live number in mid-reload (the keys go over
RPC pipelined, :meth:`EdgeRpc.table_set_many`); the outbox head
is read before the reload and the entries after it are applied next. Until the
first reload the edge lets every text through to a node, whose dialplan refuses
the ones without a route, as on a single node.

The edge keeps its outbox position in memory only: it holds no personal data, so
a deletion's receipt never waits for it, and a restarted edge bridge reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from numbering.outbox import Change, ChangeKind, Outbox
from proxy.bridge.database import Database
from proxy.bridge.hints import listen_for_hints
from proxy.kamailio.rpc import EdgeRpc, EdgeUnavailable

log = logging.getLogger("safenum.edge")

TABLES = ("numa", "numb")
META = "meta"
ACTIVE = "active"
BATCH = 500


@dataclass(frozen=True, slots=True)
class EdgeReport:
    loaded: int
    table: str


class EdgeBridge:
    def __init__(
        self,
        db: Database,
        rpc: EdgeRpc,
        redis: aioredis.Redis | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.rpc = rpc
        self.redis = redis
        self.poll_seconds = poll_seconds
        self.position: int | None = None
        """Last outbox entry in the edge's table; None until the first reload."""
        self.table: str | None = None
        self.applied = 0
        self.reloads = 0
        self.last_report: EdgeReport | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> bool:
        return self.position is not None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self.run_forever(), name="edge-outbox")]
        if self.redis is not None:
            self._tasks.append(
                asyncio.create_task(listen_for_hints(self.redis, self.wake), name="edge-hints")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_forever(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except EdgeUnavailable as exc:
                if self.position is not None:
                    log.warning("edge unreachable (%s); reloading when it is back", exc)
                self.position = None  # whatever Kamailio comes back holds is unknown
            except Exception:
                log.exception("edge table not updated; retrying")
            try:
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def step(self) -> int:
        """Reload if Kamailio is new to us, then apply the outbox since our position."""
        # A restarted Kamailio has no meta=>active (its tables live in memory).
        active = await asyncio.to_thread(self.rpc.table_get, META, ACTIVE)
        if self.position is None or self.table is None or active != self.table[-1]:
            await self.reload()
        return await self._catch_up()

    async def reload(self) -> EdgeReport:
        head = await asyncio.to_thread(self._head)
        report = await asyncio.to_thread(self._fill)
        self.table = report.table
        self.position = head
        self.reloads += 1
        self.last_report = report
        log.info("edge table %s loaded with %d numbers", report.table, report.loaded)
        return report

    # ------------------------------------------------------------------------
    def _fill(self) -> EdgeReport:
        current = self.rpc.table_get(META, ACTIVE)
        target = TABLES[1] if current == TABLES[0][-1] else TABLES[0]
        self.rpc.table_flush(target)
        with self.db.reading("edge") as svc:
            loaded = self.rpc.table_set_many(target, svc.repo.routable_numbers(), "1")
        self.rpc.table_set(META, ACTIVE, target[-1])
        return EdgeReport(loaded, target)

    async def _catch_up(self) -> int:
        assert self.position is not None
        count = 0
        while changes := await asyncio.to_thread(self._after, self.position):
            await asyncio.to_thread(self._apply, changes)
            self.position = changes[-1].id
            count += len(changes)
        self.applied += count
        return count

    def _apply(self, changes: Sequence[Change]) -> None:
        assert self.table is not None
        numbers = list(dict.fromkeys(c.number for c in changes if c.kind is ChangeKind.NUMBER))
        if not numbers:
            return
        with self.db.reading("edge") as svc:
            routable = {n: svc.repo.is_routable(n.digits) for n in numbers}
        for number, live in routable.items():
            if live:
                self.rpc.table_set(self.table, number.digits, "1")
            else:
                self.rpc.table_delete(self.table, number.digits)

    def _after(self, position: int) -> list[Change]:
        with self.db.reading("edge") as svc:
            return Outbox(svc.repo.session).after(position, BATCH)

    def _head(self) -> int:
        with self.db.reading("edge") as svc:
            return Outbox(svc.repo.session).head()
