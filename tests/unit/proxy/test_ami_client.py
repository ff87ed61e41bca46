"""AmiClient against the transcript-replaying fake."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from proxy.ami import (
    AmiActionFailed,
    AmiClient,
    AmiProtocolError,
    AmiSettings,
    AmiTimeout,
    AmiUnavailable,
    DbEntry,
)
from proxy.ami.astdb import NOT_FOUND
from proxy.ami.testing import FakeAmi, default_book


def settings(fake: FakeAmi, **overrides: float | str) -> AmiSettings:
    values: dict[str, float | str] = {
        "action_timeout": 1.0,
        "connect_timeout": 1.0,
        "ping_interval": 30.0,
        "backoff_initial": 0.01,
        "backoff_max": 0.05,
    }
    values.update(overrides)
    return AmiSettings("127.0.0.1", fake.port, fake.username, fake.secret, **values)  # type: ignore[arg-type]


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


@pytest.fixture
async def ami(fake: FakeAmi) -> AsyncIterator[AmiClient]:
    """conftest's client with this file's settings (fast reconnect back-off); the
    ``fake`` server is conftest's."""
    async with AmiClient(settings(fake)) as client:
        await client.wait_connected()
        yield client


async def test_every_action_carries_a_unique_action_id(ami: AmiClient, fake: FakeAmi) -> None:
    await asyncio.gather(ami.ping(), ami.ping(), ami.db_put("f", "k", "v"))
    ids = [a["ActionID"] for a in fake.actions]
    assert all(ids)
    assert len(set(ids)) == len(ids)
    assert fake.actions[0]["Events"] == "off"  # the login asks for no events


async def test_astdb_round_trip(ami: AmiClient, fake: FakeAmi) -> None:
    await ami.db_put("safenum/route", "050412345678", "+821012345678")
    await ami.db_put("safenum/route", "050412345679", "+821012345679")
    assert await ami.db_get("safenum/route", "050412345678") == "+821012345678"
    assert await ami.db_get("safenum/route", "050400000000") is None
    assert await ami.db_get_tree("safenum/route") == [
        DbEntry("safenum/route", "050412345678", "+821012345678"),
        DbEntry("safenum/route", "050412345679", "+821012345679"),
    ]
    assert await ami.db_del("safenum/route", "050412345678") is True
    assert await ami.db_del("safenum/route", "050412345678") is False
    assert await ami.db_deltree("safenum/route") is True
    assert await ami.db_deltree("safenum/route") is False
    assert fake.db == {}


async def test_one_key_is_read_with_dbget_never_with_a_tree(ami: AmiClient, fake: FakeAmi) -> None:
    # DBGetTree scans Asterisk's whole astdb table (a LIKE on every key): a read of
    # one key, an absent key's delete and a failed bulk delete must use DBGet.
    await ami.db_put_many("safenum/route", [("050412345678", "+8210"), ("050412345679", "")])
    assert await ami.db_get("safenum/route", "050412345678") == "+8210"
    assert await ami.db_get("safenum/route", "050412345679") == ""
    assert await ami.db_get("safenum/route", "050400000000") is None
    assert await ami.db_get_many("safenum/route", ["050412345678", "050400000000"]) == {
        "050412345678": "+8210"
    }
    assert await ami.db_del("safenum/route", "050400000000") is False
    assert await ami.db_del_many("safenum/route", ["050400000000", "050412345679"]) == 1
    assert fake.received("DBGetTree") == []
    assert len(fake.received("DBGet")) >= 5


async def test_a_refused_dbget_is_an_error_not_an_absent_key(ami: AmiClient, fake: FakeAmi) -> None:
    # Only Asterisk's "Database entry not found" means absent; any other error raises.
    await ami.db_put("f", "k", "v")
    missing = fake.book["dbget_missing"]
    fake.book.exchanges["dbget_missing"] = dataclasses.replace(
        missing,
        replies=tuple(r.replace(NOT_FOUND, "Permission denied") for r in missing.replies),
    )
    with pytest.raises(AmiActionFailed):
        await ami.db_get("f", "absent")
    with pytest.raises(AmiActionFailed):
        await ami.db_get_many("f", ["k", "absent"])


async def test_list_completion_ignores_the_wrong_list_items_count(ami: AmiClient) -> None:
    # Asterisk 16 said "ListItems: 1" for any number of DBGetTree rows; the fake replays
    # the captured count (2 rows), so it is wrong for 5: only "EventList: Complete" counts.
    complete = default_book()["dbgettree"].replies[-1]
    assert "EventList: Complete" in complete
    assert "ListItems: 5" not in complete
    for i in range(5):
        await ami.db_put("f", f"k{i}", str(i))
    assert len(await ami.db_get_tree("f")) == 5


async def test_error_responses_become_typed_errors(ami: AmiClient) -> None:
    with pytest.raises(AmiActionFailed) as caught:
        await ami.command("core show version")
    assert caught.value.code == "pbx-action-failed"
    assert caught.value.message == "Permission denied"
    with pytest.raises(AmiActionFailed):
        await ami.action("Bogus")


@pytest.mark.parametrize(
    ("family", "key", "value"),
    [("f", "k", "v\r\nAction: Originate"), ("f", "k/x", "v"), ("f/", "k", "v"), ("f", "", "v")],
)
async def test_injection_and_bad_names_are_refused(
    ami: AmiClient, fake: FakeAmi, family: str, key: str, value: str
) -> None:
    with pytest.raises((AmiProtocolError, ValueError)):
        await ami.db_put(family, key, value)
    assert fake.received("DBPut") == []


async def test_timeout_cleans_up_and_the_link_stays_usable(ami: AmiClient, fake: FakeAmi) -> None:
    fake.stalled.add("dbput")
    with pytest.raises(AmiTimeout):
        await ami.db_put(
            "f",
            "k",
            "v",
        ) if False else await ami.action(
            "DBPut", {"Family": "f", "Key": "k", "Val": "v"}, timeout=0.05
        )
    assert ami.pending_count == 0
    await ami.ping()


async def test_reconnects_with_backoff_and_reruns_hooks(fake: FakeAmi) -> None:
    calls: list[int] = []
    client = AmiClient(settings(fake))

    async def hook() -> None:
        calls.append(client.connections)

    client.add_connect_hook(hook)
    async with client:
        await until(lambda: calls == [1])
        await fake.stop()  # Asterisk goes away
        await until(lambda: not client.connected)
        with pytest.raises(AmiUnavailable):
            await client.ping()
        await fake.start()  # and comes back on the same port
        await until(lambda: calls == [1, 2])
        await client.ping()
    assert fake.logins == 2


async def test_in_flight_actions_fail_fast_when_the_link_drops(
    ami: AmiClient, fake: FakeAmi
) -> None:
    fake.stalled.add("ping")
    pinging = asyncio.create_task(ami.ping())
    await until(lambda: ami.pending_count == 1)
    await fake.drop_connections()
    with pytest.raises(AmiUnavailable) as caught:
        await pinging
    assert not isinstance(caught.value, AmiTimeout)


async def test_keepalive_detects_a_silent_peer(fake: FakeAmi) -> None:
    async with AmiClient(settings(fake, ping_interval=0.05, action_timeout=0.1)) as client:
        await client.wait_connected()
        fake.stalled.add("ping")  # a hung Asterisk: TCP open, nothing answers
        await until(lambda: client.connections >= 2)
        fake.stalled.clear()
        await client.wait_connected()
        await client.ping()


async def test_refused_login_never_reveals_the_secret(
    fake: FakeAmi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = AmiSettings("127.0.0.1", fake.port, fake.username, "Sup3r-Secret-Value-42", 0.2, 0.2)
    async with AmiClient(wrong) as client:
        with pytest.raises(AmiUnavailable) as caught:
            await client.wait_connected(0.3)
        await until(lambda: len(fake.received("Login")) >= 2)  # it keeps retrying
    assert "Sup3r-Secret-Value-42" not in str(caught.value)
    assert "Sup3r-Secret-Value-42" not in repr(wrong)
    assert "Sup3r-Secret-Value-42" not in caplog.text
    assert "refused" in caplog.text


async def test_events_are_filtered_at_the_source_and_fanned_out(
    ami: AmiClient, fake: FakeAmi
) -> None:
    async with ami.subscribe({"Hangup"}) as hangups:
        filters = [a["Filter"] for a in fake.received("Filter")]
        assert filters == ["^Event: Hangup[[:space:]]"]
        assert fake.received("Events")[-1]["EventMask"] == "on"
        await fake.emit("Event: Newchannel\r\nChannel: PJSIP/trunk-1")
        await fake.emit("Event: Hangup\r\nChannel: PJSIP/trunk-1\r\nCause: 16")
        event = await asyncio.wait_for(hangups.get(), 1)
    assert event.name == "Hangup"
    assert event.headers["Cause"] == "16"


async def test_filters_are_restored_after_a_reconnect(ami: AmiClient, fake: FakeAmi) -> None:
    async with ami.subscribe({"DialBegin"}):
        await fake.drop_connections()
        await until(lambda: ami.connections == 2 and len(fake.received("Filter")) == 2)
