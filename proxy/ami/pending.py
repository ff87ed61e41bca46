"""Actions in flight: one future per ActionID, completed by the reader.

Completion rules (never message text):
- a non-list action completes with its response;
- a list action whose response is ``EventList: start`` collects every event
  carrying its ActionID and completes on the event with ``EventList: Complete``
  (an error response, or a success without ``EventList``, completes at once);
- whoever registered an action removes it again (``discard``), whether it was
  answered, timed out or cancelled, so nothing outlives its caller.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass, field

from proxy.ami.types import AmiListResult, AmiMessage


@dataclass
class _Entry:
    future: asyncio.Future[AmiListResult]
    is_list: bool
    response: AmiMessage | None = None
    events: list[AmiMessage] = field(default_factory=list)


class PendingActions:
    """The ActionID -> future table of one client."""

    def __init__(self) -> None:
        # A per-client prefix keeps ids unique across reconnects and clients.
        self._prefix = secrets.token_hex(4)
        self._counter = itertools.count(1)
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def register(self, is_list: bool) -> tuple[str, asyncio.Future[AmiListResult]]:
        action_id = f"{self._prefix}-{next(self._counter)}"
        future: asyncio.Future[AmiListResult] = asyncio.get_running_loop().create_future()
        self._entries[action_id] = _Entry(future, is_list)
        return action_id, future

    def discard(self, action_id: str) -> None:
        self._entries.pop(action_id, None)

    def feed(self, message: AmiMessage) -> bool:
        """Route a packet to its action; False if it belongs to nobody (an event)."""
        action_id = message.action_id
        entry = self._entries.get(action_id) if action_id is not None else None
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
            entry.events.append(message)
        return True

    def fail_all(self, exc: BaseException) -> None:
        """The connection is gone: nobody will answer what is in flight."""
        for entry in self._entries.values():
            if not entry.future.done():
                entry.future.set_exception(exc)
        self._entries.clear()
