"""How a sender behaves across safe numbers: the behaviour signals the filter uses.

One person texts one parked car; a spammer texts hundreds of safe numbers, or one
number many times a minute. The ``SenderHistory`` protocol is the seam: this module
ships an in-memory implementation for tests, the CLI and single-process use; the
Redis one (shared by all workers, atomic, bounded) is :mod:`blocking.sender_redis`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SenderStats:
    """One sender's recent behaviour, as of the text just recorded.

    ``distinct_recipients`` counts safe numbers texted within ``window``;
    ``texts_last_minute`` and ``blocked_until`` are filled by histories that track
    them (:class:`blocking.sender_redis.RedisSenderHistory`): a sender over the rate
    limit, or still inside a block imposed after a burst, is blocked for every number.
    """

    sender: str
    distinct_recipients: int
    window: timedelta
    texts_last_minute: int = 0
    rate_limited: bool = False
    blocked_until: datetime | None = None

    def describe(self) -> str:
        minutes = int(self.window.total_seconds() // 60)
        text = f"sender texted {self.distinct_recipients} safe numbers in {minutes} minutes"
        if self.rate_limited:
            text += f", {self.texts_last_minute} texts in the last minute"
        if self.blocked_until is not None:
            text += f", blocked until {self.blocked_until.isoformat(timespec='seconds')}"
        return text


class SenderHistory(Protocol):
    """Records that ``sender`` texted ``recipient`` at ``at`` and returns the fresh stats."""

    def record(self, sender: str, recipient: str, at: datetime) -> SenderStats: ...


@dataclass
class InMemorySenderHistory:
    """A sliding window per sender; forgets events older than ``window``."""

    window: timedelta = timedelta(minutes=10)
    _events: dict[str, deque[tuple[datetime, str]]] = field(default_factory=dict)

    def record(self, sender: str, recipient: str, at: datetime) -> SenderStats:
        events = self._events.setdefault(sender, deque())
        events.append((at, recipient))
        horizon = at - self.window
        while events and events[0][0] < horizon:
            events.popleft()
        distinct = len({r for _t, r in events})
        return SenderStats(sender, distinct, self.window)


@dataclass(frozen=True, slots=True)
class BurstPolicy:
    """Blocked as spam: ``limit`` or more distinct safe numbers within the window, a
    sender over its rate limit, or one still serving a block from an earlier burst."""

    limit: int = 5

    def is_burst(self, stats: SenderStats) -> bool:
        return (
            stats.distinct_recipients >= self.limit
            or stats.rate_limited
            or stats.blocked_until is not None
        )
