"""One change path: the outbox, applied by a bridge per Asterisk node, and true receipts.

Real Asterisk (two instances: the session's plain and menu PBXs), real database and
Redis, the real ``safenum`` CLI and ``safenum bridge`` processes, SIPp as the phones.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import time

import redis.asyncio as aioredis
from pbx_sipp import DRIVER_E164, Pbx
from serve_process import Service
from test_pbx_serve import call_connects, call_refused, route_reaches

from app_api.pbx_config import bridge_config, make_bridge
from app_api.wiring import Core
from numbering.outbox import Outbox
from numbering.preferences import PreferencesService
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.ami import AmiClient
from proxy.bridge import Bridge
from proxy.dialplan import LAST_FAMILY, QUIET_FAMILY, ROUTE_FAMILY
from tests.conftest import free_port

DRIVER = "010-1234-5678"  # DRIVER_E164 of the SIPp scenarios; fictitious


def cli(service: Service, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from app_api.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**service.env, **env},
        timeout=60,
        check=False,
    )


def astdb(pbx: Pbx, family: str, key: str) -> str | None:
    async def get() -> str | None:
        async with AmiClient(pbx.ami_settings()) as ami:
            await ami.wait_connected(5)
            return await ami.db_get(family, key)

    return asyncio.run(get())


def astdb_tree(pbx: Pbx, family: str) -> dict[str, str]:
    async def get() -> dict[str, str]:
        async with AmiClient(pbx.ami_settings()) as ami:
            await ami.wait_connected(5)
            return {e.key: e.value for e in await ami.db_get_tree(family)}

    return asyncio.run(get())


def digits(issued: dict[str, object]) -> str:
    return str(issued["safe_number"]).replace("-", "")


def _serve_one_number(pbx: Pbx, service: Service) -> str:
    """A migrated database, a pool, ``safenum serve`` running and one routed number."""
    service.cli("numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
    service.start()
    number = digits(service.cli("numbers", "issue", "--owner-phone", DRIVER, "--plate", "12가3456"))
    assert route_reaches(pbx, number, DRIVER_E164)
    return number


def test_a_deletion_with_the_bridge_stopped_is_pending_until_it_runs(
    pbx: Pbx, service: Service
) -> None:
    number = _serve_one_number(pbx, service)
    assert call_connects(pbx, number)  # the dialplan keeps the caller for the callback
    assert astdb(pbx, LAST_FAMILY, number) is not None

    service.stop()  # no bridge runs: nothing can reach Asterisk
    done = cli(service, "owners", "delete", "--phone", DRIVER)
    assert done.returncode == 3, done.stderr
    receipt = json.loads(done.stdout)
    assert (receipt["telephony"], receipt["telephony_pending"]) == ("pending", ["node-1"])
    assert not [line for line in receipt["destroyed"] if "telephony" in line]
    assert "pending" in done.stderr
    assert "node-1" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    # Honest: the copies are still there, as the receipt says.
    assert astdb(pbx, ROUTE_FAMILY, number) == DRIVER_E164

    service.start()  # the bridge catches up from its position before it reports ready
    assert astdb(pbx, ROUTE_FAMILY, number) is None
    assert astdb(pbx, LAST_FAMILY, number) is None
    assert call_refused(pbx, number)  # the deleted owner's phone does not ring


def test_a_deletion_with_the_bridge_running_says_the_copies_are_gone(
    pbx: Pbx, service: Service
) -> None:
    number = _serve_one_number(pbx, service)
    assert call_connects(pbx, number)

    done = cli(service, "owners", "delete", "--phone", DRIVER)
    assert done.returncode == 0, done.stderr
    receipt = json.loads(done.stdout)
    assert receipt["telephony"] == "removed"
    assert any("telephony copies" in line for line in receipt["destroyed"])
    # Said only once it happened: the copies are gone the moment the command returns.
    assert astdb(pbx, ROUTE_FAMILY, number) is None
    assert astdb(pbx, LAST_FAMILY, number) is None
    assert call_refused(pbx, number)


def test_a_number_issued_with_redis_down_is_routable_once_a_bridge_runs(
    pbx: Pbx, service: Service
) -> None:
    service.cli("numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
    service.start()
    dead = f"redis://127.0.0.1:{free_port()}/0"
    done = cli(
        service,
        "numbers",
        "issue",
        "--owner-phone",
        DRIVER,
        "--plate",
        "12가3456",
        SAFENUM_REDIS_URL=dead,
    )
    assert done.returncode == 0, done.stderr
    number = digits(json.loads(done.stdout))
    assert route_reaches(pbx, number, DRIVER_E164)  # no hint: the bridge polls the outbox
    assert call_connects(pbx, number)


def _issue_many(core: Core, count: int) -> list[str]:
    """``count`` numbers for ``count`` owners in one transaction: one outbox batch."""
    with core.numbers() as svc:
        return [
            SafeNumber.parse(
                svc.issue(
                    OwnerPhone.parse(f"010-5{i:03d}-{i:04d}"), Plate.parse("12가3456")
                ).safe_number
            ).digits
            for i in range(count)
        ]


def _active_routes(core: Core) -> dict[str, str]:
    with core.reading() as svc:
        return {n.digits: p.e164 for n, p in svc.active_routes()}


def _position(core: Core, node: str) -> int | None:
    with core.reading() as svc:
        found = Outbox(svc.repo.session).node(node)
        return None if found is None else found.position


def _head(core: Core) -> int:
    with core.reading() as svc:
        return Outbox(svc.repo.session).head()


async def _ready(bridge: Bridge) -> None:
    async with asyncio.timeout(30):
        while not bridge.ready:
            await asyncio.sleep(0.01)


async def test_a_bridge_killed_mid_batch_applies_it_again_and_nothing_is_left_to_fix(
    pbx: Pbx, core: Core, service: Service, ami: AmiClient
) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "99999999")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from app_api.cli import main; main()", "bridge"],
        env=service.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(30):
            while await asyncio.to_thread(_position, core, "node-1") is None:
                await asyncio.sleep(0.05)
        numbers = await asyncio.to_thread(_issue_many, core, 300)
        async with asyncio.timeout(30):  # the batch is under way
            while len(await ami.db_get_tree(ROUTE_FAMILY)) < 10:
                await asyncio.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    partial = len(await ami.db_get_tree(ROUTE_FAMILY))
    assert 10 <= partial < len(numbers), "the kill should land inside the batch"
    assert (await asyncio.to_thread(_position, core, "node-1") or 0) < _head(core)

    bridge = make_bridge(
        core, AmiClient(pbx.ami_settings()), aioredis.from_url(service.env["SAFENUM_REDIS_URL"])
    )
    await bridge.start()
    try:
        await _ready(bridge)
        report = bridge.replica.last_report
        assert report is not None
        # The catch-up re-applied the whole batch before the reconcile ran.
        assert (report.added, report.fixed, report.removed) == (0, 0, 0)
        present = {e.key: e.value for e in await ami.db_get_tree(ROUTE_FAMILY)}
        assert present == await asyncio.to_thread(_active_routes, core)
        assert set(numbers) <= present.keys()
        assert await asyncio.to_thread(_position, core, "node-1") == _head(core)
    finally:
        await bridge.stop()


async def test_two_bridges_keep_two_asterisks_equal_to_the_database(
    pbx: Pbx, menu_pbx: Pbx, core: Core, redis_url: str, ami: AmiClient
) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "99999999")
    bridges = [
        Bridge(
            core,
            AmiClient(p.ami_settings()),
            aioredis.from_url(redis_url),
            replace(bridge_config(core.settings), node=name),
        )
        for p, name in ((pbx, "node-a"), (menu_pbx, "node-b"))
    ]
    for bridge in bridges:
        core.outbox_hints.append(bridge.wake)
        await bridge.start()
    try:
        for bridge in bridges:
            await _ready(bridge)
        numbers = await asyncio.to_thread(_issue_many, core, 5)
        paused, quiet, released = (SafeNumber(n) for n in numbers[:3])

        def change() -> None:
            with core.numbers() as svc:
                svc.pause(paused)
                svc.release(released)
                PreferencesService(svc.repo.session, core.clock).set_move_text(quiet, False)
            with core.writing() as session:
                PreferencesService(session, core.clock).set_quiet_hours(
                    quiet, time(22, 0), time(7, 0)
                )

        await asyncio.to_thread(change)
        status = await asyncio.to_thread(core.await_bridges, 30)
        assert (sorted(status.nodes), status.pending) == (["node-a", "node-b"], [])
        wanted = await asyncio.to_thread(_active_routes, core)
        assert paused.digits not in wanted
        assert released.digits not in wanted
        for bridge in bridges:
            assert {e.key: e.value for e in await bridge.ami.db_get_tree(ROUTE_FAMILY)} == wanted
            assert await bridge.ami.db_get(QUIET_FAMILY, quiet.digits) == "2200-0700"
            assert await bridge.ami.db_get("safenum/text", quiet.digits) == "off"
    finally:
        for bridge in bridges:
            core.outbox_hints.remove(bridge.wake)
            await bridge.stop()
