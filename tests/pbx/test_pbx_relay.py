"""The text relay end to end: texter -> Asterisk -> spool -> bridge (filter, store)
-> MessageSend -> the driver's phone, and the driver's reply back to the texter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
import redis
import redis.asyncio as aioredis
from pbx_sipp import CALLER_NUMBER, DRIVER_E164, DRIVER_NATIONAL, Pbx, SippRun, leaks
from sip_text import Inbox, ReceivedText, send_text, texts_before_marker, without_markers
from sqlalchemy import select

from app_api.pbx_config import make_bridge as pbx_bridge
from app_api.pbx_config import relay_config
from app_api.wiring import Core
from blocking.text_records import TextRecord, TextService
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.ami import AmiClient
from proxy.bridge import Bridge, TextRelay
from proxy.messaging import SPOOL_FAMILY, CallerRefs, split_body
from proxy.replica import ROUTE_FAMILY

TEXTER = "01077776666"
CAR_TEXT = "안녕하세요, 차 좀 빼주세요.\n앞에 주차된 흰색 차입니다 🙏"
AD_TEXT = "(광고) 바카라 카지노 첫충 30% 즉시지급 → bit.ly/xx 무료거부 0801234567"


@dataclass
class Line:
    pbx: Pbx
    core: Core
    number: SafeNumber
    bridge: Bridge
    relay: TextRelay
    ami: AmiClient

    def records(self) -> list[TextRecord]:
        with self.core.sessions.begin() as session:
            rows = session.scalars(select(TextRecord).order_by(TextRecord.id)).all()
            session.expunge_all()
            return list(rows)

    async def until_records(self, count: int, status: str | None = None) -> list[TextRecord]:
        async with asyncio.timeout(10):
            while True:
                rows = await asyncio.to_thread(self.records)
                done = [r for r in rows if status is None or r.status == status]
                if len(done) >= count:
                    return rows
                await asyncio.sleep(0.05)

    async def handled(self, count: int) -> None:
        """Until the relay has taken ``count`` spool entries (judged, stored, sent or not)."""
        async with asyncio.timeout(10):
            while self.relay.handled < count:
                await asyncio.sleep(0.02)

    async def relayed(self, inbox: Inbox) -> list[ReceivedText]:
        """Every text on the phones' side so far (a marker through Asterisk's queue)."""
        return await texts_before_marker(inbox, self.ami, f"127.0.0.1:{self.pbx.config.trunk_port}")

    async def text(self, body: str, sender: str = TEXTER, to: str | None = None) -> int:
        return await asyncio.to_thread(
            send_text, self.pbx.config.sip_port, to or self.number.digits, sender, body.encode()
        )


def make_bridge(pbx: Pbx, core: Core, redis_url: str) -> Bridge:
    ami = AmiClient(pbx.ami_settings())
    relay = TextRelay(
        core,
        ami,
        CallerRefs(*pbx.config.ref_keys()),
        replace(relay_config(core.settings), trunk=f"127.0.0.1:{pbx.config.trunk_port}"),
        redis.Redis.from_url(redis_url),
    )
    return pbx_bridge(core, ami, aioredis.from_url(redis_url), relay)


@pytest.fixture
async def line(pbx: Pbx, core: Core, redis_url: str, ami: AmiClient) -> AsyncIterator[Line]:
    await ami.db_deltree(SPOOL_FAMILY)
    redis.Redis.from_url(redis_url).flushdb()  # sender histories of earlier tests

    def issue() -> str:
        with core.numbers() as svc:
            svc.add_pool("0504", "00000000", "99999999")
            return svc.issue(OwnerPhone(DRIVER_E164), Plate.parse("12가3456")).safe_number

    number = SafeNumber.parse(await asyncio.to_thread(issue))
    bridge = make_bridge(pbx, core, redis_url)
    await bridge.start()
    made = Line(pbx, core, number, bridge, bridge.relay, ami)  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            while await ami.db_get(ROUTE_FAMILY, number.digits) != DRIVER_E164:
                await asyncio.sleep(0.01)
        yield made
    finally:
        await made.bridge.stop()
        await made.bridge.redis.aclose()
        await ami.db_deltree(SPOOL_FAMILY)


async def test_a_car_text_reaches_the_driver_from_the_safe_number_only(line: Line) -> None:
    with Inbox(line.pbx.config.trunk_port) as inbox:
        assert await line.text(CAR_TEXT) == 202
        (got,) = await asyncio.to_thread(inbox.wait, 1)
    assert got.to_user == DRIVER_NATIONAL
    assert got.from_user == line.number.digits
    assert got.body == CAR_TEXT.encode()  # Hangul, emoji, newline: byte for byte
    assert leaks(got.raw.decode("utf-8", "replace"), TEXTER) == []
    (record,) = await line.until_records(1, "delivered")
    assert (record.direction, record.category) == ("in", "ham")
    assert TEXTER.encode() not in record.peer_ct  # sealed  # type: ignore[operator]


async def test_an_ad_is_blocked_kept_and_released_on_review(line: Line) -> None:
    with Inbox(line.pbx.config.trunk_port) as inbox:
        assert await line.text(AD_TEXT) == 202
        (record,) = await line.until_records(1, "blocked")
        await line.handled(1)  # judged, stored, spool entry removed
        assert await line.relayed(inbox) == []  # the driver's phone never got it
        assert record.category in ("ad", "spam")

        def release() -> object:
            with line.core.sessions.begin() as session:
                return TextService(session, line.core.keyring, line.core.clock).release(
                    record.id, "operator:test"
                )

        await asyncio.to_thread(release)
        # The release is in the outbox: the bridge wakes its relay, which sends the text
        # (sending it from here too would race the relay and send it twice).
        (after,) = await line.until_records(1, "released")
        (got,) = without_markers(await line.relayed(inbox))
    assert got.body == AD_TEXT.encode()
    assert got.from_user == line.number.digits
    assert after.released_by == "operator:test"


async def test_the_drivers_reply_reaches_the_last_texter_from_the_safe_number(line: Line) -> None:
    with Inbox(line.pbx.config.trunk_port) as inbox:
        await line.text("차 빼주실 수 있나요?")
        await asyncio.to_thread(inbox.wait, 1)
        await line.text("네 지금 나갈게요", sender=DRIVER_NATIONAL)
        got = await asyncio.to_thread(inbox.wait, 2)
    reply = got[1]
    assert reply.to_user == TEXTER
    assert reply.from_user == line.number.digits
    assert reply.body == "네 지금 나갈게요".encode()
    assert leaks(reply.raw.decode("utf-8", "replace"), DRIVER_NATIONAL) == []
    rows = await line.until_records(2, "delivered")
    assert [r.direction for r in rows] == ["in", "reply"]


async def test_texts_to_unknown_or_paused_numbers_are_refused(line: Line) -> None:
    def pause() -> None:
        with line.core.numbers() as svc:
            svc.pause(line.number)

    await asyncio.to_thread(pause)
    async with asyncio.timeout(5):
        while await line.bridge.ami.db_get(ROUTE_FAMILY, line.number.digits) is not None:
            await asyncio.sleep(0.01)
    with Inbox(line.pbx.config.trunk_port) as inbox:
        async with line.ami.subscribe({"UserEvent"}) as events:
            await line.text(CAR_TEXT)
            await line.text(CAR_TEXT, to="050499990000")
            statuses: list[str] = []
            async with asyncio.timeout(10):
                while len(statuses) < 2:
                    event = await events.get()
                    if event.headers.get("UserEvent") == "SafenumText":
                        statuses.append(event.headers["Status"])
        assert statuses == ["refused", "refused"]  # the dialplan handled both: refused
        assert await line.relayed(inbox) == []
    assert line.relay.handled == 0
    assert await asyncio.to_thread(line.records) == []
    assert await line.bridge.ami.db_get_tree(SPOOL_FAMILY) == []


async def test_spool_survives_a_bridge_outage_and_every_text_is_delivered(
    line: Line, core: Core, redis_url: str
) -> None:
    await line.bridge.stop()
    bodies = [f"{i}번째: 차 좀 빼주세요" for i in range(5)]
    with Inbox(line.pbx.config.trunk_port) as inbox:
        for body in bodies:
            assert await line.text(body) == 202
        async with asyncio.timeout(10):  # the dialplan spooled all five
            while len(await line.ami.db_get_tree(SPOOL_FAMILY)) < 5:
                await asyncio.sleep(0.02)
        assert await line.relayed(inbox) == []  # nobody judged them: nothing relayed
        line.bridge = make_bridge(line.pbx, core, redis_url)
        line.relay = line.bridge.relay  # type: ignore[assignment]
        await line.bridge.start()
        got = without_markers(await asyncio.to_thread(inbox.wait, 6))
    assert sorted(t.body.decode() for t in got) == sorted(bodies)
    rows = await line.until_records(5, "delivered")
    assert len(rows) == 5
    assert await line.bridge.ami.db_get_tree(SPOOL_FAMILY) == []


async def test_a_sender_texting_many_safe_numbers_is_blocked_everywhere(line: Line) -> None:
    def issue_more() -> list[SafeNumber]:
        with line.core.numbers() as svc:
            return [
                SafeNumber.parse(
                    svc.issue(
                        OwnerPhone(f"+8210555500{i:02d}"), Plate.parse("12가3456")
                    ).safe_number
                )
                for i in range(5)
            ]

    others = await asyncio.to_thread(issue_more)
    async with asyncio.timeout(10):
        while await line.bridge.ami.db_get(ROUTE_FAMILY, others[-1].digits) is None:
            await asyncio.sleep(0.01)
    with Inbox(line.pbx.config.trunk_port) as inbox:
        for number in others:
            await line.text("주차 자리 문의드립니다", to=number.digits)
        await line.handled(5)  # judged, stored and sent: the statuses are final
        rows = await asyncio.to_thread(line.records)
        delivered = len(await line.relayed(inbox))
    statuses = [r.status for r in rows]
    assert statuses[:4] == ["delivered"] * 4
    assert statuses[4] == "blocked"  # the 5th distinct number within the window
    assert delivered == 4


async def test_sipp_texter_and_phone_through_the_relay(line: Line) -> None:
    """SIPp on both ends: a carrier MESSAGE in, the driver's phone takes the relay."""

    def exchange() -> tuple[SippRun, SippRun | None]:
        with line.pbx.sipp.driver("driver_message") as phone:
            texter = line.pbx.sipp.call(line.number.digits, scenario="message")
        return texter, phone.run

    texter, run = await asyncio.to_thread(exchange)
    assert texter.final_status == 202
    assert run is not None
    (message,) = [m.text for m in run.received if m.first_line.startswith("MESSAGE ")]
    assert f"sip:{line.number.digits}@" in message.split("From:", 1)[1].split("\n", 1)[0]
    assert "hello" in message
    assert leaks(message, CALLER_NUMBER) == []


def korean_lms(size: int) -> bytes:
    """``size`` bytes of a Korean long text: Hangul, emoji, CRLF line ends."""
    line = "안녕하세요, 흰색 차 차주님. 출차해야 해서 차 좀 빼주세요 🚗🙏 감사합니다!"
    text = "\r\n".join([line] * (size // len(line.encode()) + 1)).encode()[: size - 8]
    text = text.decode("utf-8", "ignore").rstrip().encode()  # whole characters
    return text + b"." * (size - len(text))


@pytest.mark.parametrize("size", [2000, 3000])
async def test_a_korean_lms_from_sipp_is_judged_and_relayed_byte_for_byte(
    line: Line, size: int
) -> None:
    """Issue 13: a long text arrives whole on Asterisk 22, passes the filter and reaches
    the phone as parts (AMI's 1,024-byte line) that join to the very bytes sent. 3,000
    bytes: a full LMS (2,000 bytes of EUC-KR) in UTF-8. SIPp appends CRLF to a body,
    which Asterisk strips again; the exact limit is pinned in test_pbx_text_spool.py."""
    body = korean_lms(size)
    with Inbox(line.pbx.config.trunk_port) as inbox:
        texter = await asyncio.to_thread(line.pbx.sipp.text, line.number.digits, body, TEXTER)
        assert texter.final_status == 202, texter.log_text
        try:
            rows = await line.until_records(1, "delivered")
        except TimeoutError:
            raise AssertionError([r.status for r in line.records()]) from None
        parts = await asyncio.to_thread(inbox.wait, len(split_body(body)))
    assert [r.status for r in rows] == ["delivered"]  # judged: it passed the filter
    assert b"".join(p.body for p in parts) == body
    assert {(p.to_user, p.from_user) for p in parts} == {(DRIVER_NATIONAL, line.number.digits)}
    assert all(TEXTER not in p.raw.decode("utf-8", "replace") for p in parts)


async def test_a_text_over_the_limit_is_recorded_lost_and_nothing_is_relayed(line: Line) -> None:
    with Inbox(line.pbx.config.trunk_port) as inbox:
        texter = await asyncio.to_thread(
            line.pbx.sipp.text, line.number.digits, korean_lms(3070), TEXTER
        )
        assert texter.final_status == 202
        rows = await line.until_records(1, "lost")
    assert [r.status for r in rows] == ["lost"]
    assert inbox.texts() == []


async def test_long_texts_in_one_batch_reach_the_phone_each_in_one_piece(
    line: Line, core: Core, redis_url: str
) -> None:
    """MessageSends are pipelined per batch, but a text of several parts goes alone:
    no other text comes between its parts on the driver's phone."""
    await line.bridge.stop()  # down: both queue in the spool, then go in one batch
    first, second = korean_lms(1500), korean_lms(1600).replace(b"!", b"?")
    with Inbox(line.pbx.config.trunk_port) as inbox:
        for body in (first, second, b"short one"):
            assert (
                await asyncio.to_thread(
                    send_text, line.pbx.config.sip_port, line.number.digits, TEXTER, body
                )
                == 202
            )
        async with asyncio.timeout(10):
            while len(await line.ami.db_get_tree(SPOOL_FAMILY)) < 3:
                await asyncio.sleep(0.02)
        line.bridge = make_bridge(line.pbx, core, redis_url)
        line.relay = line.bridge.relay  # type: ignore[assignment]
        await line.bridge.start()
        await line.handled(3)
        got = without_markers(await line.relayed(inbox))
    bodies = [t.body for t in got]
    assert len(bodies) == len(split_body(first)) + len(split_body(second)) + 1
    pieces = [first, second, b"short one"]
    # Each text's parts arrive together and in order (texts in spool order).
    joined, rest = [], list(bodies)
    while rest:
        whole = next(p for p in pieces if p.startswith(rest[0]))
        parts = split_body(whole)
        assert rest[: len(parts)] == parts
        joined.append(whole)
        rest = rest[len(parts) :]
    assert sorted(joined) == sorted(pieces)
