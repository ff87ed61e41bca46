"""RouteReplica against the fake manager."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from numbering.types import SafeNumber
from proxy.ami import AmiClient, AmiSettings
from proxy.ami.testing import FakeAmi
from proxy.dialplan import TEXT_OFF
from proxy.preference_replica import NumberPrefs, PreferenceReplica
from proxy.replica import InvalidRoute, RouteReplica

A, B, C = "050411110000", "050422220000", "050433330000"


def routes(mapping: Mapping[str, str]):  # type: ignore[no-untyped-def]
    async def load() -> Mapping[str, str]:
        return dict(mapping)

    return load


async def test_reconcile_adds_fixes_removes_and_bumps_generation(
    ami: AmiClient, fake: FakeAmi
) -> None:
    fake.db.update(
        {
            f"/safenum/route/{A}": "+821000000000",  # stale target
            f"/safenum/route/{C}": "+821033333333",  # no longer active
            "/safenum/meta/generation": "41",
        }
    )
    replica = RouteReplica(ami, routes({A: "+821011111111", B: "+821022222222"}))
    assert not replica.ready

    report = await replica.reconcile()

    assert (report.added, report.fixed, report.removed, report.generation) == (1, 1, 1, 42)
    assert replica.ready
    assert fake.db == {
        f"/safenum/route/{A}": "+821011111111",
        f"/safenum/route/{B}": "+821022222222",
        "/safenum/meta/generation": "42",
    }
    # A second pass finds nothing to do but still marks a generation.
    again = await replica.reconcile()
    assert (again.added, again.fixed, again.removed, again.generation) == (0, 0, 0, 43)


async def test_invalid_routes_from_the_database_are_skipped(ami: AmiClient, fake: FakeAmi) -> None:
    replica = RouteReplica(
        ami, routes({A: "+821011111111", "0504": "+821011111111", B: "+825012345678"})
    )
    report = await replica.reconcile()
    assert report.skipped == 2
    assert fake.db[f"/safenum/route/{A}"] == "+821011111111"
    assert f"/safenum/route/{B}" not in fake.db


async def test_put_and_delete(ami: AmiClient, fake: FakeAmi) -> None:
    replica = RouteReplica(ami, routes({}))
    await replica.put(SafeNumber(A), "+821011111111")
    assert fake.db[f"/safenum/route/{A}"] == "+821011111111"
    await replica.delete(SafeNumber(A))
    await replica.delete(SafeNumber(A))  # idempotent
    assert fake.db == {}


@pytest.mark.parametrize(
    ("number", "phone"),
    [
        (A, "01011111111"),
        (A, "+825011111111"),
        (A, "+11234567890"),
        (A, "+821011111111\r\nAction: Originate"),
    ],
)
async def test_put_validates_both_sides(
    ami: AmiClient, fake: FakeAmi, number: str, phone: str
) -> None:
    with pytest.raises(InvalidRoute):
        await RouteReplica(ami, routes({})).put(SafeNumber(number), phone)
    assert fake.received("DBPut") == []


async def test_a_put_during_reconcile_is_applied_after_it(ami: AmiClient, fake: FakeAmi) -> None:
    release = asyncio.Event()

    async def slow_load() -> Mapping[str, str]:
        await release.wait()
        return {}  # the snapshot predates the put below

    replica = RouteReplica(ami, slow_load)
    reconciling = asyncio.create_task(replica.reconcile())
    putting = asyncio.create_task(replica.put(SafeNumber(A), "+821011111111"))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(reconciling, putting)
    assert fake.db[f"/safenum/route/{A}"] == "+821011111111"


async def test_reconcile_runs_on_every_connect(fake: FakeAmi) -> None:
    settings = AmiSettings(
        "127.0.0.1", fake.port, fake.username, fake.secret, 1.0, 1.0, 30.0, 0.01, 0.05
    )
    async with AmiClient(settings) as client:
        replica = RouteReplica(client, routes({A: "+821011111111"}))
        client.add_connect_hook(replica.reconcile)
        async with asyncio.timeout(2):
            while not replica.ready:
                await asyncio.sleep(0.005)
        fake.db.clear()  # Asterisk restarted with an empty AstDB
        await fake.drop_connections()
        async with asyncio.timeout(2):
            while f"/safenum/route/{A}" not in fake.db:
                await asyncio.sleep(0.005)


async def test_preference_reconcile_writes_only_the_difference(
    ami: AmiClient, fake: FakeAmi
) -> None:
    fake.db.update(
        {
            f"/safenum/quiet/{A}": "0100-0200",  # stale hours
            f"/safenum/quiet/{C}": "2200-0700",  # C no longer has quiet hours
            f"/safenum/text/{B}": TEXT_OFF,  # right already
            f"/safenum/text/{C}": TEXT_OFF,  # C takes texts again
        }
    )
    prefs = {
        A: NumberPrefs(quiet="2200-0700"),
        B: NumberPrefs(quiet="2300-0600", move_text=False),
        C: NumberPrefs(),
    }

    async def load() -> Mapping[str, NumberPrefs]:
        return prefs

    written, removed = await PreferenceReplica(ami, load).reconcile()

    assert (written, removed) == (2, 2)
    assert fake.db == {
        f"/safenum/quiet/{A}": "2200-0700",
        f"/safenum/quiet/{B}": "2300-0600",
        f"/safenum/text/{B}": TEXT_OFF,
    }
    assert [a["Key"] for a in fake.received("DBPut")] == [A, B]  # B's text key was right
