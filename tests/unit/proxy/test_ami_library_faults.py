"""The four asterisk-ami 0.1.7 faults, each run against the raw library and our client.

Every test is parametrised over two drivers with the same small interface:
``raw`` uses ``asterisk.ami.AMIClient`` the way its README shows (expected to
fail: ``xfail(strict=True)``, so a fixed library release makes the suite say
so), ``ours`` uses :class:`proxy.ami.AmiClient`. This is the only place outside
``proxy/ami/transport.py`` that imports the library, to pin down its faults.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Protocol

import pytest
from asterisk.ami import Action, AMIClient

from proxy.ami import AmiClient, AmiSettings, AmiTimeout
from proxy.ami.testing import FakeAmi

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # the library's notifyAll()
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]

LIB_TIMEOUT = 0.3  # the library's socket/future timeout, shortened from its 3 s default


class Driver(Protocol):
    async def connect(self) -> None: ...
    async def ping(self) -> bool: ...
    async def tree_size(self, family: str) -> int: ...
    async def put_concurrently(self, values: dict[str, str]) -> None: ...
    async def pending_after_timeout(self) -> int: ...
    async def close(self) -> None: ...


class Raw:
    def __init__(self, fake: FakeAmi) -> None:
        self.fake = fake
        self.client = AMIClient(address="127.0.0.1", port=fake.port, timeout=LIB_TIMEOUT)

    async def connect(self) -> None:
        future = self.client.login(username=self.fake.username, secret=self.fake.secret)
        response = await asyncio.to_thread(lambda: future.response)
        assert response is not None
        assert not response.is_error()

    async def _send(self, name: str, **keys: str) -> object:
        future = self.client.send_action(Action(name, keys))
        return await asyncio.to_thread(lambda: future.response)

    async def ping(self) -> bool:
        return await self._send("Ping") is not None

    async def tree_size(self, family: str) -> int:
        response = await self._send("DBGetTree", Family=family)
        # The future holds whatever the library collected: only the first packet.
        return sum(1 for key in getattr(response, "keys", {}) if key == "Val")

    async def put_concurrently(self, values: dict[str, str]) -> None:
        def put(key: str, value: str) -> None:
            self.client.send_action(Action("DBPut", {"Family": "f", "Key": key, "Val": value}))

        threads = [threading.Thread(target=put, args=item) for item in values.items()]
        for thread in threads:
            thread.start()
        await asyncio.to_thread(lambda: [t.join() for t in threads])

    async def pending_after_timeout(self) -> int:
        await self._send("DBPut", Family="f", Key="k", Val="v")  # times out: None
        return len(self.client._futures)

    async def close(self) -> None:
        await asyncio.to_thread(self.client.disconnect)


class Ours:
    def __init__(self, fake: FakeAmi) -> None:
        settings = AmiSettings(
            "127.0.0.1",
            fake.port,
            fake.username,
            fake.secret,
            action_timeout=5.0,
            ping_interval=60,  # no keep-alive during the test: idling must be harmless
        )
        self.client = AmiClient(settings)

    async def connect(self) -> None:
        await self.client.start()
        await self.client.wait_connected(2)

    async def ping(self) -> bool:
        await self.client.ping()
        return True

    async def tree_size(self, family: str) -> int:
        return len(await self.client.db_get_tree(family))

    async def put_concurrently(self, values: dict[str, str]) -> None:
        loop = asyncio.get_running_loop()

        def from_thread(key: str, value: str) -> None:  # callers on other threads too
            asyncio.run_coroutine_threadsafe(self.client.db_put("f", key, value), loop).result(10)

        items = list(values.items())
        half = len(items) // 2
        await asyncio.gather(
            *(self.client.db_put("f", k, v) for k, v in items[:half]),
            *(asyncio.to_thread(from_thread, k, v) for k, v in items[half:]),
        )

    async def pending_after_timeout(self) -> int:
        with pytest.raises(AmiTimeout):
            await self.client.action("DBPut", {"Family": "f", "Key": "k"}, timeout=LIB_TIMEOUT)
        return self.client.pending_count

    async def close(self) -> None:
        await self.client.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    async with FakeAmi(rcvbuf=4096) as server:
        yield server


@pytest.fixture(
    params=[
        "ours",
        pytest.param("raw", marks=pytest.mark.xfail(strict=True, reason="asterisk-ami 0.1.7")),
    ]
)
async def driver(request: pytest.FixtureRequest, fake: FakeAmi) -> AsyncIterator[Driver]:
    chosen: Driver = Ours(fake) if request.param == "ours" else Raw(fake)
    await chosen.connect()
    try:
        yield chosen
    finally:
        await chosen.close()


async def test_a_survives_idle_periods_longer_than_the_socket_timeout(driver: Driver) -> None:
    # Idle on purpose (no events, no actions) for three library socket timeouts.
    await asyncio.sleep(LIB_TIMEOUT * 3)
    assert await driver.ping()


async def test_b_list_responses_are_complete(driver: Driver, fake: FakeAmi) -> None:
    fake.db.update({f"/safenum/route/05040000000{i}": f"+82100000000{i}" for i in range(3)})
    assert await driver.tree_size("safenum/route") == 3


async def test_c_concurrent_sends_never_lose_or_interleave_bytes(
    driver: Driver, fake: FakeAmi
) -> None:
    fake.pause_reading()  # a slow reader: the socket buffers fill up
    values = {f"k{i}": f"{i:02d}" * 500_000 for i in range(16)}  # 16 MB > tcp_wmem max
    sending = asyncio.create_task(driver.put_concurrently(values))
    await asyncio.sleep(0.1)  # the peer stays slow for 100 ms
    fake.resume_reading()
    await sending

    async with asyncio.timeout(2):
        while len(fake.received("DBPut")) + len(fake.malformed) < len(values):
            await asyncio.sleep(0.01)
    assert fake.malformed == []
    assert {a["Key"]: a["Val"] for a in fake.received("DBPut")} == values


async def test_d_timed_out_actions_leave_nothing_behind(driver: Driver, fake: FakeAmi) -> None:
    fake.stalled.add("dbput")
    assert await driver.pending_after_timeout() == 0
