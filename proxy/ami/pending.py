"""Actions in flight: one future per ActionID, completed by the reader.

Completion rules (never message text):
- a non-list action completes with its response;
- a list action whose response is ``EventList: start`` collects every event
  carrying its ActionID and completes on the event with ``EventList: Complete``
  (an error response, or a success without ``EventList``, completes at once);
- a list action registered with a ``sink`` hands each event to it instead of
  keeping it (a 10^6-row ``DBGetTree`` is never held as 10^6 messages);
- a batch (``register_batch``: many pipelined actions, one future) completes when
  every one of its actions has its response, with the error responses by index;
- whoever registered an action removes it again (``discard``), whether it was
  answered, timed out or cancelled, so nothing outlives its caller.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from proxy.ami.types import AmiListResult, AmiMessage


@dataclass
class _Entry:
    future: asyncio.Future[AmiListResult]
    is_list: bool
    response: AmiMessage | None = None
    events: list[AmiMessage] = field(default_factory=list)
    sink: Callable[[AmiMessage], None] | None = None
    received: int = 0
    """Events seen so far: a long list shows progress by it."""


BatchErrors = list[tuple[int, AmiMessage]]
"""The error responses of a batch: (index of the action in the batch, response)."""


@dataclass
class _Batch:
    future: asyncio.Future[BatchErrors]
    remaining: int
    errors: BatchErrors = field(default_factory=list)


class PendingActions:
    """The ActionID -> future table of one client."""

    def __init__(self) -> None:
        # A per-client prefix keeps ids unique across reconnects and clients.
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._entries: dict[str, _Entry] = {}
        self._batched: dict[str, tuple[_Batch, int]] = {}

    def __len__(self) -> int:
        return len(self._entries) + len(self._batched)

    def register(
        self, is_list: bool, sink: Callable[[AmiMessage], None] | None = None
    ) -> tuple[str, asyncio.Future[AmiListResult]]:
        action_id = f"{self._prefix}-{next(self._counter)}"
        future: asyncio.Future[AmiListResult] = asyncio.get_running_loop().create_future()
        self._entries[action_id] = _Entry(future, is_list, sink=sink)
        return action_id, future

    def received(self, action_id: str) -> int:
        """Events a list action has received so far (0 once it is gone)."""
        entry = self._entries.get(action_id)
        return 0 if entry is None else entry.received

    def register_batch(self, count: int) -> tuple[list[str], asyncio.Future[BatchErrors]]:
        """ActionIDs for ``count`` non-list actions and one future for all their responses."""
        batch = _Batch(asyncio.get_running_loop().create_future(), count)
        ids = [f"{self._prefix}-{next(self._counter)}" for _ in range(count)]
        for index, action_id in enumerate(ids):
            self._batched[action_id] = (batch, index)
        if not count:
            batch.future.set_result([])
        return ids, batch.future

    def discard(self, action_id: str) -> None:
        self._entries.pop(action_id, None)

    def discard_batch(self, action_ids: Sequence[str]) -> None:
        for action_id in action_ids:
            self._batched.pop(action_id, None)

    def feed(self, message: AmiMessage) -> bool:
        """Route a packet to its action; False if it belongs to nobody (an event)."""
        action_id = message.action_id
        if action_id is None:
            return False
        slot = self._batched.get(action_id)
        if slot is not None:
            return self._feed_batch(action_id, slot, message)
        entry = self._entries.get(action_id)
        if entry is None or entry.future.done():
            return False
        if message.kind == "response":
            if entry.response is not None:
                return False  # a second response for one id: not ours to interpret
            if entry.is_list and not message.is_error and message.event_list == "start":
                entry.response = message
            else:
                entry.future.set_result(AmiListResult(message))
            return True
        if entry.response is None:
            return False  # an event before its list started: an unrelated event
        if message.event_list == "complete":
            entry.future.set_result(AmiListResult(entry.response, tuple(entry.events)))
        else:
            entry.received += 1
            if entry.sink is not None:
                entry.sink(message)
            else:
                entry.events.append(message)
        return True

    def _feed_batch(self, action_id: str, slot: tuple[_Batch, int], message: AmiMessage) -> bool:
        if message.kind != "response":
            return False  # batched actions are not list actions: an unrelated event
        del self._batched[action_id]
        batch, index = slot
        if message.is_error:
            batch.errors.append((index, message))
        batch.remaining -= 1
        if batch.remaining == 0 and not batch.future.done():
            batch.future.set_result(batch.errors)
        return True

    def fail_all(self, exc: BaseException) -> None:
        """The connection is gone: nobody will answer what is in flight."""
        for entry in self._entries.values():
            if not entry.future.done():
                entry.future.set_exception(exc)
        self._entries.clear()
        for batch, _ in self._batched.values():
            if not batch.future.done():
                batch.future.set_exception(exc)
        self._batched.clear()
