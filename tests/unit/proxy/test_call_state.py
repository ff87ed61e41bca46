"""The call state machine: phases in order, out of order, and from the summary alone."""

from __future__ import annotations

import pytest

from proxy.state import CallTracker, Outcome, parse_summary

CALL = "1795374147.0"
T0 = 1795374147


def ev(phase: str, at: int = T0, **headers: str) -> dict[str, str]:
    return {"UserEvent": "SafenumCall", "Call": CALL, "Phase": phase, "At": str(at), **headers}


def summary(answered: str = "", dial: str = "", text: str = "", refused: str = "") -> str:
    head = f"v1|050412345678|abcdef0123456789abcd|call|{T0}"
    return f"{head}|{answered}|{T0 + 30}|{dial}|{text}|{refused}"


def test_answered_call_has_duration_from_the_whisper() -> None:
    tracker = CallTracker()
    assert tracker.feed(ev("start", Number="050412345678", Ref="abcdef0123456789abcd")) is None
    for event in (ev("menu", Choice="2"), ev("dial"), ev("whisper", T0 + 5)):
        assert tracker.feed(event) is None
    tracker.feed(ev("dialend", T0 + 30, Status="ANSWER"))
    facts = tracker.feed(ev("end", T0 + 30, Summary=summary(str(T0 + 5), "ANSWER")))
    assert facts is not None
    assert (facts.outcome, facts.duration_seconds) == (Outcome.ANSWERED, 25)
    assert tracker.calls == {}


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"dial": "BUSY"}, Outcome.BUSY),
        ({"dial": "NOANSWER"}, Outcome.NO_ANSWER),
        ({"dial": "CHANUNAVAIL"}, Outcome.NO_ANSWER),
        ({"dial": "NOANSWER", "text": "SUCCESS"}, Outcome.MOVE_TEXT),
        ({"text": "SUCCESS", "refused": "quiet"}, Outcome.MOVE_TEXT),
        ({"refused": "quiet"}, Outcome.REJECTED),
        ({"refused": "unknown"}, Outcome.REJECTED),
        ({"refused": "blocked"}, Outcome.BLOCKED),
        ({}, Outcome.REJECTED),
    ],
)
def test_outcome_from_the_summary(fields: dict[str, str], outcome: Outcome) -> None:
    assert parse_summary(CALL, summary(**fields)).outcome == outcome


def test_events_out_of_order_are_ignored_and_the_machine_stays_consistent() -> None:
    tracker = CallTracker()
    tracker.feed(ev("start", Number="050412345678", Ref="r"))
    assert tracker.feed(ev("whisper")) is None  # before any dial: ignored
    assert tracker.feed(ev("text", Status="SUCCESS")) is None  # not offered: ignored
    assert tracker.feed({"UserEvent": "SafenumCall", "Phase": "dial"}) is None  # no tag
    assert tracker.feed(ev("teleport")) is None
    assert tracker.unexpected == 4
    assert tracker.calls[CALL].answered is None
    facts = tracker.feed(ev("end", T0 + 30, Summary=summary(dial="NOANSWER")))
    assert facts is not None
    assert facts.outcome == Outcome.NO_ANSWER


def test_an_end_for_a_call_never_seen_is_completed_from_its_summary() -> None:
    facts = CallTracker().feed(ev("end", Summary=summary(text="SUCCESS")))
    assert facts is not None
    assert (facts.number, facts.outcome) == ("050412345678", Outcome.MOVE_TEXT)


def test_other_user_events_and_bad_summaries_are_not_calls() -> None:
    tracker = CallTracker()
    assert tracker.feed({"UserEvent": "Other", "Call": CALL}) is None
    assert tracker.feed(ev("end", Summary="v2|x")) is None
    with pytest.raises(ValueError, match="v1"):
        parse_summary(CALL, "garbage")
