"""Calls through the real Asterisk: connect, busy, no answer, unknown, privacy."""

from __future__ import annotations

import asyncio

import pytest
from pbx_sipp import (
    CALLER_NUMBER,
    DRIVER_E164,
    DRIVER_NATIONAL,
    Pbx,
    SippRun,
    TrunkTrap,
    leaks,
)

from proxy.ami import AmiClient
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345678"


def place(pbx: Pbx, dialled: str, driver_scenario: str) -> tuple[SippRun, SippRun]:
    with pbx.sipp.driver(driver_scenario) as phone:
        caller = pbx.sipp.call(dialled)
    assert phone.run is not None
    return caller, phone.run


def invite(run: SippRun) -> str:
    invites = [m.text for m in run.received if m.first_line.startswith("INVITE ")]
    assert len(invites) == 1, run.log_text
    return invites[0]


@pytest.mark.parametrize("dialled", [NUMBER, "+8250412345678"])
async def test_call_connects_to_driver_with_safe_caller_id(
    pbx: Pbx, ami: AmiClient, dialled: str
) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    async with ami.subscribe({"DialBegin"}) as dials:
        caller, driver = await asyncio.to_thread(place, pbx, dialled, "driver_answer")
        dial = await asyncio.wait_for(dials.get(), 5)

    assert caller.returncode == 0, caller.log_text
    assert driver.returncode == 0, driver.log_text
    assert 200 in caller.statuses
    request = invite(driver)
    assert request.startswith(f"INVITE sip:{DRIVER_NATIONAL}@127.0.0.1:{pbx.config.trunk_port} ")
    assert f'From: "안심번호" <sip:{NUMBER}@' in request
    assert dial.headers["DestChannel"].startswith("PJSIP/trunk-")


async def test_busy_driver_leads_to_the_text_offer(pbx: Pbx, ami: AmiClient) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    caller, driver = await asyncio.to_thread(place, pbx, NUMBER, "driver_busy")

    assert driver.returncode == 0, driver.log_text
    assert caller.final_status == 200  # answered to say so and offer the move-car text


async def test_unanswered_call_is_cancelled_then_the_text_offered(pbx: Pbx, ami: AmiClient) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    async with ami.subscribe({"UserEvent"}) as events:
        caller, driver = await asyncio.to_thread(place, pbx, NUMBER, "driver_noanswer")
        phases: list[str] = []
        async with asyncio.timeout(10):
            while "end" not in phases:
                event = await events.get()
                if event.headers.get("UserEvent") == "SafenumCall":
                    phases.append(event.headers["Phase"])
                    if event.headers["Phase"] == "dialend":
                        assert event.headers["Status"] == "NOANSWER"

    assert driver.returncode == 0, driver.log_text
    assert any(m.first_line.startswith("CANCEL ") for m in driver.received)
    assert caller.final_status == 200  # the offer, after the driver's phone stopped ringing
    # In this order: the driver was dialled, the dial ended unanswered, then the offer.
    assert phases == ["start", "dial", "dialend", "offer", "end"]


async def test_unknown_number_is_refused_and_nobody_rings(pbx: Pbx, ami: AmiClient) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call, "050499999999")
        assert trap.drain() == []
    assert caller.final_status == 404
    assert 183 in caller.statuses  # the Korean "not in use" announcement, as early media


@pytest.mark.parametrize("scenario", ["driver_answer", "driver_busy", "driver_noanswer"])
async def test_neither_party_ever_sees_the_other_number(
    pbx: Pbx, ami: AmiClient, scenario: str
) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    caller, driver = await asyncio.to_thread(place, pbx, "+8250412345678", scenario)

    assert driver.received
    assert caller.received
    for message in driver.received:  # INVITE, ACK, BYE, CANCEL, re-INVITE ...
        assert leaks(message.text, CALLER_NUMBER) == [], message.text
    for message in caller.received:  # 1xx, 200 OK, final errors, BYE answers ...
        assert leaks(message.text, DRIVER_NATIONAL) == [], message.text
    # The identity the driver sees is the safe number and nothing else.
    request = invite(driver)
    for header in ("P-Asserted-Identity", "Remote-Party-ID", "Diversion", "History-Info"):
        assert f"\n{header}:" not in request
