"""The bridge inside ``safenum serve``: keeps Asterisk's route replica in step with the DB.

Changes arrive from two places: this process's own requests (a route listener on
``Core``, called after commit, from whatever thread ran the request) and other
processes such as the CLI (a Redis pub/sub message naming the number, never the
phone). Both only enqueue the *number*; one worker re-reads that number's current
route from the database and applies it. Re-reading means two quick changes can
never be applied out of order, and a message carries no personal data.

Anything missed (Redis down, AMI down, a crash between commit and push) is healed by
the full reconcile that runs on every AMI (re)connect and every
``reconcile_interval_seconds``.

Texts: when given a :class:`app_api.relay.TextRelay`, the bridge runs it on the same
AMI link (its event listener and spool scan) and wakes its scan on every reconnect.

Per-number preferences (quiet hours, move-car text) and a driver's call blocks
travel the same way: a number on the queue re-reads its route, its preferences and
its blocks. A change of the operators' global blocklist (``global_blocks_changed``)
queues ``None``, which re-reads the whole list.

Call records: the dialplan reports each call's phases as ``UserEvent(SafenumCall)``;
``proxy.state.CallTracker`` turns them into facts and a finished call is stored,
then its summary in ``safenum/cdr/<call>`` (written by the dialplan's hangup
handler) is deleted. Calls that ended while the bridge was away are ingested
from those summaries on the next connect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta

import redis.asyncio as aioredis
from redis import Redis as SyncRedis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app_api.relay import TextRelay
from app_api.wiring import Core
from blocking.blocks import BlockService
from blocking.sweep import CallerSweepGuard
from numbering.preferences import PreferencesService, PreferencesView
from numbering.types import SafeNumber
from numbering.views import RouteChange
from proxy.ami import AmiClient, AmiError
from proxy.block_replica import BlockReplica, Blocks
from proxy.preference_replica import (
    CDR_FAMILY,
    NumberPrefs,
    PreferenceReplica,
    purge_last_callers,
)
from proxy.records import CallRecords
from proxy.replica import RouteReplica
from proxy.state import CallFacts, CallTracker, parse_summary

log = logging.getLogger("safenum.bridge")

CHANNEL = "safenum:route-changed"


class Bridge:
    def __init__(
        self,
        core: Core,
        ami: AmiClient,
        redis: aioredis.Redis,
        relay: TextRelay | None = None,
    ) -> None:
        self.core = core
        self.ami = ami
        self.redis = redis
        self.relay = relay  # texts; None where a process only keeps the replica
        s = core.settings
        # One try, no backoff: a Redis outage must not stall the call-records loop.
        self.sweep_guard = CallerSweepGuard.over_redis(
            SyncRedis.from_url(
                s.redis_url,
                socket_timeout=1,
                socket_connect_timeout=1,
                retry=Retry(NoBackoff(), 1),
            ),
            core.keyring.lookup_hash("redis", "caller-sweep v1"),
            core.sessions.begin,
            numbers=s.caller_sweep_numbers,
            window=timedelta(minutes=s.caller_sweep_window_minutes),
            block_for=timedelta(hours=s.caller_sweep_block_hours),
        )
        self.replica = RouteReplica(ami, self._load_routes)
        self.preferences = PreferenceReplica(ami, self._load_prefs)
        self.blocks = BlockReplica(ami, self._load_blocks)
        self.tracker = CallTracker()
        self.records_stored = 0
        # A number to refresh, or None: the global blocklist changed.
        self._queue: asyncio.Queue[SafeNumber | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def ready(self) -> bool:
        return self.ami.connected and self.replica.ready

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.ami.add_connect_hook(self._reconcile)
        self.core.route_listeners.append(self._on_commit)
        await self.ami.start()
        self._tasks = [
            asyncio.create_task(self._apply_forever(), name="bridge-apply"),
            asyncio.create_task(self._listen_forever(), name="bridge-listen"),
            asyncio.create_task(self._reconcile_periodically(), name="bridge-reconcile"),
            asyncio.create_task(self._records_forever(), name="bridge-records"),
        ]
        if self.relay is not None:
            self._tasks += [
                asyncio.create_task(self.relay.events_forever(), name="relay-events"),
                asyncio.create_task(self.relay.scan_forever(), name="relay-scan"),
            ]

    async def stop(self) -> None:
        if self._on_commit in self.core.route_listeners:
            self.core.route_listeners.remove(self._on_commit)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ami.close()
        self.sweep_guard.history.client.close()

    # sources of changes --------------------------------------------------
    def numbers_changed(self, numbers: Iterable[SafeNumber]) -> None:
        """After a commit that changed preferences or blocks (any thread): refresh them."""
        loop = self._loop
        if loop is None:
            return
        for number in numbers:
            loop.call_soon_threadsafe(self._queue.put_nowait, number)

    def global_blocks_changed(self) -> None:
        """After a commit that changed the global blocklist (any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def texts_pending(self) -> None:
        """After a commit that made texts ``pending`` (any thread): the relay sends
        them now rather than at its next scan."""
        if self._loop is not None and self.relay is not None:
            with contextlib.suppress(RuntimeError):  # loop closed: shutting down
                self._loop.call_soon_threadsafe(self.relay.wake)

    def _on_commit(self, changes: list[RouteChange]) -> None:
        loop = self._loop
        if loop is None:
            return
        for change in changes:
            loop.call_soon_threadsafe(self._queue.put_nowait, change.number)

    async def _listen_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            self._queue.put_nowait(SafeNumber(message["data"].decode()))
                        except Exception:
                            log.warning("ignored a malformed route-change message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("route-change subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    # applying ------------------------------------------------------------
    async def _apply_forever(self) -> None:
        while True:
            number = await self._queue.get()
            what = number.national if number else "global blocklist"
            try:
                if number is None:
                    await self.blocks.apply_global(await asyncio.to_thread(self._global_keys))
                    continue
                target, prefs, blocked = await asyncio.to_thread(self._current, number)
                if target is None:
                    await self.replica.delete(number.digits)
                else:
                    await self.replica.put(number.digits, target)
                await self.preferences.apply(number.digits, prefs if target else None)
                await self.blocks.apply(number.digits, blocked if target else ())
            except AmiError as exc:
                # The next (re)connect reconciles everything; nothing is lost.
                log.warning(
                    "route %s not pushed (%s); reconcile will heal it", what, type(exc).__name__
                )
            except Exception:
                log.exception("route %s not pushed", what)

    def _current(self, number: SafeNumber) -> tuple[str | None, NumberPrefs | None, frozenset[str]]:
        # One read-only snapshot: never waits for the write lock a request holds.
        with self.core.reading("bridge") as svc:
            phone = svc.current_route(number)
            session = svc.repo.session
            view = PreferencesService(session, self.core.clock).current(number)
            blocked = BlockService(session, self.core.clock).current(number)
        return (phone.e164 if phone else None), (_prefs(view) if view else None), blocked

    def _global_keys(self) -> frozenset[str]:
        with self.core.reading("bridge") as svc:
            return BlockService(svc.repo.session, self.core.clock).global_keys()

    async def _load_blocks(self) -> Blocks:
        def load() -> Blocks:
            with self.core.reading("bridge") as svc:
                return BlockService(svc.repo.session, self.core.clock).replica_values()

        return await asyncio.to_thread(load)

    async def _load_prefs(self) -> Mapping[str, NumberPrefs]:
        def load() -> dict[str, NumberPrefs]:
            with self.core.reading("bridge") as svc:
                values = PreferencesService(svc.repo.session, self.core.clock).replica_values()
            return {digits: _prefs(view) for digits, view in values.items()}

        return await asyncio.to_thread(load)

    async def _load_routes(self) -> Mapping[str, str]:
        def load() -> dict[str, str]:
            with self.core.reading("bridge") as svc:
                return {n.digits: p.e164 for n, p in svc.active_routes()}

        return await asyncio.to_thread(load)

    async def _reconcile(self) -> None:
        report = await self.replica.reconcile()
        log.info("replica reconciled: +%d ~%d -%d", report.added, report.fixed, report.removed)
        await self.preferences.reconcile()
        await self.blocks.reconcile()
        await self.ingest_spool()
        if self.relay is not None:
            self.relay.wake()  # texts spooled while we were away
        now = int(self.core.clock().timestamp())
        await purge_last_callers(self.ami, now, self.core.settings.callback_window_seconds)

    # call records ----------------------------------------------------------
    async def _records_forever(self) -> None:
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
        if headers.get("UserEvent") != "SafenumCall" or headers.get("Phase") != "start":
            return
        key, number, now = headers.get("Key", ""), headers.get("Number", ""), self.core.clock()
        try:
            changed = await asyncio.to_thread(self.sweep_guard.note_call, key, number, now)
        except Exception:
            log.exception("caller sweep check failed")
            return
        if changed:
            self.global_blocks_changed()

    async def _store(self, facts: CallFacts, source: str) -> None:
        def add() -> bool:
            with self.core.sessions.begin() as session:
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

    def _purge_records(self) -> int:
        days = self.core.settings.call_records_retention_days
        with self.core.sessions.begin() as session:
            return CallRecords(session).purge_before(self.core.clock() - timedelta(days=days))

    async def _reconcile_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.core.settings.reconcile_interval_seconds)
            if self.ami.connected:
                try:
                    await self._reconcile()
                except Exception:
                    log.exception("periodic reconcile failed")
            try:
                await asyncio.to_thread(self._purge_records)
            except Exception:
                log.exception("call record retention failed")


def _prefs(view: PreferencesView) -> NumberPrefs:
    return NumberPrefs(quiet=view.astdb_quiet, move_text=view.move_text)


def publish_changes(redis_url: str, changes: list[RouteChange]) -> None:
    """For processes without a bridge (the CLI): tell ``safenum serve`` what changed."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        for change in changes:
            client.publish(CHANNEL, change.number.digits)
    except redis.RedisError as exc:
        log.warning(
            "could not announce %d route change(s) (%s); serve's periodic "
            "reconcile will apply them",
            len(changes),
            type(exc).__name__,
        )
    finally:
        client.close()
