"""Toll fraud and trust: only the trunk gets in, only replicated 050 numbers get out."""

from __future__ import annotations

import asyncio

import pytest
from pbx_sipp import DRIVER_E164, Pbx, TrunkTrap

from proxy.ami import AmiClient
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345678"

NEVER_DIALLED = [
    "01012345678",  # a mobile number dialled directly
    "+821012345678",
    "00821012345678",
    "9011821012345678",  # classic PBX escape-to-international
    "0101234567",
    "050499999999",  # a 050 number without route
    "+8250499999999",
    "05041234567",  # 11 digits
    "0504123456789",  # 13 digits
    "050412345678%23",  # 050412345678#
    "*97",
    "s",
    "i",
    "h",
    "t",
    "unknown",  # extensions of [safenum-route] must not be reachable directly
    "dial-ANSWER",
    "dial-BUSY",
]


def assert_nobody_rang(trap: TrunkTrap) -> None:
    assert trap.drain() == [], "Asterisk sent something towards the trunk"


@pytest.mark.parametrize("dialled", NEVER_DIALLED)
async def test_trunk_cannot_dial_out_except_to_replicated_numbers(
    pbx: Pbx, ami: AmiClient, dialled: str
) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call, dialled)
        assert_nobody_rang(trap)
    assert caller.final_status == 404, caller.log_text


@pytest.mark.parametrize(
    "value",
    [
        "+825012345678",  # another safe number: would loop through the carrier
        "01012345678",  # not E.164
        "+11234567890",  # not Korean
        "+8210123456789012",  # too long
        "+821012345678&PJSIP/9011@trunk",  # dial-string injection
    ],
)
async def test_malformed_replica_values_never_dial(pbx: Pbx, ami: AmiClient, value: str) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, value)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call, NUMBER)
        assert_nobody_rang(trap)
    assert caller.final_status == 404


async def test_invite_from_another_address_is_rejected(pbx: Pbx, ami: AmiClient) -> None:
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call, NUMBER, "127.0.0.2")
        assert_nobody_rang(trap)
    assert caller.final_status in (401, 403)


async def test_sip_message_from_outside_the_trunk_is_refused(pbx: Pbx, ami: AmiClient) -> None:
    """From the trunk a text is spooled for the relay (test_pbx_text_spool.py); from any
    other address it is refused before the dialplan, and nothing is relayed."""
    source = "127.0.0.2"
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        run = await asyncio.to_thread(pbx.sipp.call, NUMBER, source, "message")
        assert_nobody_rang(trap)
    assert run.final_status is not None
    assert run.final_status >= 400
