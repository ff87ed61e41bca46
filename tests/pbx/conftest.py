"""The pbx tier: one real Asterisk per session on the configs we ship.

Ports are taken free from the OS (never 5060/5038), so ``make run`` can run next
to the tests. Dial timeout and tones are shortened through the same config
fields production uses.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pbx_sipp import DIAL_TIMEOUT, MENU_TIMEOUT, TONE_SECONDS, Pbx, Sipp, free_port
from serve_process import Service

from proxy.ami import AmiClient
from proxy.asterisk.config import AsteriskConfig, write_config, write_prompts
from proxy.asterisk.install import AsteriskInstall, AsteriskNotInstalled
from proxy.asterisk.process import AsteriskSupervisor
from proxy.replica import ROUTE_FAMILY
from tests.conftest import worker_index


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.pbx)


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prompt cache for the tier: the first Asterisk synthesises the prompts (about
    1.5 s), every later one (the session's, the CLI's, a cluster's nodes) copies them.
    Keyed by text, voice and speed (tests/unit/proxy/test_prompt_cache.py)."""
    return tmp_path_factory.mktemp("prompt-cache")


@pytest.fixture(autouse=True)
def _prompt_cache_env(prompt_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``safenum asterisk up`` and ``cluster up`` read, in every env a test copies
    from ``os.environ``; this tier's tests only."""
    monkeypatch.setenv("SAFENUM_PROMPT_CACHE_DIR", str(prompt_cache))


def _start(base: Path, menu: bool, prompt_cache: Path) -> Pbx:
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
        # Each xdist worker its own 2000 ports (40000-41999 for the first, 42000-... for the
        # second), the menu Asterisk the upper half of them.
        rtp_port_start=40000 + 2000 * worker_index() + 1000 * menu,
        rtp_port_end=40999 + 2000 * worker_index() + 1000 * menu,
        verbose=3,
        menu=menu,
        menu_timeout=MENU_TIMEOUT,
        prompt_cache_dir=prompt_cache,
        install=AsteriskInstall.locate(),
    )
    write_config(config)
    write_prompts(config)
    supervisor = AsteriskSupervisor(config)
    supervisor.up(timeout=30)
    sipp_dir = base / "sipp"
    sipp_dir.mkdir()
    sipp = Sipp(sipp_dir, config.sip_port, config.trunk_port, free_port(socket.SOCK_DGRAM))
    return Pbx(config, supervisor, sipp)


def _need_tools() -> None:
    """A missing Asterisk or SIPp fails the tier: skipped, it would hide a broken install
    (``make test`` installs both through ``make system``)."""
    try:
        AsteriskInstall.locate().verify()
    except AsteriskNotInstalled as exc:
        pytest.fail(f"pbx tier needs Asterisk 22 ({exc}); run make system")
    if shutil.which("sipp") is None:
        pytest.fail("pbx tier needs sipp on PATH; run make system")


@pytest.fixture(scope="session")
def pbx(tmp_path_factory: pytest.TempPathFactory, prompt_cache: Path) -> Iterator[Pbx]:
    """The bridge with the menu skipped (SAFENUM_CALL_MENU=false): plain calls."""
    _need_tools()
    started = _start(tmp_path_factory.mktemp("pbx"), menu=False, prompt_cache=prompt_cache)
    try:
        yield started
    finally:
        started.supervisor.down()


@pytest.fixture(scope="session")
def menu_pbx(tmp_path_factory: pytest.TempPathFactory, prompt_cache: Path) -> Iterator[Pbx]:
    """The shipped default: every call is answered with the move-car menu."""
    _need_tools()
    started = _start(tmp_path_factory.mktemp("menu-pbx"), menu=True, prompt_cache=prompt_cache)
    try:
        yield started
    finally:
        started.supervisor.down()


@pytest.fixture
async def ami(pbx: Pbx) -> AsyncIterator[AmiClient]:
    async with AmiClient(pbx.ami_settings()) as client:
        await client.wait_connected(10)
        await client.db_deltree(ROUTE_FAMILY)  # every test starts with no routes
        yield client


@pytest.fixture
def service(pbx: Pbx, db_url: str, redis_url: str, tmp_path: Path) -> Iterator[Service]:
    """``safenum serve`` and the CLI against the session's Asterisk and Redis, on a
    freshly migrated database (``db_url``: no ``db upgrade`` needed); the test starts serve."""
    port = free_port(socket.SOCK_STREAM)
    env = {
        **os.environ,
        "SAFENUM_DATA_DIR": str(tmp_path),
        "SAFENUM_DATABASE_URL": db_url,
        "SAFENUM_REDIS_URL": redis_url,
        "SAFENUM_AMI_PORT": str(pbx.config.ami_port),
        "SAFENUM_AMI_SECRET": pbx.config.ami_secret,
        "SAFENUM_HTTP_PORT": str(port),
        "SAFENUM_LOG_LEVEL": "WARNING",
        "SAFENUM_DESTRUCTION_WAIT_SECONDS": "1",
    }
    svc = Service(env, f"http://127.0.0.1:{port}")
    yield svc
    svc.stop()
