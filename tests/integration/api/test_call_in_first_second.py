"""A call in the very second a number was issued is the new holder's call.

Asterisk stamps calls in whole seconds (EPOCH); an issue time with microseconds used
to hide such a call from the driver (started 12:00:06 < issued 12:00:06.7). The demo
found it: its first call follows the issue within the same second.
"""

from __future__ import annotations

from datetime import timedelta

from app_api.wiring import Core
from calls.records import CallRecords
from numbering.types import SafeNumber
from proxy.state import CallFacts, State
from tests.conftest import Clock
from tests.integration.api.conftest import Api


def test_a_call_in_the_second_of_issue_is_listed(api: Api, core: Core, clock: Clock) -> None:
    clock.now = clock.now.replace(microsecond=700_000)
    api.pool()
    driver = api.driver("010-2345-6789")
    number = SafeNumber.parse(api.numbered_vehicle(driver))
    start = clock.now.replace(microsecond=0)  # what Asterisk's EPOCH gives
    facts = CallFacts(
        call_id="first-second.1",
        number=number.digits,
        caller_ref="3f9a1c0d5e7b2a4c6e8f",
        caller_key="f8e6c4a2b7e5d0c1a9f3",
        started=start,
        ended=start + timedelta(seconds=20),
        dial_status="ANSWER",
        state=State.ENDED,
    )
    with core.sessions.begin() as session:
        assert CallRecords(session).add(facts, "events")
    items = api.client.get("/v1/calls", headers=driver).json()["items"]
    assert [i["safe_number"] for i in items] == [str(number)]
