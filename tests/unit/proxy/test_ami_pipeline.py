"""Bulk AstDB over AMI: pipelined DBPut/DBDel, streamed DBGetTree, the cheap codec."""

from __future__ import annotations

import pytest

from proxy.ami import AmiActionFailed, AmiClient, AmiProtocolError, AmiTimeout
from proxy.ami.client import PIPELINE_CHUNK, PIPELINE_DEPTH
from proxy.ami.testing import FakeAmi, default_book
from proxy.ami.transport import decode_packet, decode_with_library, encode_action, encode_actions

FAMILY = "safenum/route"
MANY = PIPELINE_CHUNK * PIPELINE_DEPTH * 2 + 7  # more than the window, not a chunk multiple


def rows(count: int) -> list[tuple[str, str]]:
    return [(f"0504{i:08d}", f"+8210{i:08d}") for i in range(count)]


async def test_put_many_writes_every_row_once_with_its_own_action_id(
    ami: AmiClient, fake: FakeAmi
) -> None:
    written = await ami.db_put_many(FAMILY, rows(MANY))

    assert written == MANY
    assert fake.db == {f"/{FAMILY}/{k}": v for k, v in rows(MANY)}
    puts = fake.received("DBPut")
    assert len(puts) == MANY
    assert len({a["ActionID"] for a in puts}) == MANY
    assert fake.malformed == []
    assert ami.pending_count == 0


async def test_tree_streams_every_row_and_get_tree_agrees(ami: AmiClient, fake: FakeAmi) -> None:
    fake.db.update({f"/{FAMILY}/{k}": v for k, v in rows(MANY)})
    fake.db["/safenum/routeX/050400000000"] = "+821099999999"  # a sibling family, not ours

    tree = await ami.db_tree(FAMILY)

    assert tree == dict(rows(MANY))
    assert {(e.key, e.value) for e in await ami.db_get_tree(FAMILY)} == set(rows(MANY))
    assert await ami.db_tree("safenum/empty") == {}


async def test_del_many_ignores_absent_keys(ami: AmiClient, fake: FakeAmi) -> None:
    fake.db.update({f"/{FAMILY}/{k}": v for k, v in rows(10)})
    doomed = [k for k, _ in rows(10)[:5]] + ["050499999999"]  # the last one is absent

    removed = await ami.db_del_many(FAMILY, doomed)

    assert removed == 5
    assert set(fake.db) == {f"/{FAMILY}/{k}" for k, _ in rows(10)[5:]}


async def test_a_refused_put_is_reported_and_the_others_are_written(
    ami: AmiClient, fake: FakeAmi
) -> None:
    fake.book.exchanges["dbput"] = fake.book["dbdel_missing"]  # every DBPut now answers Error
    with pytest.raises(AmiActionFailed, match="3 of 3 refused"):
        await ami.db_put_many(FAMILY, rows(3))
    assert ami.pending_count == 0


async def test_injection_is_refused_before_the_chunk_is_sent(ami: AmiClient, fake: FakeAmi) -> None:
    bad = [*rows(3), ("050400000009", "+821000000000\r\nAction: Originate")]
    with pytest.raises(AmiProtocolError):
        await ami.db_put_many(FAMILY, bad)
    with pytest.raises(ValueError, match="invalid AstDB key"):
        await ami.db_put_many(FAMILY, [("0504/x", "+821000000000")])
    assert fake.received("Originate") == []
    assert fake.received("DBPut") == []  # the chunk holding the bad row never left
    assert ami.pending_count == 0


async def test_an_unanswered_pipeline_times_out_and_leaks_nothing(
    ami: AmiClient, fake: FakeAmi
) -> None:
    fake.stalled.add("dbput")
    with pytest.raises(AmiTimeout):
        await ami.db_put_many(FAMILY, rows(MANY))
    assert ami.pending_count == 0
    fake.stalled.clear()
    await ami.ping()  # the link stays usable
    assert await ami.db_put_many(FAMILY, rows(3)) == 3


def test_encode_actions_is_byte_equal_to_encode_action() -> None:
    actions = [
        (f"id-{i}", {"Family": FAMILY, "Key": key, "Val": value})
        for i, (key, value) in enumerate(rows(3))
    ]
    expected = b"".join(encode_action("DBPut", {"ActionID": i, **h}) for i, h in actions)
    assert encode_actions("DBPut", actions) == expected


def test_decoding_every_captured_packet_equals_the_library_reading() -> None:
    packets = [p for t in default_book().exchanges.values() for p in t.replies]
    packets += [
        "Response: Follows\r\nActionID: 1\r\nOutput: a\r\nOutput: b",  # repeated header
        "Response: Follows\r\nPrivilege: Command\r\nsome output line\r\n--END COMMAND--",
        "Event: VarSet\r\nChanVariable: a=b\r\nValue: x ",  # ChanVariable dict, trailing blank
        "Response:  Success \r\nMessage:  spaced ",
    ]
    assert len(packets) > 20
    for packet in packets:
        assert decode_packet(packet) == decode_with_library(packet), packet
