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
