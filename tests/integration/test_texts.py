"""Text records on the real database: judged once, stored sealed, refused when the
number is not active, released on review, purged after retention, shredded with
their owner. The wire (Asterisk, MessageSend) is tested in tests/pbx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app_api.wiring import Core
from blocking.models import GlobalBlock, NumberBlock
from blocking.text_records import (
    InboundText,
    TextNotBlocked,
    TextNotFound,
    TextRecord,
    TextService,
)
from blocking.types import Category, Decision, Verdict
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.messaging import CallerRefs
from tests.conftest import Clock
from tests.integration.test_privacy import raw_bytes

DRIVER = OwnerPhone.parse("010-2345-6789")
TEXTER = "01077776666"
AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def deliver(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.DELIVER, Category.HAM, 0.01, ())


def block(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.BLOCK, Category.AD, 0.97, ("ad marker (광고)",))


CALLER_REFS = CallerRefs("1" * 64, "2" * 64)


def refs(number: SafeNumber, sender: str | None) -> tuple[str, str]:
    return CALLER_REFS.ref(number.digits, sender), CALLER_REFS.key(sender)


@pytest.fixture(autouse=True)
def pool(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "99999999")


def issue(core: Core, phone: OwnerPhone = DRIVER) -> SafeNumber:
    with core.numbers() as svc:
        return SafeNumber.parse(svc.issue(phone, Plate.parse("12가3456")).safe_number)


def text(number: SafeNumber, body: str, spool_id: str, sender: str | None = TEXTER) -> InboundText:
    return InboundText(spool_id, number, AT, sender, body, len(body.encode()))


def receive(core: Core, inbound: InboundText, judge=deliver):  # type: ignore[no-untyped-def]
    with core.sessions.begin() as session:
        return TextService(session, core.keyring, core.clock).receive(inbound, judge, refs)


def test_a_delivered_text_is_stored_sealed_and_sent_to_the_driver(core: Core) -> None:
    number = issue(core)
    send = receive(core, text(number, "차 좀 빼주세요 🚗", "20261122120000-a1"))
    assert send is not None
    assert (send.to, send.number, send.body) == ("01023456789", number, "차 좀 빼주세요 🚗")
    with core.sessions.begin() as session:
        service = TextService(session, core.keyring, core.clock)
        service.delivered(send.record_id)
        row = session.get(TextRecord, send.record_id)
        assert row is not None
        (view,) = service.of_owner(row.owner_id)
    assert (view.status, view.direction, view.body) == ("delivered", "in", "차 좀 빼주세요 🚗")
    blob = raw_bytes(core)
    assert "차 좀 빼주세요".encode() not in blob
    assert TEXTER.encode() not in blob


def test_receiving_the_same_spool_entry_twice_stores_and_judges_once(core: Core) -> None:
    number = issue(core)
    judged: list[str] = []

    def counting(body: str, sender: str | None, n: SafeNumber) -> Verdict:
        judged.append(body)
        return deliver(body, sender, n)

    first = receive(core, text(number, "hi", "20261122120000-a2"), counting)
    again = receive(core, text(number, "hi", "20261122120000-a2"), counting)
    assert first is not None
    assert again is not None
    assert again.record_id == first.record_id  # still pending: sent again, not re-judged
    assert judged == ["hi"]
    with core.sessions.begin() as session:
        TextService(session, core.keyring, core.clock).delivered(first.record_id)
    assert receive(core, text(number, "hi", "20261122120000-a2"), counting) is None


def test_a_blocked_text_is_kept_and_released_on_review(core: Core) -> None:
    number = issue(core)
    assert receive(core, text(number, "(광고) ...", "20261122120000-a3"), block) is None
    with core.sessions.begin() as session:
        service = TextService(session, core.keyring, core.clock)
        (view,) = service.blocked_page()
        assert (view.status, view.category, view.reasons) == (
            "blocked",
            "ad",
            ("ad marker (광고)",),
        )
        assert view.peer_key == CALLER_REFS.key(TEXTER)  # operators see the global key
        send = service.release(view.id, "operator:kim")
        assert send.body == "(광고) ..."
        with pytest.raises(TextNotBlocked):
            service.release(view.id, "operator:kim")
        service.delivered(send.record_id)
        assert service.show(view.id).status == "released"
        assert service.by_category(AT - timedelta(days=1)) == {"ad": {"released": 1}}


def test_a_driver_can_release_only_their_own_texts(core: Core) -> None:
    mine = issue(core)
    theirs = issue(core, OwnerPhone.parse("010-1111-2222"))
    receive(core, text(theirs, "(광고)", "20261122120000-a4"), block)
    with core.sessions.begin() as session:
        service = TextService(session, core.keyring, core.clock)
        owner_of_mine = service._live(mine)[0].id  # type: ignore[index]
        (other,) = service.blocked_page()
        with pytest.raises(TextNotFound):
            service.release(other.id, "driver", owner_id=owner_of_mine)


def test_texts_to_paused_or_unknown_numbers_are_refused_and_not_stored(core: Core) -> None:
    number = issue(core)
    with core.numbers() as svc:
        svc.pause(number)
    assert receive(core, text(number, "hi", "20261122120000-a5")) is None
    assert receive(core, text(SafeNumber("050499990000"), "hi", "20261122120000-a6")) is None
    with core.sessions() as session:
        assert session.query(TextRecord).count() == 0


def test_a_sender_the_driver_blocked_is_blocked_for_texts_too(core: Core) -> None:
    number = issue(core)
    ref, _ = refs(number, TEXTER)
    with core.sessions.begin() as session:
        service = TextService(session, core.keyring, core.clock)
        owner = service._live(number)[0]  # type: ignore[index]
        session.add(
            NumberBlock(number=number.digits, caller_ref=ref, owner_id=owner.id, created_at=AT)
        )
    assert receive(core, text(number, "차 빼주세요", "20261122120000-a7")) is None
    with core.sessions() as session:
        (row,) = session.query(TextRecord).all()
        assert (row.status, row.reasons) == ("blocked", '["the sender is blocked"]')


def test_the_drivers_reply_goes_to_the_last_delivered_texter(core: Core) -> None:
    number = issue(core)
    assert receive(core, text(number, "ad", "20261122120000-b0", "01099990000"), block) is None
    # No delivered texter yet: the reply has nowhere to go, and says so.
    assert receive(core, text(number, "네", "20261122120000-b1", "01023456789")) is None
    first = receive(core, text(number, "차 빼주세요", "20261122120000-b2"))
    assert first is not None
    with core.sessions.begin() as session:
        TextService(session, core.keyring, core.clock).delivered(first.record_id)
    reply = receive(core, text(number, "네 갑니다", "20261122120000-b3", "01023456789"))
    assert reply is not None
    assert (reply.to, reply.body) == (TEXTER, "네 갑니다")
    with core.sessions() as session:
        statuses = [(r.direction, r.status) for r in session.query(TextRecord).order_by("id")]
    assert statuses == [
        ("in", "blocked"),
        ("reply", "no-recipient"),
        ("in", "delivered"),
        ("reply", "pending"),
    ]


def test_a_body_asterisk_lost_is_recorded_as_lost_not_relayed(core: Core) -> None:
    number = issue(core)
    lost = InboundText("20261122120000-c1", number, AT, TEXTER, "", 2000)
    assert receive(core, lost) is None
    with core.sessions() as session:
        (row,) = session.query(TextRecord).all()
    assert row.status == "lost"
    assert "2000-byte" in row.reasons


def test_retention_purges_old_texts_and_owner_deletion_shreds_them(core: Core) -> None:
    number = issue(core)
    receive(core, text(number, "(광고) old", "20261122120000-d1"), block)
    receive(core, text(number, "(광고) new", "20261122120000-d2"), block)
    with core.sessions.begin() as session:
        old = session.query(TextRecord).filter_by(spool_id="20261122120000-d1").one()
        old.received_at = AT - timedelta(days=31)
    with core.sessions.begin() as session:
        assert (
            TextService(session, core.keyring, core.clock).purge_before(AT - timedelta(days=30))
            == 1
        )
    with core.numbers() as svc:
        svc.delete_owner(DRIVER)
    with core.sessions() as session:
        assert session.query(TextRecord).count() == 0


def test_a_pending_text_is_sent_by_one_relay_at_a_time(core: Core, clock: Clock) -> None:
    """Relays of two Asterisk nodes never hold the same pending text at once; a dead
    relay's claim lapses and the other node sends it."""
    number = issue(core)
    with core.sessions.begin() as session:
        a = TextService(session, core.keyring, core.clock, node="node-a")
        sent = a.receive(text(number, "차 빼주세요", "20261122120000-c1"), deliver, refs)
    assert sent is not None  # node-a received it and holds the claim while it sends

    def pending(node: str) -> list[int]:
        with core.sessions.begin() as session:
            service = TextService(session, core.keyring, core.clock, node=node)
            return [s.record_id for s in service.pending()]

    assert pending("node-b") == []
    assert pending("node-a") == [sent.record_id]  # its own claim: it may retry
    clock.advance(seconds=61)  # node-a died: its claim lapsed
    assert pending("node-b") == [sent.record_id]
    assert pending("node-a") == []  # now node-b's
    with core.sessions.begin() as session:
        TextService(session, core.keyring, core.clock, node="node-b").delivered(sent.record_id)
    clock.advance(seconds=61)
    assert pending("node-a") == pending("node-b") == []


def test_the_model_that_judged_a_text_is_recorded_and_shown(core: Core) -> None:
    """What the relay does (``Relay._judge`` calls the filter): the verdict's model
    version is stored with the text and comes back in the view the HTTP APIs show."""
    from blocking.filter import MessageFilter

    mf = MessageFilter.default()
    number = issue(core)

    def judge(body: str, sender: str | None, number: SafeNumber) -> Verdict:
        return mf.judge(body, sender)

    receive(core, text(number, "(광고) 오픈 특가 bit.ly/3xYz", "20261122120000-m1"), judge)
    receive(core, text(number, "차 좀 빼주세요", "20261122120000-m2"), judge)
    with core.sessions.begin() as session:
        service = TextService(session, core.keyring, core.clock)
        owner = session.scalar(select(TextRecord.owner_id).limit(1))
        assert owner is not None
        views = service.of_owner(owner)
        (blocked,) = service.blocked_page(10, None)
    assert {v.status for v in views} == {"blocked", "pending"}
    assert [v.model for v in views] == [mf.version, mf.version] != ["", ""]
    assert blocked.model == mf.version


def test_a_batch_is_judged_in_one_call_and_stored_as_one_by_one_would(core: Core) -> None:
    number = issue(core)
    other = issue(core, OwnerPhone.parse("010-5555-0000"))
    blocked_sender = "01088889999"
    with core.sessions.begin() as session:
        session.add(
            GlobalBlock(
                caller_key=CALLER_REFS.key(blocked_sender),
                note="test",
                created_at=AT,
                created_by="operator:test",
            )
        )
    receive(core, text(number, "먼저 온 문자", "20261122120000-b0"))  # stored before
    batch = [
        text(number, "차 좀 빼주세요", "20261122120000-b1"),
        text(number, "(광고) 대출", "20261122120000-b2", sender="01011112222"),
        text(number, "차 빼주세요", "20261122120000-b3", sender=blocked_sender),
        text(SafeNumber.parse("050499990000"), "hi", "20261122120000-b4"),  # no such number
        InboundText("20261122120000-b5", other, AT, TEXTER, "", 4000),  # body lost
        text(number, "차 좀 빼주세요", "20261122120000-b1"),  # the same entry again
        text(number, "먼저 온 문자", "20261122120000-b0"),  # stored, still pending
        text(other, "두 번째 번호로", "20261122120000-b6"),
    ]
    judged: list[tuple[str, str | None, SafeNumber]] = []

    def judge_many(items):  # type: ignore[no-untyped-def]
        judged.extend(items)
        return [block(*i) if i[0].startswith("(광고)") else deliver(*i) for i in items]

    with core.sessions.begin() as session:
        sends = TextService(session, core.keyring, core.clock).receive_many(batch, judge_many, refs)
    assert judged == [  # one call, in order, only what the filter decides
        ("차 좀 빼주세요", TEXTER, number),
        ("(광고) 대출", "01011112222", number),
        ("두 번째 번호로", TEXTER, other),
    ]
    assert [None if s is None else (s.to, s.body) for s in sends] == [
        ("01023456789", "차 좀 빼주세요"),
        None,  # blocked by the filter
        None,  # blocked sender
        None,  # refused
        None,  # lost
        None,  # a repeat within the batch is not sent twice
        ("01023456789", "먼저 온 문자"),  # pending from before: sent again
        ("01055550000", "두 번째 번호로"),
    ]
    with core.sessions() as session:
        rows = {r.spool_id[-2:]: r.status for r in session.query(TextRecord)}
    assert rows == {
        "b0": "pending",
        "b1": "pending",
        "b2": "blocked",
        "b3": "blocked",
        "b5": "lost",
        "b6": "pending",
    }


def test_a_batch_whose_judging_fails_stores_nothing(core: Core) -> None:
    number = issue(core)

    def failing(items):  # type: ignore[no-untyped-def]
        raise RuntimeError("filter down")

    batch = [text(number, f"{i}번 문자", f"20261122120000-c{i}") for i in range(3)]
    with pytest.raises(RuntimeError), core.sessions.begin() as session:
        TextService(session, core.keyring, core.clock).receive_many(batch, failing, refs)
    with core.sessions() as session:
        assert session.query(TextRecord).count() == 0  # one transaction: all or nothing
    with core.sessions.begin() as session:
        sends = TextService(session, core.keyring, core.clock).receive_many(
            batch, lambda items: [deliver(*i) for i in items], refs
        )
    assert [s.body for s in sends if s is not None] == ["0번 문자", "1번 문자", "2번 문자"]
