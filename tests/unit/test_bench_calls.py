"""bench/calls.py's reading of the SIPp logs: which calls failed, and the PDD pairs."""

from __future__ import annotations

import pytest

from bench.calls import analyse


def caller_log(*calls: tuple[str, str, bool]) -> list[list[str]]:
    """One "I" line per call (sent at t=1, 2, ...) and an "O" line when it ended."""
    lines = []
    for i, (dialled, caller, ended) in enumerate(calls, start=1):
        lines.append(["I", dialled, caller, str(i), "0"])
        if ended:
            lines.append(["O", dialled, caller])
    return lines


def test_a_service_call_that_never_reached_the_driver_failed() -> None:
    # The second call completed for the caller (the dialplan answered it with the
    # text offer after Dial failed) but the driver never saw its INVITE.
    callers = caller_log(
        ("050400000001", "01190000001", True),
        ("050400000002", "01190000002", True),
        ("050400000003", "01190000003", False),
    )
    drivers = [
        ["D", "sip:050400000001@", "1", "4000"],
        ["D", "sip:050400000003@", "3", "2000"],
    ]
    step = analyse(1000, 50, "service", 3, callers, drivers)
    assert step.failed == 2  # never reached, never ended
    assert step.unended == 1  # the caller's SIPp did not complete the third
    assert step.pdd_ms == pytest.approx((4.0, 2.0))
    assert step.sent_at == (1.0, 3.0)  # each PDD sample's INVITE, for bench/astdb_commits.py
    assert step.unmatched == 0


def test_static_paths_pair_on_the_caller_number() -> None:
    callers = caller_log(("bench", "01190000001", True), ("bench-whisper", "01190000002", True))
    drivers = [
        ["D", "sip:01190000002@", "2", "3000"],
        ["D", "sip:01190000001@", "1", "1000"],
        ["D", "sip:01199999999@", "1", "1000"],  # from another step
    ]
    step = analyse(1000, 50, "baseline", 2, callers, drivers)
    assert step.failed == 0
    assert sorted(step.pdd_ms) == pytest.approx([1.0, 3.0])
    assert step.unmatched == 1
