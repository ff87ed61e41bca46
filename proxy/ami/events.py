"""Fan-out of unsolicited AMI events to subscribers, filtered at the source.

Asterisk only sends the event names some subscriber asked for (one ``Filter``
whitelist entry per name, re-sent on every reconnect); the fan-out filters again
by name because several subscribers share one connection. A slow subscriber
never blocks the reader: its bounded queue drops the oldest event and counts it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Collection

from proxy.ami.types import AmiMessage

log = logging.getLogger(__name__)

_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def filter_for(name: str) -> str:
    """The manager-side whitelist regex for one event name (POSIX ERE)."""
    if not _EVENT_NAME.match(name):
        raise ValueError(f"not an AMI event name: {name!r}")
    return f"^Event: {name}[[:space:]]"


class EventSubscription:
    """An async iterator over the events one subscriber asked for."""

    def __init__(self, names: Collection[str], maxsize: int) -> None:
        self.names = frozenset(names)
        self.dropped = 0
        self._queue: asyncio.Queue[AmiMessage] = asyncio.Queue(maxsize)

    def offer(self, event: AmiMessage) -> None:
        if event.name not in self.names:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            log.warning("AMI subscriber too slow, dropped %s (%d so far)", event.name, self.dropped)
        self._queue.put_nowait(event)

    async def get(self) -> AmiMessage:
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[AmiMessage]:
        return self

    async def __anext__(self) -> AmiMessage:
        return await self._queue.get()


class EventHub:
    """All subscriptions of one client."""

    def __init__(self) -> None:
        self._subscriptions: set[EventSubscription] = set()
        self.names: set[str] = set()

    def add(self, subscription: EventSubscription) -> set[str]:
        """Register; returns the names that are new to the manager-side filter."""
        new = set(subscription.names) - self.names
        self._subscriptions.add(subscription)
        self.names |= subscription.names
        return new

    def remove(self, subscription: EventSubscription) -> None:
        # Filters cannot be removed from a live AMI session (Filter has no
        # "delete" operation); the next reconnect sends only what is still wanted.
        self._subscriptions.discard(subscription)
        self.names = set().union(*(s.names for s in self._subscriptions))

    def publish(self, event: AmiMessage) -> None:
        for subscription in self._subscriptions:
            subscription.offer(event)
