"""Automatic blocking of callers who sweep safe numbers.

A person calls the one car in their way; a harvester, a scammer or an advertiser
dials one posted number after another. ``CallerSweepGuard`` sees every call start
(the dialplan's ``Phase: start`` carries the dialled number and the caller key)
and counts, per caller key, the distinct safe numbers dialled within a window in
Redis (:class:`blocking.sender_redis.RedisSenderHistory`, under its own prefix).
At ``numbers`` distinct numbers the caller gets an automatic global block for
``block_for``, stored in the database like an operator's block, so the bridge
replicates it into ``safenum/block/all`` and its reconcile keeps it there: the
next call is refused by the dialplan even while the bridge is down.

The call that crosses the limit has already started; the block refuses the ones
after it, so a caller may dial ``numbers`` distinct numbers in the window. Calls a
block refuses still count: a caller that keeps sweeping keeps its block extended.
Withheld callers (``anonymous``) are never blocked automatically: they share one
key. If Redis cannot be reached the guard fails open (logs, blocks nobody).

Synchronous, like the Redis history and the database session it uses; the bridge
runs ``note_call`` in a thread. It commits its own unit of work and returns
whether AstDB must follow; the caller then tells the bridge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy.orm import Session

from blocking.blocks import AUTO, REFERENCE, BlockService
from blocking.sender_redis import MAX_TRACKED, RedisSenderHistory, SenderHistoryUnavailable
from numbering.errors import InvalidValue
from numbering.types import SafeNumber

log = logging.getLogger(__name__)

PREFIX = "safenum:caller:"
"""Redis key prefix of the callers' history (the texts' senders use ``safenum:sender:``)."""

SessionScope = Callable[[], AbstractContextManager[Session]]
"""A unit of work that commits on success, e.g. ``sessionmaker.begin``."""


@dataclass
class CallerSweepGuard:
    """Counts each caller's distinct safe numbers; blocks a sweeper for a while."""

    history: RedisSenderHistory
    sessions: SessionScope

    @classmethod
    def over_redis(
        cls,
        client: redis.Redis,
        hmac_key: bytes,
        sessions: SessionScope,
        *,
        numbers: int,
        window: timedelta,
        block_for: timedelta,
    ) -> CallerSweepGuard:
        """The guard over ``client``: ``numbers`` distinct safe numbers within
        ``window`` block the caller for ``block_for``. ``hmac_key`` (16 bytes or
        more) names the Redis keys, so neither caller keys nor numbers are stored."""
        history = RedisSenderHistory(
            client,
            hmac_key,
            window=window,
            max_recipients=numbers,
            # Calls have no per-minute limit: the cap keeps ``rate_limited`` False.
            rate_limit=MAX_TRACKED,
            block_for=block_for,
            prefix=PREFIX,
        )
        return cls(history, sessions)

    def note_call(self, caller_key: str, number: str, at: datetime) -> bool:
        """Record that ``caller_key`` dialled ``number`` (the event's 12 digits) at ``at``.

        Returns True when the call made an automatic block that changes what
        ``safenum/block/all`` must hold (committed already): tell the bridge.
        """
        if not REFERENCE.match(caller_key):  # "anonymous", or no key at all
            return False
        try:
            digits = SafeNumber(number).digits
        except InvalidValue:
            log.warning("call start without a valid safe number; not counted")
            return False
        try:
            stats = self.history.record(caller_key, digits, at)
        except SenderHistoryUnavailable as exc:
            log.warning("caller sweep not checked, Redis unavailable: %s", exc)
            return False
        if stats.distinct_recipients < self.history.max_recipients:
            return False
        until = stats.blocked_until or at + self.history.block_for
        minutes = int(self.history.window.total_seconds() // 60)
        note = f"dialled {stats.distinct_recipients} safe numbers in {minutes} minutes"
        with self.sessions() as session:
            changed = BlockService(session, lambda: at, AUTO).auto_block(caller_key, until, note)
        if changed:
            log.info("caller blocked automatically until %s: %s", until.isoformat(), note)
        return changed
