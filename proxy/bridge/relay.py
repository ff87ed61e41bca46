"""The text relay of one node: Asterisk's spool -> filter -> store -> send.

The dialplan spools every text to a routed 050 number in AstDB and announces it
(``proxy.messaging``). Each announcement wakes the relay, which reads the announced
entries (one indexed ``DBGet`` each) and takes them in the order their events came;
it also scans the whole spool (one ``DBGetTree``, which in Asterisk scans all of
AstDB) on every AMI (re)connect and every ``SCAN_SECONDS``, so texts that arrived
while this process, Redis or the database was down are judged once they are back.
Entries are taken in batches of up to ``RelayConfig.batch`` (whatever arrived while
the previous batch ran: one text alone when texts come one at a time). Per batch, in this order:

1. judge and store its texts in one transaction
   (``blocking.text_records.TextService.receive_many``; idempotent by spool id, so a retry
   never stores or judges twice; the sender history is one Redis pipeline and the
   filter one vectorised call);
2. send the ones to be delivered with AMI MessageSend, pipelined on the one link in
   batch order (a text of several parts goes alone, so none comes between its parts),
   then mark those Asterisk took delivered in one transaction;
3. delete their spool entries (pipelined).

A failure at 1 leaves the entries for the next scan (a batch that fails for a
reason other than Redis or the AMI link is retried text by text, so one bad entry
holds back only itself); a failure at 2 leaves a record ``pending`` and its entry in
place, so the next scan sends it again. Entries that failed are not retried at each
announcement, only at the next scan. Texts released by a driver or an operator
are ``pending`` too and go out the same way.

Delivery is at least once, and the bound on repeats is exact: a text reaches the
phone twice only when the relay dies after Asterisk took its MessageSend and
before the "delivered" commit of its batch (SIP MESSAGE has no end-to-end identity
to deduplicate on). Batching widens that window from one MessageSend and one commit
to the batch's pipelined MessageSends and one commit, so a death there repeats at
most the texts of one batch (``batch``) that Asterisk had taken. A death at any
other step sends every text once. Each relay claims a pending text for
``blocking.text_records.CLAIM_LEASE`` before it sends it, so the relays of several nodes
never send one text at once; a dead relay's claim lapses and another node sends it
(``tests/pbx/test_pbx_relay_crash.py`` kills the relay at each step, and mid-batch,
and counts what the phone receives).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from blocking.review_examples import purge as purge_examples
from blocking.sender_redis import RedisSenderHistory, SenderHistoryUnavailable
from blocking.text_records import InboundText, Send, TextService
from blocking.types import Verdict
from numbering.types import SafeNumber
from proxy.ami import AmiClient, AmiError, DbEntry, valid_key
from proxy.bridge.database import Database
from proxy.dialplan import SPOOL_FAMILY, TEXT_EVENT, TEXT_SPOOLED
from proxy.messaging import PART_BYTES, CallerRefs, SpooledText, parse_spooled, send_text

if TYPE_CHECKING:
    # The filter (numpy and the model) loads when a relay is built, not when the CLI
    # imports the bridge for a command that never judges a text.
    from blocking.filter import MessageFilter
    from blocking.holder import FilterHolder

log = logging.getLogger("safenum.relay")

SCAN_SECONDS = 15.0
PURGE_SECONDS = 3600.0


@dataclass(frozen=True)
class RelayConfig:
    trunk: str
    node: str = "node-1"  # claims pending texts under this name (one relay per node)
    text_retention_days: int = 30
    sender_window_minutes: int = 10
    sender_max_numbers: int = 5
    sender_per_minute: int = 10
    sender_block_hours: int = 24
    filter_model_path: Path | None = None  # the retrained model, reloaded when it changes
    filter_spam_example_days: int = 365
    filter_ham_example_days: int = 90
    batch: int = 100  # at most this many texts judged, stored and sent together


class TextRelay:
    def __init__(
        self,
        db: Database,
        ami: AmiClient,
        refs: CallerRefs,
        config: RelayConfig,
        redis_client: redis.Redis,
        message_filter: MessageFilter | FilterHolder | None = None,
    ) -> None:
        from blocking.filter import MessageFilter
        from blocking.holder import FilterHolder

        s = config
        self.db = db
        self.config = config
        self.ami = ami
        self.refs = refs
        self.trunk = config.trunk
        self.filter = message_filter or (
            FilterHolder(config.filter_model_path)
            if config.filter_model_path is not None
            else MessageFilter.default()
        )
        self.history = RedisSenderHistory(
            redis_client,
            db.keyring.lookup_hash("sender-history", "v1"),
            window=timedelta(minutes=s.sender_window_minutes),
            max_recipients=s.sender_max_numbers,
            rate_limit=s.sender_per_minute,
            block_for=timedelta(hours=s.sender_block_hours),
        )
        self.handled = 0
        self._lock = asyncio.Lock()  # one batch at a time
        self._queued: dict[str, None] = {}  # spool ids announced, in order, not yet taken
        self._arrived = asyncio.Event()
        self._held: set[str] = set()  # spool ids that failed: retried by the next scan
        self._finishing: asyncio.Task[None] | None = None  # the batch being sent
        self._sending: set[str] = set()  # its spool ids
        self._wake = asyncio.Event()

    # tasks run by the bridge --------------------------------------------------
    async def events_forever(self) -> None:
        """Queue the id of every text the dialplan announces (``take_forever`` takes them)."""
        async with self.ami.subscribe({"UserEvent"}) as events:
            async for event in events:
                if event.headers.get("UserEvent") != TEXT_EVENT:
                    continue
                if event.headers.get("Status") == TEXT_SPOOLED:
                    self._queued[event.headers.get("Id", "")] = None
                    self._arrived.set()
                else:
                    log.info("text to a number without a route refused")

    async def take_forever(self) -> None:
        """Take what the spool holds whenever a text is announced (batches, in order)."""
        try:
            while True:
                await self._arrived.wait()
                self._arrived.clear()
                try:
                    await self.take_spooled()
                except AmiError as exc:
                    log.warning("texts left in the spool for the next scan (%s)", exc)
                except Exception:
                    log.exception("texts left in the spool for the next scan")
        finally:
            if self._finishing is not None:
                self._finishing.cancel()  # stopping: what it did not do, the next start does

    async def scan_forever(self) -> None:
        purged_at = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if self.ami.connected:
                try:
                    await self.scan()
                except AmiError as exc:
                    log.warning("text spool scan interrupted (%s)", type(exc).__name__)
                except Exception:
                    log.exception("text spool scan failed")
            if loop.time() - purged_at > PURGE_SECONDS:
                try:
                    await asyncio.to_thread(self.purge)
                    purged_at = loop.time()
                except Exception:
                    log.exception("text retention failed")
            try:
                async with asyncio.timeout(SCAN_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    def wake(self) -> None:
        """Scan now (after a release, or a reconnect); safe from the loop's thread only."""
        self._wake.set()

    # work ------------------------------------------------------------------------
    async def scan(self) -> int:
        """Every spooled text (those held back included), then every pending
        (released or unsent) one."""
        count = await self.take_spooled(retry=True)
        # Under the lock, once the last batch is sent: a text being sent is pending
        # until marked delivered, and must not be sent a second time here.
        async with self._lock:
            await self._settle()
            while sends := await asyncio.to_thread(self._pending):
                if await self.send_many(sends):
                    break  # not all went out: the next scan tries again
        return count

    async def take_spooled(self, retry: bool = False) -> int:
        """Take spooled texts in batches, the announced ones in the order of their
        events: on a scan (``retry``) every entry of the spool (one ``DBGetTree``, the
        announced first, then the others), else only the announced ones (one indexed
        ``DBGet`` each: a tree read scans the whole AstDB). Entries that failed are
        held back until the next scan (``retry``), so one that keeps failing costs one
        attempt per scan, not one per arriving text.

        Stages overlap: a batch is judged and stored while the one before it is being
        sent, and returns with its own last batch still being sent (``_settle`` waits).
        Batches are sent one after another, so texts go out in order."""
        async with self._lock:
            if retry:
                self._held.clear()
            announced = list(self._queued)
            if retry:  # the safety net: the whole spool (DBGetTree scans all of AstDB)
                entries = await self.ami.db_get_tree(SPOOL_FAMILY)
            else:  # only the announced entries: one indexed DBGet each
                found = await self.ami.db_get_many(
                    SPOOL_FAMILY, (i for i in announced if valid_key(i))
                )
                entries = [DbEntry(SPOOL_FAMILY, k, v) for k, v in found.items()]
            for spool_id in announced:  # in the tree now, or gone; later ones stay queued
                del self._queued[spool_id]
            order = {spool_id: n for n, spool_id in enumerate(announced)}
            todo = sorted(
                (e for e in entries if e.key not in self._held and e.key not in self._sending),
                key=lambda e: (order.get(e.key, len(order)), e.key),
            )
            for start in range(0, len(todo), self.config.batch):
                stored = await self._store(todo[start : start + self.config.batch])
                await self._settle()
                self._sending = {text.spool_id for text, _ in stored}
                self._finishing = asyncio.create_task(self._finish(stored), name="relay-send")
            return len(todo)

    async def _settle(self) -> None:
        """Wait until the batch being sent is sent, marked and cleared from the spool."""
        task, self._finishing = self._finishing, None
        if task is not None:
            try:
                await task
            except Exception:
                log.exception("a batch of texts was not all sent; the next scan retries")
            finally:
                self._sending = set()

    async def _store(self, entries: Sequence[DbEntry]) -> list[tuple[SpooledText, Send | None]]:
        """Judge and store ``entries`` in one transaction; each text with what to send.
        A batch that fails for a reason other than Redis is stored text by text; the
        texts that fail alone stay in the spool until the next scan."""
        texts: list[SpooledText] = []
        malformed: list[str] = []
        for entry in entries:
            try:
                texts.append(parse_spooled(entry.key, entry.value))
            except ValueError:
                log.error("malformed text spool entry %s removed", entry.key)
                malformed.append(entry.key)
        await self._forget(malformed)
        if not texts:
            return []
        try:
            return list(zip(texts, await asyncio.to_thread(self._receive, texts), strict=True))
        except SenderHistoryUnavailable:
            raise
        except Exception:
            if len(texts) < 2:
                self._held.update(t.spool_id for t in texts)
                raise
            log.exception("a batch of %d texts failed; storing them one by one", len(texts))
        stored: list[tuple[SpooledText, Send | None]] = []
        for text in texts:
            try:
                (send,) = await asyncio.to_thread(self._receive, [text])
                stored.append((text, send))
            except SenderHistoryUnavailable:
                raise
            except Exception:
                self._held.add(text.spool_id)
                log.exception("text %s left in the spool", text.spool_id)
        return stored

    async def _finish(self, stored: Sequence[tuple[SpooledText, Send | None]]) -> None:
        """Send a stored batch, mark it delivered and clear its spool entries."""
        unsent = await self.send_many([s for _, s in stored if s is not None])
        done = [t.spool_id for t, s in stored if s is None or s not in unsent]
        self._held.update(t.spool_id for t, s in stored if s in unsent)
        await self._forget(done)
        self.handled += len(done)

    async def send(self, send: Send) -> None:
        """Put ``send`` on the wire, then mark its record delivered (or released)."""
        failed = await self.send_many([send])
        if failed:
            raise failed[send]

    async def send_many(self, sends: Sequence[Send]) -> dict[Send, Exception]:
        """Put ``sends`` on the wire (pipelined), then mark the ones Asterisk took
        delivered in one transaction; the ones it did not take, with why."""
        if not sends:
            return {}
        # Asterisk sends in the order it takes the actions. A text of several parts
        # goes alone, part after part, so no other text comes between its parts.
        groups: list[list[Send]] = [[]]
        for send in sends:
            if len(send.body.encode()) > PART_BYTES:
                groups += [[send], []]  # alone; then a new run of one-part texts
            else:
                groups[-1].append(send)
        results: list[BaseException | None] = []
        for group in groups:
            results += await asyncio.gather(
                *(send_text(self.ami, self.trunk, s.to, s.number.digits, s.body) for s in group),
                return_exceptions=True,
            )
        failed: dict[Send, Exception] = {}
        for send, result in zip(sends, results, strict=True):
            if isinstance(result, Exception):
                failed[send] = result
            elif isinstance(result, BaseException):
                raise result  # cancelled, or the process is going down
        taken = [s.record_id for s in sends if s not in failed]
        if taken:
            await asyncio.to_thread(self._delivered, taken)
        for send, exc in failed.items():
            log.warning("text %d not sent (%s); sent again later", send.record_id, exc)
        return failed

    async def _forget(self, spool_ids: Sequence[str]) -> None:
        await asyncio.gather(*(self.ami.db_del(SPOOL_FAMILY, i) for i in spool_ids))

    # database side (worker threads) ---------------------------------------------
    def _receive(self, texts: Sequence[SpooledText]) -> list[Send | None]:
        inbound = [
            InboundText(
                t.spool_id,
                SafeNumber(t.number),
                t.received_at,
                t.sender,
                t.body,
                t.declared_bytes,
            )
            for t in texts
        ]
        with self.db.sessions.begin() as session:
            service = TextService(session, self.db.keyring, self.db.clock, node=self.config.node)
            return service.receive_many(inbound, self._judge, self._refs)

    def _judge(self, items: Sequence[tuple[str, str | None, SafeNumber]]) -> list[Verdict]:
        """The filter on a batch, each text with its sender's history so far."""
        from blocking.filter import Message  # loaded by __init__: a dictionary lookup

        known = [(sender, number.digits) for _, sender, number in items if sender is not None]
        stats = iter(self.history.record_many(known, self.db.clock()))
        return self.filter.judge_many(
            [
                Message(body, sender, None if sender is None else next(stats))
                for body, sender, _ in items
            ]
        )

    def _refs(self, number: SafeNumber, sender: str | None) -> tuple[str, str]:
        return self.refs.ref(number.digits, sender), self.refs.key(sender)

    def _delivered(self, record_ids: Sequence[int]) -> None:
        with self.db.sessions.begin() as session:
            TextService(session, self.db.keyring, self.db.clock).delivered(*record_ids)

    def _pending(self) -> list[Send]:
        with self.db.sessions.begin() as session:
            return TextService(
                session, self.db.keyring, self.db.clock, node=self.config.node
            ).pending()

    def purge(self) -> int:
        """Retention: forget texts older than ``text_retention_days``."""
        cutoff = self.db.clock() - timedelta(days=self.config.text_retention_days)
        with self.db.sessions.begin() as session:
            purge_examples(session, self.db.clock(), self.config)
            return TextService(session, self.db.keyring, self.db.clock).purge_before(cutoff)
