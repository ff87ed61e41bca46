"""What is known about one call: its state, its facts, and the outcome derived from them.

The facts come from the dialplan's events (``proxy.state.CallTracker``) or from the
summary its hangup handler leaves; nothing here knows Asterisk.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Outcome(enum.StrEnum):
    ANSWERED = "answered"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    MOVE_TEXT = "move-text"


class State(enum.StrEnum):
    STARTED = "started"
    MENU = "menu"
    DIALING = "dialing"
    ANSWERED = "answered"
    OFFERED = "offered"
    TEXTED = "texted"
    REFUSED = "refused"
    ENDED = "ended"


@dataclass(frozen=True)
class CallFacts:
    """What is known about one call; ``outcome`` is derived, never reported."""

    call_id: str
    number: str = ""
    caller_ref: str = ""
    caller_key: str = ""  # number-independent (operators' global blocklist); "" if unknown
    kind: str = "call"
    started: datetime | None = None
    answered: datetime | None = None
    ended: datetime | None = None
    dial_status: str = ""
    text_status: str = ""
    refused: str = ""
    state: State = State.STARTED

    @property
    def text_sent(self) -> bool:
        return self.text_status == "SUCCESS"

    @property
    def outcome(self) -> Outcome:
        if self.refused == "blocked":
            return Outcome.BLOCKED
        if self.answered is not None or self.dial_status == "ANSWER":
            return Outcome.ANSWERED
        if self.text_sent:
            return Outcome.MOVE_TEXT
        if self.refused in ("unknown", "quiet", "no-caller"):
            return Outcome.REJECTED
        if self.dial_status == "BUSY":
            return Outcome.BUSY
        if self.dial_status:
            return Outcome.NO_ANSWER  # NOANSWER, CHANUNAVAIL, CONGESTION, CANCEL
        return Outcome.REJECTED  # the caller left before anyone was dialled

    @property
    def duration_seconds(self) -> int:
        if self.answered is None or self.ended is None:
            return 0
        return max(0, int((self.ended - self.answered).total_seconds()))
