"""The callback's limits on the real dialplan: who the driver's own call may ring.

The driver calls their own 050 number from their registered phone; Asterisk rings
``safenum/last/<number>``. These tests store that entry by hand (what a stale
replica, a tampered AstDB or a hostile caller ID could leave) and prove the trunk is
never asked to ring anything but a recent, unblocked Korean mobile or geographic
number. A refusal is a fact in itself: the dialplan's ``Phase: refused`` event and
the call summary, then the trunk trap is read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pbx_sipp import CALLER_NUMBER, DRIVER_E164, DRIVER_NATIONAL, Pbx, TrunkTrap, leaks

from proxy.ami import AmiClient, AmiMessage
from proxy.messaging import CallerRefs
from proxy.preference_replica import CDR_FAMILY, LAST_FAMILY
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345678"
BLOCK_FAMILY = "safenum/block"


@pytest.fixture
async def line(pbx: Pbx, ami: AmiClient) -> AsyncIterator[AmiClient]:
    """NUMBER routed to the driver; no last caller, no blocks."""
    for family in (LAST_FAMILY, BLOCK_FAMILY, CDR_FAMILY):
        await ami.db_deltree(family)
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    yield ami
    for family in (LAST_FAMILY, BLOCK_FAMILY, CDR_FAMILY):
        await ami.db_deltree(family)


async def driver_calls_back(pbx: Pbx, ami: AmiClient) -> tuple[list[AmiMessage], list[bytes]]:
    """The driver dials their own number; returns the call's events and what the trunk got."""
    got: list[AmiMessage] = []
    async with ami.subscribe({"UserEvent"}) as events:
        with TrunkTrap(pbx.config.trunk_port) as trap:
            caller = await asyncio.to_thread(pbx.sipp.call, NUMBER, caller=DRIVER_NATIONAL)
            async with asyncio.timeout(10):
                while not any(e.headers.get("Phase") == "end" for e in got):
                    event = await events.get()
                    if event.headers.get("UserEvent") == "SafenumCall":
                        got.append(event)
            # The call ended (hangup handler ran): anything Dial() sent is in the trap.
            rang = trap.drain()
    assert caller.final_status == 200, caller.log_text  # answered, to say so
    return got, rang


def refusal(got: list[AmiMessage]) -> str:
    phases = [e.headers["Phase"] for e in got]
    assert "callback" not in phases, phases
    assert "dialend" not in phases, phases
    [refused] = [e for e in got if e.headers["Phase"] == "refused"]
    [end] = [e for e in got if e.headers["Phase"] == "end"]
    summary = end.headers["Summary"].split("|")
    assert (summary[3], summary[9]) == ("callback", refused.headers["Reason"])
    return refused.headers["Reason"]


async def test_a_recent_mobile_caller_is_called_back(pbx: Pbx, line: AmiClient) -> None:
    """The control: the entry the dialplan writes, within the window, is rung."""
    await line.db_put(LAST_FAMILY, NUMBER, f"{CALLER_NUMBER}:{int(time.time()) - 60}")

    async def call() -> list[AmiMessage]:
        got: list[AmiMessage] = []
        async with line.subscribe({"UserEvent"}) as events:
            with pbx.sipp.driver("driver_answer", own=CALLER_NUMBER) as phone:
                await asyncio.to_thread(pbx.sipp.call, NUMBER, caller=DRIVER_NATIONAL)
            async with asyncio.timeout(10):
                while not any(e.headers.get("Phase") == "end" for e in got):
                    event = await events.get()
                    if event.headers.get("UserEvent") == "SafenumCall":
                        got.append(event)
        assert phone.run is not None
        [invite] = [m.text for m in phone.run.received if m.first_line.startswith("INVITE ")]
        assert invite.startswith(f"INVITE sip:{CALLER_NUMBER}@")
        return got

    got = await call()
    assert [e.headers["Phase"] for e in got if e.headers["Phase"] == "callback"] == ["callback"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        # older than the window (86,400 s by default)
        (lambda now: f"{CALLER_NUMBER}:{now - 86400 - 120}", "no-caller"),
        # malformed
        (lambda now: "garbage", "no-caller"),
        (lambda now: CALLER_NUMBER, "no-caller"),
        (lambda now: f"{CALLER_NUMBER}:", "no-caller"),
        (lambda now: f"{CALLER_NUMBER}:{now}:{now}", "no-caller"),
        (lambda now: f"01099998:{now}", "no-caller"),
        (lambda now: f"+82{CALLER_NUMBER[1:]}:{now}", "no-caller"),
        # injection: an expression that makes a stale entry look fresh, a second
        # Dial() target, dialplan syntax
        (lambda now: f"{CALLER_NUMBER}:0 | 1", "no-caller"),
        (lambda now: f"{CALLER_NUMBER}:{now - 86400 - 120} | 1", "no-caller"),
        (lambda now: f"{CALLER_NUMBER}&PJSIP/0602123456@trunk:{now}", "no-caller"),
        (lambda now: f'{CALLER_NUMBER}" | "1:{now}', "no-caller"),
        (lambda now: f"{CALLER_NUMBER},1,Hangup():{now}", "no-caller"),
        (lambda now: f"${{DB(safenum/route/{NUMBER})}}:{now}", "no-caller"),
        # another safe number
        (lambda now: f"050412345679:{now}", "not-callable"),
        (lambda now: f"05041234567:{now}", "not-callable"),
        # premium rate, toll-free, special service, emergency, VoIP, pager
        (lambda now: f"0602123456:{now}", "not-callable"),
        (lambda now: f"0801234567:{now}", "not-callable"),
        (lambda now: f"015881234:{now}", "not-callable"),
        (lambda now: f"0119:{now}", "no-caller"),
        (lambda now: f"0112:{now}", "no-caller"),
        (lambda now: f"0701234567:{now}", "not-callable"),
        (lambda now: f"0151234567:{now}", "not-callable"),
    ],
    ids=[
        "stale",
        "garbage",
        "no-epoch",
        "empty-epoch",
        "two-epochs",
        "short",
        "e164",
        "expr-or",
        "expr-or-stale",
        "second-target",
        "quote",
        "app-args",
        "dialplan-function",
        "050",
        "050-short",
        "060",
        "080",
        "1588",
        "119",
        "112",
        "070",
        "015",
    ],
)
async def test_the_callback_never_rings_what_it_must_not(
    pbx: Pbx, line: AmiClient, entry, reason: str
) -> None:  # type: ignore[no-untyped-def]
    await line.db_put(LAST_FAMILY, NUMBER, entry(int(time.time())))
    got, rang = await driver_calls_back(pbx, line)
    assert refusal(got) == reason
    assert rang == []


@pytest.mark.parametrize("scope", ["driver", "operators"])
async def test_a_caller_blocked_since_their_call_is_not_called_back(
    pbx: Pbx, line: AmiClient, scope: str
) -> None:
    await line.db_put(LAST_FAMILY, NUMBER, f"{CALLER_NUMBER}:{int(time.time()) - 60}")
    refs = CallerRefs(*pbx.config.ref_keys())
    if scope == "driver":
        await line.db_put(f"{BLOCK_FAMILY}/{NUMBER}", refs.ref(NUMBER, CALLER_NUMBER), "1")
    else:
        await line.db_put(f"{BLOCK_FAMILY}/all", refs.key(CALLER_NUMBER), "1")
    got, rang = await driver_calls_back(pbx, line)
    assert refusal(got) == "not-callable"
    assert rang == []


async def test_a_refused_callback_tells_the_driver_nothing_of_the_number(
    pbx: Pbx, line: AmiClient
) -> None:
    await line.db_put(LAST_FAMILY, NUMBER, f"0602123456:{int(time.time())}")
    got, _ = await driver_calls_back(pbx, line)
    for event in got:
        assert leaks(str(event.headers), "0602123456") == []
