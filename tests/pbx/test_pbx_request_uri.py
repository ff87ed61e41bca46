"""Issue 12, hole 3: only a Request-URI that is exactly a 050 number reaches a driver.

Asterisk unescapes the Request-URI user and copies it as a C string, so
``sip:050412345678%00anything@`` used to arrive in the dialplan as the extension
``050412345678`` and ring the driver. Calls are checked in ``[from-trunk]`` against
``CHANNEL(pjsip,request_uri)``; texts by the project's res_pjsip_messaging patch
(deploy/asterisk/patches/res_pjsip_messaging-exact-user.patch).
"""

from __future__ import annotations

import asyncio

import pytest
from pbx_sipp import DRIVER_E164, DRIVER_NATIONAL, Pbx, SippRun, TrunkTrap
from sip_text import send_text

from proxy.ami import AmiClient
from proxy.messaging import SPOOL_FAMILY
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345678"
TEXTER = "01077776666"

INEXACT = [
    f"{NUMBER}%00",
    f"{NUMBER}%0001012345678",  # a real-looking number hidden after the NUL
    f"{NUMBER}%00%23",
    f"+82{NUMBER[1:]}%00",
    f"{NUMBER}%2500",  # an escaped "%00": the extension would be 050412345678%00
]


@pytest.mark.parametrize("dialled", [NUMBER, f"+82{NUMBER[1:]}"])
async def test_the_exact_number_still_rings_the_driver(
    pbx: Pbx, ami: AmiClient, dialled: str
) -> None:
    """The control: the check refuses the inexact forms, not every call. (The driver's
    phone answers busy, so no INVITE is left retransmitting into the next test.)"""
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)

    def place() -> SippRun | None:
        with pbx.sipp.driver("driver_busy") as phone:
            pbx.sipp.call(dialled)
        return phone.run

    driver = await asyncio.to_thread(place)
    assert driver is not None
    invites = [m for m in driver.received if m.first_line.startswith("INVITE ")]
    assert [m.first_line.split()[1].split("@")[0] for m in invites] == [f"sip:{DRIVER_NATIONAL}"]


@pytest.mark.parametrize("dialled", INEXACT)
async def test_a_call_to_an_inexact_request_uri_is_404_and_rings_nobody(
    pbx: Pbx, ami: AmiClient, dialled: str
) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call, dialled)
        assert trap.drain() == [], "Asterisk sent something towards the trunk"
    assert caller.final_status == 404, caller.log_text


@pytest.mark.parametrize("to", INEXACT)
async def test_a_text_to_an_inexact_request_uri_is_404_and_not_spooled(
    pbx: Pbx, ami: AmiClient, to: str
) -> None:
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    status = await asyncio.to_thread(send_text, pbx.config.sip_port, to, TEXTER, b"hi")
    assert status == 404
    # The control that makes "nothing spooled" a fact: the exact number is spooled.
    assert await asyncio.to_thread(send_text, pbx.config.sip_port, NUMBER, TEXTER, b"ok") == 202
    async with asyncio.timeout(5):
        while not (entries := await ami.db_get_tree(SPOOL_FAMILY)):
            await asyncio.sleep(0.02)
    assert len(entries) == 1
    await ami.db_deltree(SPOOL_FAMILY)
