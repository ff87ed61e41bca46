"""How many safe numbers a sender has texted lately: the one behaviour signal we use.

One person texts one parked car; a spammer texts hundreds of safe numbers. The
``SenderHistory`` protocol is the seam: this module ships an in-memory implementation
for tests and single-process use; the Redis one lives with the other adapters.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SenderStats:
    """Distinct recipients of one sender within the trailing window."""

    sender: str
    distinct_recipients: int
    window: timedelta

    def describe(self) -> str:
        minutes = int(self.window.total_seconds() // 60)
        return f"sender texted {self.distinct_recipients} safe numbers in {minutes} minutes"


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
    """Texting ``limit`` or more distinct safe numbers within the window is spam."""

    limit: int = 5

    def is_burst(self, stats: SenderStats) -> bool:
        return stats.distinct_recipients >= self.limit
