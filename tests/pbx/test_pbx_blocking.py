"""Call blocking end to end: the HTTP API in-process with its bridge on the real Asterisk.

A call leaves a record; the driver blocks its caller from the record; the next call
from that caller hears the neutral announcement (early media, then 480) and the
driver's SIPp never sees an INVITE, also while the bridge is down; another caller
still rings; unblocking rings again. The operators' global block refuses the same
caller on another driver's number.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pbx_sipp import CALLER_NUMBER, DRIVER_NATIONAL, Pbx, SippRun, TrunkTrap
from pydantic import SecretStr

from app_api.main import create_app
from app_api.pbx_config import make_bridge
from app_api.settings import Settings
from app_api.wiring import Core
from blocking.sweep import CallerSweepGuard
from numbering.types import SafeNumber
from proxy.ami import AmiClient
from proxy.block_replica import GLOBAL_KEY
from proxy.bridge import Bridge
from proxy.bridge.senders import LoggingTextSender
from proxy.preference_replica import BLOCK_FAMILY
from proxy.replica import ROUTE_FAMILY
from tests.conftest import wait_until
from tests.integration.api.conftest import Api

OTHER_CALLER = "01055556666"  # fictitious
OTHER_DRIVER = "010-2222-3333"  # fictitious


@dataclass
class Pilot:
    """The API (with its bridge) against the session's Asterisk, and one driver's number."""

    pbx: Pbx
    api: Api
    client: TestClient
    driver: dict[str, str]
    number: str

    @property
    def digits(self) -> str:
        return SafeNumber.parse(self.number).digits

    @property
    def bridge(self) -> Bridge:
        bridge: Bridge = self.client.app.state.bridge  # type: ignore[attr-defined]
        return bridge

    def astdb(self, family: str, key: str) -> str | None:
        """Read AstDB over the bridge's own AMI link (in the app's event loop)."""
        return self.client.portal.call(self.bridge.ami.db_get, family, key)  # type: ignore[union-attr]

    def calls(self, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
        r = self.client.get("/v1/calls", headers=headers or self.driver)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    def call(self, dialled: str, caller: str = CALLER_NUMBER, rings: bool = True) -> SippRun:
        """One call; returns what the driver's phone received. Waits for its record."""
        before = len(self.calls())
        scenario = "driver_answer" if rings else "driver_noanswer"
        with self.pbx.sipp.driver(scenario, timeout=15 if rings else 8) as phone:
            caller_run = self.pbx.sipp.call(dialled, caller=caller)
        assert phone.run is not None
        if not rings:
            assert 183 in caller_run.statuses, caller_run.log_text  # the announcement
            assert caller_run.final_status == 480, caller_run.statuses
        if dialled == self.digits:
            wait_until(lambda: len(self.calls()) > before, what="the call record")
        return phone.run


def invites(run: SippRun) -> list[str]:
    return [m.text for m in run.received if m.first_line.startswith("INVITE ")]


def _astdb_clear(pbx: Pbx) -> None:
    async def clear() -> None:
        async with AmiClient(pbx.ami_settings()) as ami:
            await ami.wait_connected(10)
            for family in (ROUTE_FAMILY, BLOCK_FAMILY, "safenum/last"):
                await ami.db_deltree(family)

    asyncio.run(clear())


@pytest.fixture
def pilot_settings(settings: Settings, pbx: Pbx) -> Settings:
    return settings.model_copy(
        update={"ami_port": pbx.config.ami_port, "ami_secret": SecretStr(pbx.config.ami_secret)}
    )


@pytest.fixture
def pilot(pbx: Pbx, pilot_settings: Settings, core: Core, redis_url: str) -> Iterator[Pilot]:
    redis.Redis.from_url(redis_url).flushdb()
    _astdb_clear(pbx)
    sender = LoggingTextSender()
    app = create_app(pilot_settings, core=core, text_sender=sender)
    try:
        with TestClient(app) as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, what="readyz")
            api = Api(client, core, sender)
            api.pool()
            driver = api.driver(DRIVER_NATIONAL)
            pilot = Pilot(pbx, api, client, driver, api.numbered_vehicle(driver))
            wait_until(lambda: pilot.astdb(ROUTE_FAMILY, pilot.digits), what="the route")
            yield pilot
    finally:
        _astdb_clear(pbx)


def test_a_blocked_caller_hears_the_announcement_and_never_rings_the_driver(
    pilot: Pilot,
) -> None:
    phone = pilot.call(pilot.digits)
    assert len(invites(phone)) == 1
    [first] = pilot.calls()
    assert (first["outcome"], first["caller_blocked"]) == ("answered", False)
    assert CALLER_NUMBER[1:] not in str(first)

    r = pilot.client.put(f"/v1/calls/{first['id']}/block", headers=pilot.driver)
    assert r.status_code == 200, r.text
    family = f"{BLOCK_FAMILY}/{pilot.digits}"
    wait_until(lambda: pilot.astdb(family, first["caller_ref"]), what="the block in AstDB")

    phone = pilot.call(pilot.digits, rings=False)
    assert invites(phone) == []
    latest = pilot.calls()[0]
    assert (latest["outcome"], latest["caller_ref"]) == ("blocked", first["caller_ref"])
    assert latest["caller_blocked"] is True

    # Another caller still gets through.
    phone = pilot.call(pilot.digits, caller=OTHER_CALLER)
    assert len(invites(phone)) == 1
    assert pilot.calls()[0]["caller_ref"] != first["caller_ref"]

    # Unblocked: the first caller rings the driver again.
    r = pilot.client.delete(f"/v1/calls/{first['id']}/block", headers=pilot.driver)
    assert r.status_code == 204
    wait_until(lambda: pilot.astdb(family, first["caller_ref"]) is None, what="the unblock")
    phone = pilot.call(pilot.digits)
    assert len(invites(phone)) == 1
    assert pilot.calls()[0]["outcome"] == "answered"


def test_blocks_hold_while_the_bridge_is_down_and_come_back_after_a_restart(
    pilot: Pilot,
) -> None:
    pilot.call(pilot.digits)
    [first] = pilot.calls()
    pilot.client.put(f"/v1/calls/{first['id']}/block", headers=pilot.driver)
    family = f"{BLOCK_FAMILY}/{pilot.digits}"
    wait_until(lambda: pilot.astdb(family, first["caller_ref"]), what="the block in AstDB")
    bridge = pilot.bridge
    pilot.client.portal.call(bridge.stop)  # type: ignore[union-attr]

    # No bridge: Asterisk refuses the caller from its replica alone.
    with pilot.pbx.sipp.driver("driver_noanswer", timeout=8) as phone:
        caller = pilot.pbx.sipp.call(pilot.digits)
    assert phone.run is not None
    assert invites(phone.run) == []
    assert caller.final_status == 480

    # Asterisk loses its AstDB (a fresh install); a new bridge reconciles the block.
    _astdb_clear(pilot.pbx)

    async def restart() -> Bridge:
        fresh = make_bridge(pilot.api.core, AmiClient(pilot.pbx.ami_settings()), bridge.redis)
        await fresh.start()
        return fresh

    fresh = pilot.client.portal.call(restart)  # type: ignore[union-attr]
    try:

        def replicated() -> str | None:
            return pilot.client.portal.call(  # type: ignore[union-attr]
                fresh.ami.db_get, family, first["caller_ref"]
            )

        wait_until(replicated, what="the reconciled block")
        # The call missed while the bridge was away is stored from the spool, as blocked.
        wait_until(lambda: pilot.calls()[0]["outcome"] == "blocked", what="the spooled record")
    finally:
        pilot.client.portal.call(fresh.stop)  # type: ignore[union-attr]


def test_a_global_block_refuses_the_caller_on_every_number(pilot: Pilot) -> None:
    pilot.call(pilot.digits)
    [first] = pilot.calls()
    other_driver = pilot.api.driver(OTHER_DRIVER)
    other = SafeNumber.parse(pilot.api.numbered_vehicle(other_driver, plate="34나5678")).digits
    wait_until(lambda: pilot.astdb(ROUTE_FAMILY, other), what="the second route")

    admin = pilot.api.operator("admin", "district_admin")
    r = pilot.client.post("/v1/ops/blocks", json={"record_id": first["id"]}, headers=admin)
    assert r.status_code == 201, r.text
    key = r.json()["caller_key"]
    assert key != first["caller_ref"]  # a number-independent key, not the per-number ref
    family = f"{BLOCK_FAMILY}/{GLOBAL_KEY}"
    wait_until(lambda: pilot.astdb(family, key), what="the global block in AstDB")

    # The same caller on another driver's number: refused, never rings.
    with pilot.pbx.sipp.driver("driver_noanswer", timeout=8) as phone:
        caller = pilot.pbx.sipp.call(other)
    assert phone.run is not None
    assert invites(phone.run) == []
    assert caller.final_status == 480
    # ... and on the first number; a different caller still rings.
    assert invites(pilot.call(pilot.digits, rings=False)) == []
    assert len(invites(pilot.call(other, caller=OTHER_CALLER))) == 1

    r = pilot.client.delete(f"/v1/ops/blocks/{r.json()['id']}", headers=admin)
    assert r.status_code == 204
    wait_until(lambda: pilot.astdb(family, key) is None, what="the lifted block")
    assert len(invites(pilot.call(pilot.digits))) == 1


def test_a_caller_sweeping_safe_numbers_is_blocked_everywhere_automatically(
    pilot: Pilot,
) -> None:
    guard = pilot.bridge.calls.sweep_guard
    pilot.bridge.calls.sweep_guard = CallerSweepGuard.over_redis(
        guard.history.client,
        guard.history.hmac_key,
        pilot.api.core.sessions.begin,
        numbers=3,
        window=timedelta(minutes=10),
        block_for=timedelta(hours=1),
    )
    # A harvester tries numbers it does not know, then a real one: three in a row.
    for unknown in ("050499990001", "050499990002"):
        with TrunkTrap(pilot.pbx.config.trunk_port) as trap:
            assert pilot.pbx.sipp.call(unknown).final_status == 404
            assert trap.drain() == []
    pilot.call(pilot.digits)  # counted as it starts; the block lands just after
    ops = pilot.api.operator("ops-sweep", "district_admin")
    r = pilot.client.get("/v1/ops/blocks", headers=ops)
    assert r.status_code == 200, r.text
    (block,) = r.json()["items"]
    assert block["created_by"] == "auto"
    assert block["expires_at"] is not None
    wait_until(
        lambda: pilot.astdb(f"{BLOCK_FAMILY}/{GLOBAL_KEY}", block["caller_key"]),
        what="the automatic block in AstDB",
    )
    phone = pilot.call(pilot.digits, rings=False)
    assert invites(phone) == []
    # Another caller is not affected.
    assert len(invites(pilot.call(pilot.digits, caller=OTHER_CALLER))) == 1
