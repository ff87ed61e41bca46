"""Privacy on the way back: nothing of the answering phone reaches the caller.

The phone behind the trunk answers like a real network would: its own number in
P-Asserted-Identity, Remote-Party-ID, Contact, History-Info, display names and the
SDP origin of its 180, 183 and 200 (tests/pbx/scenarios/driver_answer.xml). For a
normal call that phone is the driver's and the caller must not learn it; for a
callback it is the last caller's and the driver must not learn it. Both with the
menu on (the shipped default) and off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pbx_sipp import CALLER_NUMBER, DRIVER_E164, DRIVER_NATIONAL, Pbx, SippRun, leaks

from proxy.ami import AmiClient
from proxy.preference_replica import LAST_FAMILY
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345670"


@pytest.fixture(params=["menu-off", "menu-on"])
async def line(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Pbx, AmiClient]]:
    pbx: Pbx = request.getfixturevalue("pbx" if request.param == "menu-off" else "menu_pbx")
    async with AmiClient(pbx.ami_settings()) as ami:
        await ami.wait_connected(10)
        await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
        try:
            yield pbx, ami
        finally:
            await ami.db_del(ROUTE_FAMILY, NUMBER)
            await ami.db_del(LAST_FAMILY, NUMBER)


def answered_with_its_number(phone: SippRun, own: str) -> None:
    """The phone did answer, and its answers did carry its number (the test can fail)."""
    sent = [m.text for m in phone.messages if not m.received]
    statuses = [t.split()[1] for t in sent if t.startswith("SIP/2.0")]
    assert {"180", "183", "200"} <= set(statuses), statuses
    answer = next(t for t in sent if t.startswith("SIP/2.0 200"))
    for header in ("P-Asserted-Identity:", "Remote-Party-ID:", "Contact:", "History-Info:"):
        line = next(ln for ln in answer.splitlines() if ln.startswith(header))
        assert leaks(line, own), line
    assert f"o={own} " in answer


def nothing_of(run: SippRun, number: str) -> None:
    assert run.received
    for message in run.received:  # 100, 180, 183, 200, BYE answers, re-INVITEs ...
        assert leaks(message.text, number) == [], message.text


async def test_the_callers_side_never_sees_the_drivers_answer(
    line: tuple[Pbx, AmiClient],
) -> None:
    pbx, _ = line

    def call() -> tuple[SippRun, SippRun]:
        with pbx.sipp.driver("driver_answer", timeout=30, own=DRIVER_NATIONAL) as phone:
            if pbx.config.menu:  # 2: connect me
                caller = pbx.sipp.call_menu(NUMBER, keys=[(300, "2")], hold_ms=3000)
            else:
                caller = pbx.sipp.call(NUMBER)
        assert phone.run is not None
        return caller, phone.run

    caller, phone = await asyncio.to_thread(call)
    assert caller.returncode == 0, caller.log_text
    assert phone.returncode == 0, phone.log_text
    answered_with_its_number(phone, DRIVER_NATIONAL)
    nothing_of(caller, DRIVER_NATIONAL)


async def test_the_driver_calling_back_never_sees_the_callers_answer(
    line: tuple[Pbx, AmiClient],
) -> None:
    pbx, ami = line
    await ami.db_put(LAST_FAMILY, NUMBER, f"{CALLER_NUMBER}:{int(time.time()) - 60}")

    def call_back() -> tuple[SippRun, SippRun]:
        with pbx.sipp.driver("driver_answer", timeout=30, own=CALLER_NUMBER) as phone:
            driver = pbx.sipp.call(NUMBER, caller=DRIVER_NATIONAL)
        assert phone.run is not None
        return driver, phone.run

    driver, called = await asyncio.to_thread(call_back)
    assert driver.returncode == 0, driver.log_text
    assert called.returncode == 0, called.log_text
    [invite] = [m.text for m in called.received if m.first_line.startswith("INVITE ")]
    assert invite.startswith(f"INVITE sip:{CALLER_NUMBER}@")  # it is the callback
    answered_with_its_number(called, CALLER_NUMBER)
    nothing_of(driver, CALLER_NUMBER)
    nothing_of(called, DRIVER_NATIONAL)
