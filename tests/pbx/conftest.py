"""The pbx tier: one real Asterisk per session on the configs we ship.

Ports are taken free from the OS (never 5060/5038), so ``make run`` can run next
to the tests. Dial timeout and tones are shortened through the same config
fields production uses.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pbx_sipp import DIAL_TIMEOUT, TONE_SECONDS, Pbx, Sipp, free_port

from proxy.ami import AmiClient
from proxy.asterisk.config import AsteriskConfig, find_module_dir, write_config
from proxy.asterisk.process import AsteriskSupervisor
from proxy.replica import ROUTE_FAMILY


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.pbx)


@pytest.fixture(scope="session")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pbx]:
    if shutil.which("asterisk") is None or shutil.which("sipp") is None:
        pytest.skip("pbx tier needs asterisk and sipp on PATH")
    base = tmp_path_factory.mktemp("pbx")
    config = AsteriskConfig(
        config_dir=base / "asterisk",
        sip_port=free_port(socket.SOCK_DGRAM),
        sip_bind_host="127.0.0.1",
        trunk_host="127.0.0.1",
        trunk_port=free_port(socket.SOCK_DGRAM),
        ami_port=free_port(socket.SOCK_STREAM),
        ami_secret="pbx-test-secret-0123456789",
        dial_timeout=DIAL_TIMEOUT,
        tone_seconds=TONE_SECONDS,
        rtp_port_start=40000,
        rtp_port_end=40999,
        verbose=3,
        module_dir=find_module_dir(),
    )
    write_config(config)
    supervisor = AsteriskSupervisor(config)
    supervisor.up(timeout=30)
    sipp_dir = base / "sipp"
    sipp_dir.mkdir()
    sipp = Sipp(sipp_dir, config.sip_port, config.trunk_port, free_port(socket.SOCK_DGRAM))
    try:
        yield Pbx(config, supervisor, sipp)
    finally:
        supervisor.down()


@pytest.fixture
async def ami(pbx: Pbx) -> AsyncIterator[AmiClient]:
    async with AmiClient(pbx.ami_settings()) as client:
        await client.wait_connected(10)
        await client.db_deltree(ROUTE_FAMILY)  # every test starts with no routes
        yield client
