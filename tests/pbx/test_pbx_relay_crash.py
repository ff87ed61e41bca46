"""Texts sent at least once, with one exact bound on repeats: the relay is killed at
each step of handling a text, a fresh one takes over, and the phone's copies are
counted. Only a death between Asterisk taking the MessageSend and the "delivered"
commit repeats a text; every other death delivers it exactly once, and none loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from pbx_sipp import Pbx
from sip_text import Inbox
from test_pbx_relay import CAR_TEXT, Line, line, make_bridge  # noqa: F401 (fixture)

import proxy.bridge.relay as relay_module
from proxy.ami import AmiClient
from proxy.bridge import Bridge
from proxy.dialplan import SPOOL_FAMILY

SENTINEL = "지금 나가서 차 빼드릴게요"  # a car text: the filter delivers it


class Crash(BaseException):
    """The relay's process dies here (not an error it could handle)."""


# step -> how many copies the phone gets once a fresh relay has taken over
STEPS = {
    "before judging and storing": 1,
    "after storing, before MessageSend": 1,
    "after MessageSend, before marking delivered": 2,
    "after marking delivered, before clearing the spool": 1,
}


async def _arm(
    line: Line,  # noqa: F811 (the fixture's value)
    step: str,
    died: asyncio.Event,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relay: Any = line.relay
    loop = asyncio.get_running_loop()

    def dying(*_: object, **__: object) -> Any:
        loop.call_soon_threadsafe(died.set)  # may run in a worker thread
        raise Crash(step)

    if step == "before judging and storing":
        monkeypatch.setattr(relay, "_receive", dying)
    elif step == "after storing, before MessageSend":
        monkeypatch.setattr(relay, "send_many", dying)
    elif step == "after MessageSend, before marking delivered":
        monkeypatch.setattr(relay, "_delivered", dying)
    else:
        real = relay.ami.db_del

        async def db_del(family: str, key: str) -> bool:
            if family == SPOOL_FAMILY:
                dying()
            return bool(await real(family, key))

        monkeypatch.setattr(relay.ami, "db_del", db_del)


async def _kill(bridge: Bridge) -> None:
    """Stop every task of the bridge where it stands, as a dead process would."""
    tasks: list[asyncio.Task[None]] = bridge._tasks
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Crash):
            await task
    await bridge.ami.close()


@pytest.mark.parametrize("step", list(STEPS))
async def test_a_relay_killed_at_each_step_loses_nothing_and_repeats_only_there(
    line: Line,  # noqa: F811 (the fixture, imported above)
    pbx: Pbx,
    redis_url: str,
    ami: AmiClient,
    step: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    died = asyncio.Event()
    await _arm(line, step, died, monkeypatch)
    with Inbox(pbx.config.trunk_port) as inbox:
        assert await line.text(CAR_TEXT) == 202
        async with asyncio.timeout(10):
            await died.wait()
        await _kill(line.bridge)  # dead: nothing more from this relay

        line.bridge = make_bridge(pbx, line.core, redis_url)  # a fresh process takes over
        await line.bridge.start()
        (record,) = await line.until_records(1, "delivered")
        async with asyncio.timeout(10):
            while await ami.db_get_tree(SPOOL_FAMILY):
                await asyncio.sleep(0.02)
        # Asterisk sends MESSAGEs in order: once this one arrives, every copy of the
        # first has arrived too.
        await line.text(SENTINEL)
        async with asyncio.timeout(10):
            while SENTINEL.encode() not in [t.body for t in inbox.texts()]:
                await asyncio.sleep(0.02)
        copies = [t for t in inbox.texts() if t.body == CAR_TEXT.encode()]
    assert len(copies) == STEPS[step]
    assert record.direction == "in"


BATCH = [f"{i}번 차주님, 차 좀 빼주세요" for i in range(6)]  # car texts: all delivered

# step -> copies of the batch's texts once a fresh relay has taken over, given the
# bodies whose MessageSend Asterisk took before the death
MID_BATCH = {
    "while storing the batch": lambda taken, body: 1,
    "at the batch's 3rd MessageSend": lambda taken, body: 2 if body in taken else 1,
    "marking the batch delivered": lambda taken, body: 2,
    "at the batch's 3rd spool deletion": lambda taken, body: 1,
}


async def _arm_batch(
    relay: Any,
    step: str,
    died: asyncio.Event,
    taken: list[str],
    batches: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()

    def dying() -> Any:
        loop.call_soon_threadsafe(died.set)  # may run in a worker thread
        raise Crash(step)

    if step == "while storing the batch":

        def receive(texts: list[Any]) -> Any:
            batches.append(len(texts))
            dying()

        relay._receive = receive
        return
    real_receive = relay._receive

    def counted(texts: list[Any]) -> Any:
        batches.append(len(texts))
        return real_receive(texts)

    relay._receive = counted
    if step == "at the batch's 3rd MessageSend":
        # Pipelined: the first two are written to Asterisk before the third starts.
        async def send_text(ami: AmiClient, trunk: str, to: str, number: str, body: str) -> None:
            if not died.is_set():  # the fresh relay after it sends as usual
                if len(taken) >= 2:
                    dying()
                taken.append(body)
            await real_send(ami, trunk, to, number, body)

        real_send = relay_module.send_text
        monkeypatch.setattr(relay_module, "send_text", send_text)
    elif step == "marking the batch delivered":
        relay._delivered = lambda ids: dying()
        taken.extend(BATCH)
    else:
        real_del = relay.ami.db_del
        deleted: list[str] = []

        async def db_del(family: str, key: str) -> bool:
            if family == SPOOL_FAMILY:
                if len(deleted) >= 2:
                    dying()
                deleted.append(key)
            return bool(await real_del(family, key))

        relay.ami.db_del = db_del


@pytest.mark.parametrize("step", list(MID_BATCH))
async def test_a_relay_killed_mid_batch_loses_nothing_and_repeats_only_what_asterisk_took(
    line: Line,  # noqa: F811 (the fixture, imported above)
    pbx: Pbx,
    redis_url: str,
    ami: AmiClient,
    step: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await line.bridge.stop()  # down: six texts queue in the spool
    for body in BATCH:
        assert await line.text(body) == 202
    async with asyncio.timeout(10):
        while len(await ami.db_get_tree(SPOOL_FAMILY)) < len(BATCH):
            await asyncio.sleep(0.02)
    died = asyncio.Event()
    taken: list[str] = []
    batches: list[int] = []
    with Inbox(pbx.config.trunk_port) as inbox:
        line.bridge = make_bridge(pbx, line.core, redis_url)
        await _arm_batch(line.bridge.relay, step, died, taken, batches, monkeypatch)
        await line.bridge.start()  # takes the spool on connect: one batch of six
        async with asyncio.timeout(10):
            await died.wait()
        await _kill(line.bridge)
        assert batches[0] == len(BATCH)

        line.bridge = make_bridge(pbx, line.core, redis_url)  # a fresh process takes over
        await line.bridge.start()
        await line.until_records(len(BATCH), "delivered")
        async with asyncio.timeout(10):
            while await ami.db_get_tree(SPOOL_FAMILY):
                await asyncio.sleep(0.02)
        await line.text(SENTINEL)  # Asterisk sends in order: every copy is in before it
        async with asyncio.timeout(10):
            while SENTINEL.encode() not in [t.body for t in inbox.texts()]:
                await asyncio.sleep(0.02)
        bodies = [t.body.decode() for t in inbox.texts()]
    expected = MID_BATCH[step]
    assert {b: bodies.count(b) for b in BATCH} == {b: expected(taken, b) for b in BATCH}
    assert len(taken) <= len(BATCH)  # at most one batch repeats
