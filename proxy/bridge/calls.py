"""Call events of one Asterisk node: call records, and callers who sweep many numbers.

The dialplan reports each call's phases as ``UserEvent(SafenumCall)``;
:class:`proxy.state.CallTracker` turns them into facts and a finished call is
stored, then its summary in ``safenum/cdr/<call>`` (written by the dialplan's
hangup handler) is deleted. Calls that ended while the bridge was away are
ingested from those summaries on the next connect.

A caller dialling many safe numbers gets an automatic global block
(:class:`blocking.sweep.CallerSweepGuard`); the block is recorded in the outbox in
its own transaction, so every node learns it the way it learns any change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from blocking.sweep import CallerSweepGuard
from calls.records import CallRecords
from proxy.ami import AmiClient, AmiError
from proxy.bridge.database import Database
from proxy.dialplan import CALL_EVENT, CDR_FAMILY
from proxy.state import CallFacts, CallTracker, parse_summary

log = logging.getLogger("safenum.bridge.calls")


class CallEvents:
    def __init__(self, db: Database, ami: AmiClient, sweep_guard: CallerSweepGuard) -> None:
        self.db = db
        self.ami = ami
        self.sweep_guard = sweep_guard
        self.tracker = CallTracker()
        self.records_stored = 0

    async def run_forever(self) -> None:
        async with self.ami.subscribe({"UserEvent"}) as events:
            async for event in events:
                await self._guard_sweep(event.headers)
                try:
                    facts = self.tracker.feed(event.headers)
                    if facts is not None:
                        await self._store(facts, "events")
                except AmiError as exc:
                    log.warning("call record spool not cleared (%s)", type(exc).__name__)
                except Exception:
                    log.exception("call event not recorded")

    async def _guard_sweep(self, headers: Mapping[str, str]) -> None:
        """A caller dialling many safe numbers is blocked everywhere for a while."""
        if headers.get("UserEvent") != CALL_EVENT or headers.get("Phase") != "start":
            return
        key, number, now = headers.get("Key", ""), headers.get("Number", ""), self.db.clock()
        try:
            await asyncio.to_thread(self.sweep_guard.note_call, key, number, now)
        except Exception:
            log.exception("caller sweep check failed")

    async def _store(self, facts: CallFacts, source: str) -> None:
        def add() -> bool:
            with self.db.sessions.begin() as session:
                return CallRecords(session).add(facts, source)

        if await asyncio.to_thread(add):
            self.records_stored += 1
        # Stored (now or before): the dialplan's summary is no longer needed.
        await self.ami.db_del(CDR_FAMILY, facts.call_id)

    async def ingest_spool(self) -> int:
        """Store the summaries of calls that ended while we were not listening."""
        count = 0
        for entry in await self.ami.db_get_tree(CDR_FAMILY):
            try:
                facts = parse_summary(entry.key, entry.value)
                await self._store(facts, "spool")
            except ValueError:
                log.error("malformed call summary %s/%s removed", CDR_FAMILY, entry.key)
                await self.ami.db_del(CDR_FAMILY, entry.key)
                continue
            count += 1
        return count

    def purge_before(self, cutoff: datetime) -> int:
        with self.db.sessions.begin() as session:
            return CallRecords(session).purge_before(cutoff)

    def purge_older_than(self, days: int) -> int:
        return self.purge_before(self.db.clock() - timedelta(days=days))
