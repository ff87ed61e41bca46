"""Texts at the Asterisk level: what the dialplan spools, refuses, and what
MessageSend puts on the wire. The bridge's relay is tested in test_pbx_relay.py."""

from __future__ import annotations

import asyncio
import base64
import time

import pytest
from pbx_sipp import DRIVER_E164, DRIVER_NATIONAL, Pbx
from sip_text import Inbox, send_text, texts_before_marker

from numbering.types import OwnerPhone, SafeNumber
from proxy.ami import AmiClient, AmiMessage, EventSubscription
from proxy.bridge.senders import AmiTextSender
from proxy.errors import PbxUnavailable
from proxy.messaging import SPOOL_FAMILY, parse_spooled
from proxy.messaging import send_text as ami_send_text
from proxy.replica import ROUTE_FAMILY

NUMBER = "050412345678"
TEXTER = "01077776666"
# Asterisk strips trailing line ends from a received body, so none ends with one.
HARD_BODY = (
    "차 좀 빼주세요 🚗🙏\n"
    "두 번째 줄, 쉼표와 | 파이프 그리고 ${EXTEN} 그대로\r\n"
    '셋째 줄: ( ) "따옴표" ; 세미콜론\n\n끝'
).encode()
# The longest body our Asterisk 22 hands the dialplan: MAX_BODY_SIZE - 1 of the
# project's patch (deploy/asterisk/patches/), sized so that the dialplan's 4,096-byte
# function buffer still holds its base64. A full Korean LMS (2,000 bytes in EUC-KR)
# is at most 3,000 bytes of UTF-8.
BODY_LIMIT = 3069


def long_body(size: int = 2000) -> bytes:
    """``size`` bytes of Hangul, emoji and newlines (2,000: an LMS)."""
    unit = "가나다라마바사 🚙\n".encode()
    body = (unit * (size // len(unit) + 1))[: size - 10]
    body = body[: len(body.decode("utf-8", "ignore").encode())]  # whole characters
    return body + b"x" * (size - len(body))


async def text_events(events: EventSubscription, count: int) -> list[AmiMessage]:
    """The dialplan's next ``count`` SafenumText events (its last step per text)."""
    got: list[AmiMessage] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            event = await events.get()
            if event.headers.get("UserEvent") == "SafenumText":
                got.append(event)
    return got


async def spool(ami: AmiClient, count: int = 0) -> dict[str, str]:
    """The spool, once it holds ``count`` entries (the dialplan runs after the 202)."""
    async with asyncio.timeout(5):
        while True:
            entries = {e.key: e.value for e in await ami.db_get_tree(SPOOL_FAMILY)}
            if len(entries) >= count:
                return entries
            await asyncio.sleep(0.02)


async def test_a_text_to_a_routed_number_is_spooled_intact_and_never_relayed(
    pbx: Pbx, ami: AmiClient
) -> None:
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    bodies = [HARD_BODY, long_body(2000), long_body(BODY_LIMIT), b"+8250 spelling"]
    with Inbox(pbx.config.trunk_port) as inbox:
        async with ami.subscribe({"UserEvent"}) as events:
            for body, to in zip(bodies, [NUMBER, NUMBER, NUMBER, "+82" + NUMBER[1:]], strict=True):
                status = await asyncio.to_thread(send_text, pbx.config.sip_port, to, TEXTER, body)
                assert status == 202
            spooled = await text_events(events, 4)
        assert [e.headers["Status"] for e in spooled] == ["spooled"] * 4
        # The dialplan has run to its end for all four: nothing went to a phone.
        trunk = f"127.0.0.1:{pbx.config.trunk_port}"
        assert await texts_before_marker(inbox, ami, trunk) == []
    entries = await spool(ami, 4)
    assert len(entries) == 4
    texts = sorted((parse_spooled(k, v) for k, v in entries.items()), key=lambda t: len(t.body))
    assert {t.body.encode() for t in texts} == set(bodies)
    assert all(t.number == NUMBER and t.sender == TEXTER for t in texts)
    assert [t.declared_bytes for t in texts] == sorted(len(b) for b in bodies)
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_del(ROUTE_FAMILY, NUMBER)


@pytest.mark.parametrize("size", [BODY_LIMIT + 1, 3072, 4096, 12000])
async def test_a_body_over_the_limit_is_spooled_as_lost_with_its_size(
    pbx: Pbx, ami: AmiClient, size: int
) -> None:
    """Over the limit the dialplan gets an empty body, never a cut one; the spool keeps
    the declared size so the relay records the text as lost instead of relaying ''."""
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    status = await asyncio.to_thread(
        send_text, pbx.config.sip_port, NUMBER, TEXTER, long_body(size)
    )
    assert status == 202
    (text,) = [parse_spooled(k, v) for k, v in (await spool(ami, 1)).items()]
    assert (text.body, text.declared_bytes) == ("", size)
    await ami.db_deltree(SPOOL_FAMILY)


async def test_a_text_to_a_number_without_route_is_refused_and_not_spooled(
    pbx: Pbx, ami: AmiClient
) -> None:
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_del(ROUTE_FAMILY, NUMBER)
    async with ami.subscribe({"UserEvent"}) as events:
        status = await asyncio.to_thread(send_text, pbx.config.sip_port, NUMBER, TEXTER, b"hi")
        async with asyncio.timeout(5):
            async for event in events:
                if event.headers.get("UserEvent") == "SafenumText":
                    assert event.headers.get("Status") == "refused"
                    break
    assert status == 202  # res_pjsip_messaging answers before the dialplan runs
    assert await spool(ami) == {}


async def test_non_050_destinations_are_404(pbx: Pbx, ami: AmiClient) -> None:
    for to in ["01012345678", "05041234567", "s", "0504123456789"]:
        status = await asyncio.to_thread(send_text, pbx.config.sip_port, to, TEXTER, b"hi")
        assert status == 404, to
    assert await spool(ami) == {}


async def test_message_send_carries_the_body_byte_for_byte_from_the_safe_number(
    pbx: Pbx, ami: AmiClient
) -> None:
    trunk = f"127.0.0.1:{pbx.config.trunk_port}"
    with Inbox(pbx.config.trunk_port) as inbox:
        for body in (HARD_BODY, long_body()):
            await ami_send_text(ami, trunk, DRIVER_NATIONAL, NUMBER, body.decode())
        got = await asyncio.to_thread(inbox.wait, 4)
    # AMI drops any line over 1,024 bytes: 2,000 bytes go as three parts, in order.
    assert got[0].body == HARD_BODY
    assert b"".join(t.body for t in got[1:]) == long_body()
    for text in got:
        assert text.to_user == DRIVER_NATIONAL
        assert text.from_user == NUMBER
        assert TEXTER not in text.raw.decode("utf-8", "replace")


async def test_the_spool_entry_is_what_the_dialplan_writes(pbx: Pbx, ami: AmiClient) -> None:
    """The entry format (v1|number|epoch|From b64|body b64|size) as Asterisk wrote it,
    from a +82 sender with a display name, and what the relay's parser makes of it."""
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_put(ROUTE_FAMILY, NUMBER, DRIVER_E164)
    sender = "+82" + TEXTER[1:]
    before = int(time.time())
    status = await asyncio.to_thread(send_text, pbx.config.sip_port, NUMBER, sender, HARD_BODY)
    assert status == 202
    [(key, value)] = (await spool(ami, 1)).items()
    version, number, epoch, b64from, b64body, size = value.split("|")
    assert (version, number, size) == ("v1", NUMBER, str(len(HARD_BODY)))
    assert before <= int(epoch) <= int(time.time())
    assert f'"{sender}" <sip:{sender}@127.0.0.1' in base64.b64decode(b64from).decode()
    assert base64.b64decode(b64body) == HARD_BODY
    text = parse_spooled(key, value)
    assert (text.number, text.sender, text.body.encode()) == (NUMBER, TEXTER, HARD_BODY)
    await ami.db_deltree(SPOOL_FAMILY)
    await ami.db_del(ROUTE_FAMILY, NUMBER)


async def test_the_production_text_sender_sends_sign_in_codes_and_move_car_texts(
    pbx: Pbx, ami: AmiClient
) -> None:
    """What the API uses in production (sign-in codes, move-car texts): MessageSend."""
    sender = AmiTextSender(
        ami, asyncio.get_running_loop(), f"127.0.0.1:{pbx.config.trunk_port}", timeout=5
    )
    phone = OwnerPhone(DRIVER_E164)
    with Inbox(pbx.config.trunk_port) as inbox:
        await asyncio.to_thread(sender.send, phone, "[safenum] 인증번호 123456")
        await asyncio.to_thread(sender.send, phone, "차를 빼 주세요", sender=SafeNumber(NUMBER))
        code, move = await asyncio.to_thread(inbox.wait, 2)
    assert (code.to_user, code.from_user, code.body) == (
        DRIVER_NATIONAL,
        "safenum",
        "[safenum] 인증번호 123456".encode(),
    )
    assert (move.from_user, move.body) == (NUMBER, "차를 빼 주세요".encode())


async def test_the_production_text_sender_says_pbx_unavailable_when_the_link_is_down(
    pbx: Pbx,
) -> None:
    link = AmiClient(pbx.ami_settings())  # never started: not connected
    sender = AmiTextSender(link, asyncio.get_running_loop(), "127.0.0.1:9")
    with pytest.raises(PbxUnavailable):
        await asyncio.to_thread(sender.send, OwnerPhone(DRIVER_E164), "x")
