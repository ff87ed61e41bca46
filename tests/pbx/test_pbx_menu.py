"""The caller's experience end to end: menu keys, whisper, text offer, quiet hours,
callback, and the call record each outcome leaves (written by the real bridge)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from pbx_sipp import (
    CALLER_NUMBER,
    DRIVER_E164,
    DRIVER_NATIONAL,
    Pbx,
    SippRun,
    TrunkTrap,
    leaks,
    udp_port_bound,
)

from app_api.pbx_config import make_bridge
from app_api.wiring import Core
from calls.records import CallRecords, CallRecordView
from numbering.preferences import PreferencesService
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.ami import AmiClient, AmiMessage, EventSubscription
from proxy.bridge import Bridge
from proxy.preference_replica import CDR_FAMILY, LAST_FAMILY, QUIET_FAMILY
from proxy.replica import ROUTE_FAMILY

OTHER_CALLER = "01055556666"  # fictitious


@dataclass
class Line:
    """A real issued number, replicated by a running bridge."""

    bridge: Bridge
    core: Core
    number: SafeNumber
    events: EventSubscription

    @property
    def digits(self) -> str:
        return self.number.digits

    async def phases(self, calls: int = 1) -> list[AmiMessage]:
        got: list[AmiMessage] = []
        async with asyncio.timeout(15):
            while sum(1 for e in got if e.headers.get("Phase") == "end") < calls:
                event = await self.events.get()
                if event.headers.get("UserEvent") == "SafenumCall":
                    got.append(event)
        return got

    async def record(self, call_id: str) -> CallRecordView:
        def find() -> CallRecordView | None:
            with self.core.sessions.begin() as session:
                rows = CallRecords(session).for_numbers([self.number])
            return next((r for r in rows if r.call_id == call_id), None)

        async with asyncio.timeout(5):
            while (found := await asyncio.to_thread(find)) is None:
                await asyncio.sleep(0.02)
        return found

    async def prefs(self, action: str, *args: object) -> None:
        def change() -> None:  # the outbox takes it to AstDB
            with self.core.sessions.begin() as session:
                svc = PreferencesService(session, self.core.clock)
                getattr(svc, action)(self.number, *args)

        await asyncio.to_thread(change)


@pytest.fixture
def pbx(menu_pbx: Pbx) -> Pbx:
    return menu_pbx


@pytest.fixture
async def ami(menu_pbx: Pbx) -> AsyncIterator[AmiClient]:
    async with AmiClient(menu_pbx.ami_settings()) as client:
        await client.wait_connected(10)
        yield client


@pytest.fixture
async def line(pbx: Pbx, ami: AmiClient, core: Core, redis_url: str) -> AsyncIterator[Line]:
    for family in (QUIET_FAMILY, "safenum/text", LAST_FAMILY, CDR_FAMILY, "safenum/block"):
        await ami.db_deltree(family)

    def issue() -> str:
        with core.numbers() as svc:
            svc.add_pool("0504", "00000000", "99999999")
            return svc.issue(OwnerPhone(DRIVER_E164), Plate.parse("12가3456")).safe_number

    number = SafeNumber.parse(await asyncio.to_thread(issue))
    line: Line | None = None
    bridge = make_bridge(core, AmiClient(pbx.ami_settings()), aioredis.from_url(redis_url))
    await bridge.start()
    try:
        async with ami.subscribe({"UserEvent", "DialBegin"}) as events:
            async with asyncio.timeout(10):
                while await ami.db_get(ROUTE_FAMILY, number.digits) != DRIVER_E164:
                    await asyncio.sleep(0.01)
            line = Line(bridge, core, number, events)
            yield line
    finally:
        await (line.bridge if line else bridge).stop()  # a test may have replaced it
        await bridge.redis.aclose()


def phase(got: list[AmiMessage], name: str) -> AmiMessage:
    found = [e for e in got if e.headers.get("Phase") == name]
    assert len(found) == 1, [e.headers.get("Phase") for e in got]
    return found[0]


def names(got: list[AmiMessage]) -> list[str]:
    return [e.headers["Phase"] for e in got]


def messages(run: SippRun) -> list[str]:
    return [m.text for m in run.received if m.first_line.startswith("MESSAGE ")]


def invites(run: SippRun) -> list[str]:
    return [m.text for m in run.received if m.first_line.startswith("INVITE ")]


def assert_private(run: SippRun, other: str) -> None:
    for message in run.received:
        assert leaks(message.text, other) == [], message.text


def with_driver(pbx: Pbx, scenario: str, place, own: str = DRIVER_NATIONAL):  # type: ignore[no-untyped-def]
    with pbx.sipp.driver(scenario, timeout=30, own=own) as phone:
        caller = place()
    assert phone.run is not None
    return caller, phone.run


def assert_text_from_safe_number(pbx: Pbx, driver: SippRun, number: str) -> None:
    [text] = messages(driver)
    assert text.startswith(f"MESSAGE sip:{DRIVER_NATIONAL}@127.0.0.1:{pbx.config.trunk_port} ")
    from_line = next(ln for ln in text.splitlines() if ln.startswith("From:"))
    assert f"<sip:{number}@" in from_line
    assert "차량 이동" in text
    assert_private(driver, CALLER_NUMBER)


async def test_key_1_sends_the_move_car_text(pbx: Pbx, line: Line) -> None:
    caller, driver = await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_message",
        lambda: pbx.sipp.call_menu(line.digits, keys=[(300, "1")], hold_ms=8000),
    )
    got = await line.phases()

    assert caller.returncode == 0, caller.log_text
    assert driver.returncode == 0, driver.log_text
    assert invites(driver) == []
    assert_text_from_safe_number(pbx, driver, line.digits)
    assert_private(caller, DRIVER_NATIONAL)
    assert phase(got, "menu").headers["Choice"] == "1"
    record = await line.record(phase(got, "start").headers["Call"])
    assert (record.outcome, record.text_sent, record.duration_seconds) == ("move-text", True, 0)
    assert CALLER_NUMBER[1:] not in repr(record)


@pytest.mark.parametrize(
    ("keys", "choice", "hold_ms"), [([(300, "2")], "2", 4000), ([], "none", 10000)]
)
async def test_key_2_or_silence_connects_and_only_the_driver_hears_the_whisper(
    pbx: Pbx, line: Line, keys: list[tuple[int, str]], choice: str, hold_ms: int
) -> None:
    caller, driver = await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_answer",
        lambda: pbx.sipp.call_menu(line.digits, keys=keys, hold_ms=hold_ms),
    )
    got = await line.phases()

    assert caller.returncode == 0, caller.log_text
    assert driver.returncode == 0, driver.log_text
    assert phase(got, "menu").headers["Choice"] == choice
    start, whisper = phase(got, "start"), phase(got, "whisper")
    # The whisper runs on the driver's leg, never on the caller's channel.
    assert whisper.headers["Uniqueid"] != start.headers["Uniqueid"]
    assert whisper.headers["Call"] == start.headers["Call"] == start.headers["Uniqueid"]
    [request] = invites(driver)
    assert f'From: "안심번호" <sip:{line.digits}@' in request
    assert_private(driver, CALLER_NUMBER)
    assert_private(caller, DRIVER_NATIONAL)
    record = await line.record(start.headers["Call"])
    assert record.outcome == "answered"
    assert record.answered_at is not None
    assert record.duration_seconds >= 1


async def test_no_answer_offers_the_text(pbx: Pbx, line: Line) -> None:
    # Silence through the greeting (one DTMF per call: SIPp's captures all carry the
    # same RTP timestamp, so Asterisk takes a second one for a retransmission); the
    # driver rings DIAL_TIMEOUT; then 1 during the offer.
    def drivers() -> tuple[SippRun, SippRun]:
        # The text is a new SIP transaction (own Call-ID): a second UAS takes it;
        # MESSAGE is retransmitted over UDP, so starting it after the first one is safe.
        with pbx.sipp.driver("driver_noanswer", timeout=20) as ringing:
            pass
        with pbx.sipp.driver("driver_message", timeout=20) as texted:
            pass
        assert ringing.run is not None
        assert texted.run is not None
        return ringing.run, texted.run

    phones = asyncio.create_task(asyncio.to_thread(drivers))
    # let the UAS bind before the call starts
    async with asyncio.timeout(5):
        while not udp_port_bound("127.0.0.1", pbx.config.trunk_port):
            await asyncio.sleep(0.01)
    caller = await asyncio.to_thread(pbx.sipp.call_menu, line.digits, [(9500, "1")], 9000)
    ringing, driver = await phones
    got = await line.phases()

    assert caller.returncode == 0, caller.log_text
    assert ringing.returncode == 0, ringing.log_text
    assert driver.returncode == 0, driver.log_text
    assert names(got)[:6] == ["start", "menu", "dial", "dialend", "offer", "text"]
    assert phase(got, "dialend").headers["Status"] == "NOANSWER"
    assert_text_from_safe_number(pbx, driver, line.digits)
    record = await line.record(phase(got, "start").headers["Call"])
    assert (record.outcome, record.text_sent) == ("move-text", True)


async def test_no_answer_without_a_key_is_recorded_as_no_answer(pbx: Pbx, line: Line) -> None:
    caller, _ = await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_noanswer",
        lambda: pbx.sipp.call_menu(line.digits, keys=[(300, "2")], hold_ms=12000),
    )
    got = await line.phases()
    assert caller.returncode == 0, caller.log_text
    record = await line.record(phase(got, "start").headers["Call"])
    assert (record.outcome, record.text_sent) == ("no-answer", False)


async def test_busy_is_recorded_as_busy(pbx: Pbx, line: Line) -> None:
    await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_busy",
        lambda: pbx.sipp.call_menu(line.digits, keys=[(300, "2")], hold_ms=12000),
    )
    got = await line.phases()
    assert phase(got, "dialend").headers["Status"] == "BUSY"
    assert (await line.record(phase(got, "start").headers["Call"])).outcome == "busy"


def quiet_now() -> tuple[time, time]:
    now = datetime.now(ZoneInfo("Asia/Seoul"))
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    return time(start.hour, start.minute), time(end.hour, end.minute)


async def test_quiet_hours_offer_the_text_and_never_ring(pbx: Pbx, line: Line) -> None:
    await line.prefs("set_quiet_hours", *quiet_now())
    async with asyncio.timeout(2):
        while await line.bridge.ami.db_get(QUIET_FAMILY, line.digits) is None:
            await asyncio.sleep(0.01)

    _caller, driver = await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_message",
        lambda: pbx.sipp.call_menu(line.digits, keys=[(500, "1")], hold_ms=8000),
    )
    got = await line.phases()

    assert driver.returncode == 0, driver.log_text
    assert invites(driver) == []
    assert_text_from_safe_number(pbx, driver, line.digits)
    assert phase(got, "offer").headers["Reason"] == "quiet"
    assert "dial" not in names(got)
    record = await line.record(phase(got, "start").headers["Call"])
    assert record.outcome == "move-text"


async def test_quiet_hours_without_a_key_reject_the_call(pbx: Pbx, line: Line) -> None:
    await line.prefs("set_quiet_hours", *quiet_now())
    await line.prefs("set_move_text", False)
    async with asyncio.timeout(2):
        while await line.bridge.ami.db_get("safenum/text", line.digits) != "off":
            await asyncio.sleep(0.01)
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call_menu, line.digits, [], 10000)
        assert trap.drain() == []
    got = await line.phases()
    assert caller.returncode == 0, caller.log_text
    assert (await line.record(phase(got, "start").headers["Call"])).outcome == "rejected"


async def test_callback_reaches_the_last_caller_only_from_the_registered_phone(
    pbx: Pbx, line: Line
) -> None:
    # A caller sends a text (quick), which makes them the last caller.
    await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_message",
        lambda: pbx.sipp.call_menu(line.digits, keys=[(300, "1")], hold_ms=8000),
    )
    await line.phases()

    # The driver calls their own number: the trunk is asked to ring the caller.
    caller_leg, driver_leg = await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_answer",
        lambda: pbx.sipp.call(line.digits, caller=DRIVER_NATIONAL),
        CALLER_NUMBER,  # who answers behind the trunk is the called-back caller
    )
    got = await line.phases()
    [request] = invites(driver_leg)  # the UAS on the trunk plays the called-back caller
    assert request.startswith(f"INVITE sip:{CALLER_NUMBER}@")
    assert f'From: "안심번호" <sip:{line.digits}@' in request
    assert_private(driver_leg, DRIVER_NATIONAL)
    assert_private(caller_leg, CALLER_NUMBER)
    assert phase(got, "callback")
    record = await line.record(phase(got, "start").headers["Call"])
    assert (record.kind, record.outcome) == ("callback", "answered")

    # Anyone else dialling the number is just a caller: the driver's phone rings.
    _, other = await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_answer",
        lambda: pbx.sipp.call_menu(line.digits, [(300, "2")], 3000, caller=OTHER_CALLER),
    )
    await line.phases()
    [request] = invites(other)
    assert request.startswith(f"INVITE sip:{DRIVER_NATIONAL}@")


async def test_callback_without_a_recent_caller_is_refused(pbx: Pbx, line: Line) -> None:
    with TrunkTrap(pbx.config.trunk_port) as trap:
        caller = await asyncio.to_thread(pbx.sipp.call_menu, line.digits, [], 8000, DRIVER_NATIONAL)
        assert trap.drain() == []
    got = await line.phases()
    assert caller.returncode == 0, caller.log_text
    assert phase(got, "refused").headers["Reason"] == "no-caller"
    assert (await line.record(phase(got, "start").headers["Call"])).outcome == "rejected"


async def test_unknown_and_blocked_calls_are_recorded(pbx: Pbx, line: Line) -> None:
    unknown = "050499999999"
    caller = await asyncio.to_thread(pbx.sipp.call, unknown)
    assert caller.final_status == 404
    got = await line.phases()
    assert phase(got, "refused").headers["Reason"] == "unknown"

    ref = phase(got, "start").headers["Ref"]  # same caller, other number: other ref
    caller = await asyncio.to_thread(pbx.sipp.call, line.digits)  # to learn this number's ref
    got = await line.phases()
    ref = phase(got, "start").headers["Ref"]
    await line.bridge.ami.db_put(f"safenum/block/{line.digits}", ref, "1")
    with TrunkTrap(pbx.config.trunk_port) as trap:
        await asyncio.to_thread(pbx.sipp.call, line.digits)
        assert trap.drain() == []
    got = await line.phases()
    assert (await line.record(phase(got, "start").headers["Call"])).outcome == "blocked"


async def test_records_of_calls_missed_while_the_bridge_was_down_are_ingested(
    pbx: Pbx, line: Line
) -> None:
    await line.bridge.stop()  # the bridge is away during the call
    await asyncio.to_thread(
        with_driver,
        pbx,
        "driver_message",
        lambda: pbx.sipp.call_menu(line.digits, keys=[(300, "1")], hold_ms=8000),
    )
    got = await line.phases()
    call_id = phase(got, "start").headers["Call"]
    summary_ami = AmiClient(pbx.ami_settings())
    async with summary_ami:
        await summary_ami.wait_connected(5)
        assert await summary_ami.db_get(CDR_FAMILY, call_id) is not None  # no caller number
        value = await summary_ami.db_get(CDR_FAMILY, call_id)
        assert value is not None
        assert CALLER_NUMBER[1:] not in value

    line.bridge = make_bridge(line.core, AmiClient(pbx.ami_settings()), line.bridge.redis)
    await line.bridge.start()  # reconnect -> ingest
    record = await line.record(call_id)
    assert (record.outcome, record.text_sent) == ("move-text", True)
    async with AmiClient(pbx.ami_settings()) as check:
        await check.wait_connected(5)
        assert await check.db_get(CDR_FAMILY, call_id) is None
