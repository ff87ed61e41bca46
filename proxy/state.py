"""The call state machine, driven by the dialplan's ``UserEvent(SafenumCall)``.

Every inbound call is tagged with ``SAFENUM_CALL`` (its own UNIQUEID, inherited
by the driver's leg) and reports its phases: ``start``, ``menu``, ``dial``,
``whisper`` (driver answered, on the driver's leg), ``dialend``, ``offer``,
``text``, ``callback``, ``refused`` and ``end`` (with the summary the hangup
handler also writes to ``safenum/cdr/<call>``). Nothing here reads message
text: only our own headers. An event that does not fit the current state is
logged and ignored; an ``end`` for a call we never saw start (the bridge
connected mid-call) is completed from its summary alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime

from calls.facts import CallFacts, Outcome, State
from proxy.dialplan import CALL_EVENT

__all__ = ["EVENT", "CallFacts", "CallTracker", "Outcome", "State", "parse_summary"]

log = logging.getLogger(__name__)

EVENT = CALL_EVENT


# phase -> states it may arrive in, and the state it leads to (None: unchanged).
_TRANSITIONS: dict[str, tuple[frozenset[State], State | None]] = {
    "menu": (frozenset({State.STARTED}), State.MENU),
    "dial": (frozenset({State.STARTED, State.MENU}), State.DIALING),
    "callback": (frozenset({State.STARTED}), State.DIALING),
    "whisper": (frozenset({State.DIALING}), State.ANSWERED),
    "dialend": (frozenset({State.DIALING, State.ANSWERED}), None),
    "offer": (frozenset({State.STARTED, State.MENU, State.DIALING}), State.OFFERED),
    "text": (frozenset({State.MENU, State.OFFERED}), State.TEXTED),
    "refused": (frozenset({State.STARTED}), State.REFUSED),
}


def _at(value: str) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value.isdigit() else None


def parse_summary(call_id: str, summary: str) -> CallFacts:
    """The hangup handler's ``v2|number|ref|kind|start|answered|end|dial|text|refused|key``.

    ``v1`` (without the caller key) is still read: summaries left in AstDB by a
    dialplan from before the upgrade.
    """
    parts = summary.split("|")
    if not ((len(parts) == 10 and parts[0] == "v1") or (len(parts) == 11 and parts[0] == "v2")):
        raise ValueError(f"not a v1/v2 call summary for {call_id}")
    _, number, ref, kind, start, answered, end, dial, text, refused = parts[:10]
    return CallFacts(
        call_id=call_id,
        number=number,
        caller_ref=ref,
        caller_key=parts[10] if len(parts) == 11 else "",
        kind=kind or "call",
        started=_at(start),
        answered=_at(answered),
        ended=_at(end),
        dial_status=dial,
        text_status=text,
        refused=refused,
        state=State.ENDED,
    )


class CallTracker:
    """Open calls by tag; ``feed`` returns the facts of a call that just ended."""

    def __init__(self) -> None:
        self.calls: dict[str, CallFacts] = {}
        self.unexpected = 0

    def feed(self, headers: Mapping[str, str]) -> CallFacts | None:
        if headers.get("UserEvent") != EVENT:
            return None
        call_id = headers.get("Call", "")
        phase = headers.get("Phase", "")
        at = _at(headers.get("At", ""))
        if not call_id:
            self._odd("event without a call tag", phase, call_id)
            return None
        if phase == "start":
            self.calls[call_id] = CallFacts(
                call_id,
                number=headers.get("Number", ""),
                caller_ref=headers.get("Ref", ""),
                caller_key=headers.get("Key", ""),
                started=at,
            )
            return None
        if phase == "end":
            return self._end(call_id, headers.get("Summary", ""), at)
        facts = self.calls.get(call_id)
        rule = _TRANSITIONS.get(phase)
        if facts is None or rule is None:
            self._odd("unknown call or phase", phase, call_id)
            return None
        allowed, target = rule
        if facts.state not in allowed:
            self._odd(f"phase out of order in state {facts.state}", phase, call_id)
            return None
        facts = self._apply(facts, phase, headers, at)
        self.calls[call_id] = replace(facts, state=target or facts.state)
        return None

    def _apply(
        self, facts: CallFacts, phase: str, headers: Mapping[str, str], at: datetime | None
    ) -> CallFacts:
        if phase == "whisper":
            return replace(facts, answered=at)
        if phase == "dialend":
            return replace(facts, dial_status=headers.get("Status", ""))
        if phase == "text":
            return replace(facts, text_status=headers.get("Status", ""))
        if phase == "refused":
            return replace(facts, refused=headers.get("Reason", ""))
        if phase == "offer" and headers.get("Reason") == "quiet":
            return replace(facts, refused="quiet")
        if phase == "callback":
            return replace(
                facts,
                kind="callback",
                caller_ref=headers.get("Ref", ""),
                caller_key=headers.get("Key", ""),
            )
        return facts

    def _end(self, call_id: str, summary: str, at: datetime | None) -> CallFacts | None:
        facts = self.calls.pop(call_id, None)
        try:
            final = parse_summary(call_id, summary)
        except ValueError:
            if facts is None:
                self._odd("end without summary for an unknown call", "end", call_id)
                return None
            return replace(facts, ended=at, state=State.ENDED)
        if facts is None:
            return final  # started before we connected: the summary is all we have
        # Our own observations win; the summary fills what we missed.
        return CallFacts(
            call_id,
            number=facts.number or final.number,
            caller_ref=facts.caller_ref or final.caller_ref,
            caller_key=facts.caller_key or final.caller_key,
            kind=facts.kind if facts.kind != "call" else final.kind,
            started=facts.started or final.started,
            answered=facts.answered or final.answered,
            ended=final.ended or at,
            dial_status=facts.dial_status or final.dial_status,
            text_status=facts.text_status or final.text_status,
            refused=facts.refused or final.refused,
            state=State.ENDED,
        )

    def _odd(self, why: str, phase: str, call_id: str) -> None:
        self.unexpected += 1
        log.warning("ignored SafenumCall phase %r for call %r: %s", phase, call_id, why)
