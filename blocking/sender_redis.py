"""Sender history in Redis, shared by every worker: recipients, rate and blocks.

One Lua script per text (a batch of texts pipelines them), so the read-modify-write
is atomic however many workers record at once. Per sender it keeps, under keys named
by a keyed HMAC of the number (a phone number is never stored in clear, nor is the
safe number it texted):

* ``…:rcpt`` sorted set: recipient -> last time it was texted, trimmed to the window;
* ``…:sent`` sorted set: one member per text in the last minute (the rate limit);
* ``…:seq`` counter making ``…:sent`` members unique;
* ``…:blocked`` the time a block ends, set with a TTL when a burst is seen.

Every key has a TTL no longer than what it covers and the sets are capped, so memory
stays bounded even for a sender that texts thousands of numbers.

Sync ``redis.Redis``, like the other Redis adapters here (``app_api.ratelimit``):
``SenderHistory.record`` is synchronous, as is the CPU-bound filter that consumes it;
an async caller runs it in a thread (one round trip, well under a millisecond).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from redis.commands.core import Script

from blocking.sender import SenderStats

PREFIX = "safenum:sender:"
RATE_WINDOW = timedelta(minutes=1)
MAX_TRACKED = 1000
"""Cap on the members of each sorted set: past this the count only needs to say "many"."""

_RECORD = """
local rcpt, sent, seq, blocked = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, window, rate_window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local recipient, max_recipients = ARGV[4], tonumber(ARGV[5])
local rate_limit, block_for, cap = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])

redis.call('ZREMRANGEBYSCORE', rcpt, '-inf', '(' .. (now - window))
redis.call('ZADD', rcpt, 'GT', now, recipient)
local distinct = redis.call('ZCARD', rcpt)
if distinct > cap then
  redis.call('ZREMRANGEBYRANK', rcpt, 0, distinct - cap - 1)
  distinct = cap
end
redis.call('PEXPIRE', rcpt, window)

redis.call('ZREMRANGEBYSCORE', sent, '-inf', '(' .. (now - rate_window))
local n = redis.call('INCR', seq)
redis.call('PEXPIRE', seq, rate_window)
redis.call('ZADD', sent, now, n)
local recent = redis.call('ZCARD', sent)
if recent > cap then
  redis.call('ZREMRANGEBYRANK', sent, 0, recent - cap - 1)
  recent = cap
end
redis.call('PEXPIRE', sent, rate_window)

if distinct >= max_recipients then
  redis.call('SET', blocked, now + block_for, 'PX', block_for)
end
local blocked_until = tonumber(redis.call('GET', blocked) or '0')
if blocked_until <= now then
  blocked_until = 0
end
return {distinct, recent, blocked_until}
"""


@dataclass
class RedisSenderHistory:
    """:class:`blocking.sender.SenderHistory` over Redis.

    ``hmac_key`` (at least 16 bytes, from the settings' secrets) names the keys;
    ``window`` and ``max_recipients`` define a burst, which blocks the sender for
    ``block_for`` on every safe number; ``rate_limit`` is texts per ``rate_window``
    (a minute).
    """

    client: redis.Redis
    hmac_key: bytes = field(repr=False)
    window: timedelta = timedelta(minutes=10)
    max_recipients: int = 5
    rate_limit: int = 10
    block_for: timedelta = timedelta(hours=1)
    rate_window: timedelta = RATE_WINDOW
    prefix: str = PREFIX
    _script: Script = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.hmac_key) < 16:
            raise ValueError("hmac_key must be at least 16 bytes")
        if self.max_recipients < 1 or self.rate_limit < 1:
            raise ValueError("max_recipients and rate_limit must be positive")
        self._script = self.client.register_script(_RECORD)

    def keys(self, sender: str) -> list[str]:
        """The four keys of ``sender`` (one hash slot: the digest is a hash tag)."""
        base = f"{self.prefix}{{{self._digest(sender)}}}"
        return [f"{base}:rcpt", f"{base}:sent", f"{base}:seq", f"{base}:blocked"]

    def record(self, sender: str, recipient: str, at: datetime) -> SenderStats:
        return self.record_many([(sender, recipient)], at)[0]

    def record_many(self, texts: Sequence[tuple[str, str]], at: datetime) -> list[SenderStats]:
        """:meth:`record` of several (sender, recipient) texts in order, one round trip
        (a pipeline of the script: each text still sees the ones before it)."""
        if not texts:
            return []
        pipe = self.client.pipeline(transaction=False)
        for sender, recipient in texts:
            self._script(keys=self.keys(sender), args=self._args(recipient, at), client=pipe)
        try:
            results: list[Any] = pipe.execute()
        except redis.RedisError as exc:
            raise SenderHistoryUnavailable(str(exc)) from exc
        return [self._stats(sender, r) for (sender, _), r in zip(texts, results, strict=True)]

    def _args(self, recipient: str, at: datetime) -> list[int | str]:
        return [
            _milliseconds(at),
            _milliseconds_of(self.window),
            _milliseconds_of(self.rate_window),
            self._digest(recipient),
            self.max_recipients,
            self.rate_limit,
            _milliseconds_of(self.block_for),
            MAX_TRACKED,
        ]

    def _stats(self, sender: str, result: Any) -> SenderStats:
        distinct, recent, blocked_until = (int(x) for x in result)
        return SenderStats(
            sender,
            distinct,
            self.window,
            texts_last_minute=recent,
            rate_limited=recent > self.rate_limit,
            blocked_until=_datetime(blocked_until) if blocked_until else None,
        )

    def _digest(self, value: str) -> str:
        return hmac.new(self.hmac_key, value.encode(), hashlib.sha256).hexdigest()[:32]


class SenderHistoryUnavailable(RuntimeError):
    """Redis could not be reached or refused the script; the caller decides to fail
    open (deliver on content alone) or closed."""


def _milliseconds(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("sender history needs timezone-aware times")
    return int(at.timestamp() * 1000)


def _milliseconds_of(span: timedelta) -> int:
    return max(int(span.total_seconds() * 1000), 1)


def _datetime(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)
