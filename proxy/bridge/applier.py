"""The outbox, applied to one Asterisk node's AstDB.

Each bridge has a name (``SAFENUM_NODE_NAME``) and a recorded position in the
outbox (``numbering.outbox.BridgeNode``). It reads the entries after its position
in id order, applies them, and only then advances the position, in the database,
so a bridge killed mid-batch applies the batch again after a restart. Applying is
idempotent: a ``number`` entry re-reads the number's current route, preferences,
blocks and holder from the database and makes AstDB say exactly that (a number
no one holds loses its route, preferences, blocks and last caller).

On every (re)connect of the AMI link (a new Asterisk, or an AstDB that may have
drifted) the bridge first catches up from its recorded position, so a deletion
made while it was away takes effect at once, then reconciles every family from
the database and records the outbox head it read *before* that reconcile: any
change after it is applied by the loop, none is lost between the two.

A bridge registers (gets a row) on its first reconcile, because only then does its
Asterisk hold copies of personal data; a destruction receipt waits for every
registered bridge (``app_api.wiring.Core.await_bridges``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from blocking.blocks import BlockService
from numbering.models import NumberStatus
from numbering.outbox import Change, ChangeKind, Outbox
from numbering.preferences import PreferencesService, PreferencesView
from numbering.types import SafeNumber
from proxy.block_replica import BlockReplica
from proxy.bridge.database import Database
from proxy.preference_replica import NumberPrefs, PreferenceReplica, forget_last_caller
from proxy.replica import AstDb, RouteReplica

log = logging.getLogger("safenum.bridge.outbox")

BATCH = 500


@dataclass(frozen=True, slots=True)
class NumberState:
    """What AstDB should say about one number."""

    route: str | None  # E.164 of the driver's phone while the number is active
    held: bool  # active or paused: someone holds it, its last caller may stay
    prefs: NumberPrefs | None
    blocks: frozenset[str]


def prefs_of(view: PreferencesView) -> NumberPrefs:
    return NumberPrefs(quiet=view.astdb_quiet, move_text=view.move_text)


class OutboxApplier:
    def __init__(
        self,
        db: Database,
        node: str,
        ami: AstDb,
        routes: RouteReplica,
        prefs: PreferenceReplica,
        blocks: BlockReplica,
        texts_pending: Callable[[], None],
    ) -> None:
        self.db = db
        self.node = node
        self.ami = ami
        self.routes = routes
        self.prefs = prefs
        self.blocks = blocks
        self.texts_pending = texts_pending
        self.position: int | None = None
        """Last entry applied to this node's AstDB; None until the first resync."""
        self.applied = 0
        self._lock = asyncio.Lock()  # one writer of this node's replica at a time
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Read the outbox now (call from the event loop's thread)."""
        self._wake.set()

    async def run_forever(self, connected: Callable[[], bool], poll_seconds: float) -> None:
        """Apply new entries on every wake-up, and at least every ``poll_seconds``."""
        while True:
            try:
                async with asyncio.timeout(poll_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            if not connected() or self.position is None:
                continue
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The position did not move: the same entries are applied next time.
                log.warning("outbox not applied on %s (%s); retrying", self.node, exc)

    async def catch_up(self) -> int:
        async with self._lock:
            return await self._catch_up()

    async def resync(self, reconcile: Callable[[], Awaitable[None]]) -> None:
        """After a (re)connect: catch up from the recorded position, reconcile, register."""
        async with self._lock:
            recorded = await asyncio.to_thread(self._recorded)
            if recorded is not None:
                self.position = max(self.position or 0, recorded)
                await self._catch_up()
            head = await asyncio.to_thread(self._head)
            await reconcile()
            self.position = max(self.position or 0, head)
            await asyncio.to_thread(self._register, self.position)

    # ------------------------------------------------------------------------
    async def _catch_up(self) -> int:
        assert self.position is not None
        count = 0
        while changes := await asyncio.to_thread(self._after, self.position):
            await self._apply(changes)
            self.position = changes[-1].id
            await asyncio.to_thread(self._advance, self.position)
            count += len(changes)
        self.applied += count
        return count

    async def _apply(self, changes: Sequence[Change]) -> None:
        numbers = list(dict.fromkeys(c.number for c in changes if c.kind is ChangeKind.NUMBER))
        if numbers:
            states = await asyncio.to_thread(self._states, numbers)
            for number in numbers:
                await self.apply_number(number, states[number])
        if any(c.kind is ChangeKind.GLOBAL_BLOCKS for c in changes):
            await self.blocks.apply_global(await asyncio.to_thread(self._global_keys))
        if any(c.kind is ChangeKind.TEXTS for c in changes):
            self.texts_pending()

    async def apply_number(self, number: SafeNumber, state: NumberState) -> None:
        if state.route is None:
            await self.routes.delete(number)
        else:
            await self.routes.put(number, state.route)
        await self.prefs.apply(number, state.prefs if state.route else None)
        await self.blocks.apply(number, state.blocks if state.route else ())
        if not state.held:
            await forget_last_caller(self.ami, number)

    # database side (worker threads) -------------------------------------------
    def _states(self, numbers: Sequence[SafeNumber]) -> dict[SafeNumber, NumberState]:
        # One read-only snapshot: never waits for the write lock a request holds.
        out: dict[SafeNumber, NumberState] = {}
        with self.db.reading("bridge") as svc:
            session = svc.repo.session
            prefs = PreferencesService(session, self.db.clock)
            blocks = BlockService(session, self.db.clock)
            for number in numbers:
                record = svc.repo.number(number.digits)
                held = record is not None and record.status in NumberStatus.live()
                phone = svc.current_route(number)
                view = prefs.current(number)
                out[number] = NumberState(
                    phone.e164 if phone else None,
                    held,
                    prefs_of(view) if view else None,
                    blocks.current(number),
                )
        return out

    def _global_keys(self) -> frozenset[str]:
        with self.db.reading("bridge") as svc:
            return BlockService(svc.repo.session, self.db.clock).global_keys()

    def _after(self, position: int) -> list[Change]:
        with self.db.reading("bridge") as svc:
            return Outbox(svc.repo.session).after(position, BATCH)

    def _head(self) -> int:
        with self.db.reading("bridge") as svc:
            return Outbox(svc.repo.session).head()

    def _recorded(self) -> int | None:
        with self.db.reading("bridge") as svc:
            node = Outbox(svc.repo.session).node(self.node)
            return None if node is None else node.position

    def _advance(self, position: int) -> None:
        with self.db.sessions.begin() as session:
            Outbox(session).advance(self.node, position, self.db.clock())

    def _register(self, position: int) -> None:
        with self.db.sessions.begin() as session:
            Outbox(session).register(self.node, position, self.db.clock())
