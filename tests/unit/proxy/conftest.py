"""The fake Asterisk manager and a client connected to it, for the unit tests of the AMI
adapter and the replicas (the pbx tier runs the same code against a real Asterisk)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from proxy.ami import AmiClient, AmiSettings
from proxy.ami.testing import FakeAmi


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as server:
        yield server


@pytest.fixture
async def ami(fake: FakeAmi) -> AsyncIterator[AmiClient]:
    settings = AmiSettings("127.0.0.1", fake.port, fake.username, fake.secret, 1.0, 1.0)
    async with AmiClient(settings) as client:
        await client.wait_connected()
        yield client
