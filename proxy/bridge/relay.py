"""The text relay of one node: Asterisk's spool -> filter -> store -> send.

The dialplan spools every text to a routed 050 number in AstDB and announces it
(``proxy.texts``). The relay takes an entry when its event arrives, and scans the
whole spool on every AMI (re)connect and every ``SCAN_SECONDS``, so texts that
arrived while this process, Redis or the database was down are judged once they
are back. Per entry, in this order:

1. judge and store it in one transaction (``blocking.texts.TextService.receive``;
   idempotent by spool id, so a retry never stores or judges twice);
2. send it with AMI MessageSend when it is to be delivered, then mark it delivered;
3. delete the spool entry.

A failure at 1 leaves the spool entry for the next scan; a failure at 2 leaves the
record ``pending`` and the entry in place, so the next scan sends it again. Texts
released by a driver or an operator are ``pending`` too and go out the same way.

Delivery is at least once, and the bound on repeats is exact: a text reaches the
phone twice only when the relay dies after Asterisk took its MessageSend and
before the "delivered" commit (SIP MESSAGE has no end-to-end identity to
deduplicate on). A death at any other step sends it once. Each relay claims a
pending text for ``blocking.texts.CLAIM_LEASE`` before it sends it, so the relays
of several nodes never send one text at once; a dead relay's claim lapses and
another node sends it (``tests/pbx/test_pbx_relay_crash.py`` kills the relay at
each step and counts what the phone receives).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import redis

from blocking.filter import MessageFilter
from blocking.holder import FilterHolder
from blocking.review_examples import purge as purge_examples
from blocking.sender_redis import RedisSenderHistory, SenderHistoryUnavailable
from blocking.texts import InboundText, Send, TextService
from blocking.types import Verdict
from numbering.types import SafeNumber
from proxy.ami import AmiClient, AmiError
from proxy.bridge.database import Database
from proxy.dialplan import SPOOL_FAMILY, TEXT_EVENT, TEXT_SPOOLED
from proxy.texts import CallerRefs, SpooledText, parse_spooled, send_text

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
        self._lock = asyncio.Lock()  # one pass over an entry at a time
        self._wake = asyncio.Event()

    # tasks run by the bridge --------------------------------------------------
    async def events_forever(self) -> None:
        async with self.ami.subscribe({"UserEvent"}) as events:
            async for event in events:
                if event.headers.get("UserEvent") != TEXT_EVENT:
                    continue
                if event.headers.get("Status") == TEXT_SPOOLED:
                    spool_id = event.headers.get("Id", "")
                    try:
                        await self.take(spool_id)
                    except Exception:
                        log.exception("text %s left in the spool for the next scan", spool_id)
                else:
                    log.info("text to a number without a route refused")

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
        """Every spooled text, then every pending (released or unsent) one."""
        count = 0
        for entry in await self.ami.db_get_tree(SPOOL_FAMILY):
            try:
                await self.take(entry.key)
                count += 1
            except (AmiError, SenderHistoryUnavailable):
                raise
            except Exception:
                log.exception("text %s left in the spool", entry.key)
        # Under the lock ``take`` holds while it sends: a text it is sending is
        # pending until marked delivered, and must not be sent a second time here.
        async with self._lock:
            for send in await asyncio.to_thread(self._pending):
                await self.send(send)
        return count

    async def take(self, spool_id: str) -> None:
        """Handle one spool entry, if it is still there."""
        async with self._lock:
            # Read under the lock: the scan and the event may race for one entry,
            # and the loser finds it gone.
            value = await self.ami.db_get(SPOOL_FAMILY, spool_id)
            if value is None:
                return
            try:
                text = parse_spooled(spool_id, value)
            except ValueError:
                log.error("malformed text spool entry %s removed", spool_id)
                await self.ami.db_del(SPOOL_FAMILY, spool_id)
                return
            send = await asyncio.to_thread(self._receive, text)
            if send is not None:
                await self.send(send)
            await self.ami.db_del(SPOOL_FAMILY, spool_id)
            self.handled += 1

    async def send(self, send: Send) -> None:
        """Put ``send`` on the wire, then mark its record delivered (or released)."""
        await send_text(self.ami, self.trunk, send.to, send.number.digits, send.body)
        await asyncio.to_thread(self._delivered, send.record_id)

    # database side (worker threads) ---------------------------------------------
    def _receive(self, text: SpooledText) -> Send | None:
        inbound = InboundText(
            text.spool_id,
            SafeNumber(text.number),
            text.received_at,
            text.sender,
            text.body,
            text.declared_bytes,
        )
        with self.db.sessions.begin() as session:
            service = TextService(session, self.db.keyring, self.db.clock, node=self.config.node)
            return service.receive(inbound, self._judge, self._refs)

    def _judge(self, body: str, sender: str | None, number: SafeNumber) -> Verdict:
        stats = None
        if sender is not None:
            stats = self.history.record(sender, number.digits, self.db.clock())
        return self.filter.judge(body, sender, stats)

    def _refs(self, number: SafeNumber, sender: str | None) -> tuple[str, str]:
        return self.refs.ref(number.digits, sender), self.refs.key(sender)

    def _delivered(self, record_id: int) -> None:
        with self.db.sessions.begin() as session:
            TextService(session, self.db.keyring, self.db.clock).delivered(record_id)

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
