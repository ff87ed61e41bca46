"""One bridge: the PBX side of safenum for one Asterisk node, on one AMI link.

It runs, on the node's AMI link:

- the outbox applier (:mod:`proxy.bridge.applier`): every change committed in the
  database reaches this node's AstDB, from the bridge's own recorded position;
- a full reconcile on every AMI (re)connect and every ``reconcile_interval_seconds``;
- the call events consumer (:mod:`proxy.bridge.calls`);
- the text relay (:mod:`proxy.bridge.relay`), when given one.

Wake-ups: ``wake()`` (this process committed something) and, across processes, a
Redis pub/sub message on :data:`HINT_CHANNEL`. Both only say "read the outbox";
the outbox itself is polled every ``poll_seconds`` too, so a lost hint costs at
most that long, and nothing is carried by a hint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import redis.asyncio as aioredis
from redis import Redis as SyncRedis
from redis.backoff import NoBackoff
from redis.retry import Retry

from blocking.blocks import BlockService
from blocking.sweep import CallerSweepGuard
from numbering.preferences import PreferencesService
from proxy.ami import AmiClient
from proxy.block_replica import BlockReplica, Blocks
from proxy.bridge.applier import OutboxApplier, prefs_of
from proxy.bridge.calls import CallEvents
from proxy.bridge.database import Database
from proxy.bridge.hints import HINT_CHANNEL
from proxy.bridge.relay import TextRelay
from proxy.preference_replica import NumberPrefs, PreferenceReplica, purge_last_callers
from proxy.replica import RouteReplica

log = logging.getLogger("safenum.bridge")


@dataclass(frozen=True)
class BridgeConfig:
    node: str = "node-1"
    redis_url: str = "redis://127.0.0.1:6379/0"
    reconcile_interval_seconds: float = 3600
    poll_seconds: float = 1.0
    callback_window_seconds: int = 86400
    call_records_retention_days: int = 90
    caller_sweep_numbers: int = 5
    caller_sweep_window_minutes: int = 10
    caller_sweep_block_hours: int = 24


class Bridge:
    def __init__(
        self,
        db: Database,
        ami: AmiClient,
        redis: aioredis.Redis,
        config: BridgeConfig,
        relay: TextRelay | None = None,
    ) -> None:
        self.db = db
        self.ami = ami
        self.redis = redis
        self.config = config
        self.relay = relay  # texts; None where a process only keeps the replicas
        self.replica = RouteReplica(ami, self._load_routes)
        self.preferences = PreferenceReplica(ami, self._load_prefs)
        self.blocks = BlockReplica(ami, self._load_blocks)
        self.applier = OutboxApplier(
            db, config.node, ami, self.replica, self.preferences, self.blocks, self._texts_pending
        )
        # One try, no backoff: a Redis outage must not stall the call-records loop.
        sweep_guard = CallerSweepGuard.over_redis(
            SyncRedis.from_url(
                config.redis_url,
                socket_timeout=1,
                socket_connect_timeout=1,
                retry=Retry(NoBackoff(), 1),
            ),
            db.keyring.lookup_hash("redis", "caller-sweep v1"),
            db.sessions.begin,
            numbers=config.caller_sweep_numbers,
            window=timedelta(minutes=config.caller_sweep_window_minutes),
            block_for=timedelta(hours=config.caller_sweep_block_hours),
        )
        self.calls = CallEvents(db, ami, sweep_guard)
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.resynced_on: int | None = None
        """The AMI connection (``ami.connections``) the last completed resync ran on."""

    @property
    def ready(self) -> bool:
        """Connected, and the replica equals the database as of a known outbox position."""
        return self.ami.connected and self.replica.ready and self.applier.position is not None

    @property
    def records_stored(self) -> int:
        return self.calls.records_stored

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.ami.add_connect_hook(self._resync)
        await self.ami.start()
        self._tasks = [
            asyncio.create_task(
                self.applier.run_forever(lambda: self.ami.connected, self.config.poll_seconds),
                name="bridge-outbox",
            ),
            asyncio.create_task(self._listen_forever(), name="bridge-hints"),
            asyncio.create_task(self._reconcile_periodically(), name="bridge-reconcile"),
            asyncio.create_task(self.calls.run_forever(), name="bridge-calls"),
        ]
        if self.relay is not None:
            self._tasks += [
                asyncio.create_task(self.relay.events_forever(), name="relay-events"),
                asyncio.create_task(self.relay.take_forever(), name="relay-batches"),
                asyncio.create_task(self.relay.scan_forever(), name="relay-scan"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.ami.close()
        self.calls.sweep_guard.history.client.close()

    def wake(self) -> None:
        """Something was committed to the outbox (from any thread): read it now."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop closed: shutting down
                loop.call_soon_threadsafe(self.applier.wake)

    def _texts_pending(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    async def _listen_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(HINT_CHANNEL)
                    backoff = 0.1
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.applier.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox hint subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    # reconcile -----------------------------------------------------------
    async def _resync(self) -> None:
        connection = self.ami.connections
        await self.applier.resync(self._reconcile)
        self.resynced_on = connection

    @property
    def caught_up(self) -> bool:
        """Connected, and a resync completed on this very AMI connection (the edge's gate)."""
        return self.ami.connected and self.resynced_on == self.ami.connections

    async def _reconcile(self) -> None:
        report = await self.replica.reconcile()
        log.info("replica reconciled: +%d ~%d -%d", report.added, report.fixed, report.removed)
        await self.preferences.reconcile()
        await self.blocks.reconcile()
        await self.calls.ingest_spool()
        if self.relay is not None:
            self.relay.wake()  # texts spooled while we were away
        now = int(self.db.clock().timestamp())
        held = await asyncio.to_thread(self._held_numbers)
        await purge_last_callers(self.ami, now, self.config.callback_window_seconds, held)

    async def _reconcile_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.config.reconcile_interval_seconds)
            if self.ami.connected:
                try:
                    await self._resync()
                except Exception:
                    log.exception("periodic reconcile failed")
            try:
                await asyncio.to_thread(
                    self.calls.purge_older_than, self.config.call_records_retention_days
                )
            except Exception:
                log.exception("call record retention failed")

    # full loads (worker threads) ---------------------------------------------
    def _held_numbers(self) -> frozenset[str]:
        with self.db.reading("bridge") as svc:
            return svc.repo.live_numbers()

    async def _load_blocks(self) -> Blocks:
        def load() -> Blocks:
            with self.db.reading("bridge") as svc:
                return BlockService(svc.repo.session, self.db.clock).replica_values()

        return await asyncio.to_thread(load)

    async def _load_prefs(self) -> Mapping[str, NumberPrefs]:
        def load() -> dict[str, NumberPrefs]:
            with self.db.reading("bridge") as svc:
                values = PreferencesService(svc.repo.session, self.db.clock).replica_values()
            return {digits: prefs_of(view) for digits, view in values.items()}

        return await asyncio.to_thread(load)

    async def _load_routes(self) -> Mapping[str, str]:
        def load() -> dict[str, str]:
            with self.db.reading("bridge") as svc:
                return {n.digits: p.e164 for n, p in svc.active_routes()}

        return await asyncio.to_thread(load)
