"""Texts over HTTP on the real database and Redis: the driver's list, release, blocking a
texter; the operators' review queue and text statistics. No Asterisk here: texts are
seeded through ``TextService.receive`` as the relay stores them, and the tests check
what each change asks the bridge and the relay to do after commit."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from httpx import Response
from sqlalchemy import select

from blocking.text_records import InboundText, TextRecord, TextService
from blocking.types import Category, Decision, Verdict
from numbering.agreements import SEOUL
from numbering.types import SafeNumber
from proxy.messaging import CallerRefs
from tests.integration.api.conftest import Api
from tests.integration.api.test_calls_and_blocks import OutboxSpy, replica

ALICE, BOB = "010-1111-2222", "010-3333-4444"
TEXTER, OTHER = "01077776666", "01055554444"
REFS = CallerRefs("1" * 64, "2" * 64)
PHONES = [p.replace("-", "") for p in (ALICE, BOB)] + [TEXTER, OTHER]
_spool = itertools.count(1)
MODEL = "base-0123456789"  # the version the judge below names, as the filter's verdicts do


def deliver(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.DELIVER, Category.HAM, 0.02, (), MODEL)


def ad(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.BLOCK, Category.AD, 0.97, ("ad marker (광고)",), MODEL)


def spam(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.BLOCK, Category.SPAM, 0.9, ("spam",))


def refs(number: SafeNumber, sender: str | None) -> tuple[str, str]:
    return REFS.ref(number.digits, sender), REFS.key(sender)


def seed(
    api: Api,
    number: str,
    body: str,
    *,
    sender: str | None = TEXTER,
    judge=deliver,  # type: ignore[no-untyped-def]
    minutes: int = 1,
) -> int:
    """Store a text as the relay does; a delivered one is marked sent. Returns its id."""
    spool_id = f"20261201083000-{next(_spool):04d}"
    at = api.core.clock() + timedelta(minutes=minutes)
    inbound = InboundText(spool_id, SafeNumber.parse(number), at, sender, body, len(body.encode()))
    with api.core.sessions.begin() as session:
        service = TextService(session, api.core.keyring, api.core.clock)
        send = service.receive(inbound, judge, refs)
        if send is not None:
            service.delivered(send.record_id)
        row_id = session.scalar(select(TextRecord.id).where(TextRecord.spool_id == spool_id))
    assert row_id is not None
    return row_id


def no_phone(r: Response) -> Response:
    """No real phone number (driver's or texter's) anywhere in the answer."""
    flat = r.text.replace("-", "")
    assert not [p for p in PHONES if p in flat], r.text
    return r


@pytest.fixture
def spy(api: Api) -> OutboxSpy:
    return OutboxSpy(api)


def test_my_texts_newest_first_in_pages_without_phone_numbers(api: Api) -> None:
    api.pool()
    alice, bob = api.driver(ALICE), api.driver(BOB)
    mine, theirs = api.numbered_vehicle(alice), api.numbered_vehicle(bob, "34나5678")
    first = seed(api, mine, "차 좀 빼주세요 🚗")
    blocked = seed(api, mine, "(광고) 오픈 특가", judge=ad, minutes=2)
    withheld = seed(api, mine, "앞에 차 빼주세요", sender=None, minutes=3)
    reply = seed(api, mine, "네 지금 갈게요", sender=ALICE.replace("-", ""), minutes=4)
    seed(api, theirs, "not for alice")

    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = no_phone(api.client.get("/v1/texts", params=params, headers=alice)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [t["id"] for t in seen] == [reply, withheld, blocked, first]
    by_id = {t["id"]: t for t in seen}
    ref = REFS.ref(SafeNumber.parse(mine).digits, TEXTER)
    assert by_id[first] == {
        "id": first,
        "safe_number": mine,
        "direction": "in",
        "sender_ref": ref,
        "status": "delivered",
        "category": "ham",
        "score": 0.02,
        "reasons": [],
        "model": MODEL,
        "body": "차 좀 빼주세요 🚗",
        "received_at": by_id[first]["received_at"],
        "handled_at": by_id[first]["handled_at"],
        "released_at": None,
        "sender_blocked": False,
    }
    assert (by_id[blocked]["status"], by_id[blocked]["category"]) == ("blocked", "ad")
    assert by_id[blocked]["reasons"] == ["ad marker (광고)"]
    assert by_id[blocked]["model"] == MODEL
    assert by_id[withheld]["sender_ref"] == "anonymous"
    assert (by_id[reply]["direction"], by_id[reply]["sender_ref"]) == ("reply", "driver")
    assert by_id[reply]["model"] == ""  # no model judged the driver's own reply
    assert all("sender_key" not in t for t in seen)  # drivers never see the global key
    assert [t["body"] for t in api.client.get("/v1/texts", headers=bob).json()["items"]] == [
        "not for alice"
    ]
    assert api.client.get("/v1/texts", params={"cursor": "!!"}, headers=alice).status_code == 422
    assert api.client.get("/v1/texts").status_code == 401
    operator = api.operator("audit", "auditor")
    assert api.client.get("/v1/texts", headers=operator).status_code == 403


def test_a_driver_releases_a_blocked_text_once(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    alice, bob = api.driver(ALICE), api.driver(BOB)
    mine = api.numbered_vehicle(alice)
    api.numbered_vehicle(bob, "34나5678")
    blocked = seed(api, mine, "(광고) 오픈 특가", judge=ad)
    delivered = seed(api, mine, "차 빼주세요", minutes=2)

    r = api.client.post(f"/v1/texts/{blocked}/release", headers=bob)  # not bob's
    assert (r.status_code, r.json()["title"]) == (404, "text-not-found")
    assert spy.texts == 0
    r = no_phone(api.client.post(f"/v1/texts/{blocked}/release", headers=alice))
    assert (r.status_code, r.json()) == (202, {"status": "released"})
    assert spy.texts == 1  # a relay sends it: recorded in the outbox with the release
    texts = {t["id"]: t for t in api.client.get("/v1/texts", headers=alice).json()["items"]}
    assert texts[blocked]["status"] == "pending"  # the relay sends it, then "released"
    assert texts[blocked]["released_at"] is not None

    for again in (blocked, delivered):
        r = api.client.post(f"/v1/texts/{again}/release", headers=alice)
        assert (r.status_code, r.json()["title"]) == (409, "text-not-blocked")
        assert r.headers["content-type"] == "application/problem+json"
    assert api.client.post("/v1/texts/999999/release", headers=alice).status_code == 404
    assert spy.texts == 1  # refused releases wake nothing

    admin = api.operator("admin", "district_admin")
    audit = api.client.get("/v1/ops/audit", params={"limit": 200}, headers=admin).json()
    released = [e for e in audit["items"] if e["action"] == "text.released"]
    assert [(e["subject"], e["detail"]) for e in released] == [
        (SafeNumber.parse(mine).digits, {"text": blocked})
    ]
    assert released[0]["actor"].startswith("owner:")


def test_a_driver_blocks_and_unblocks_a_texter(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    alice, bob = api.driver(ALICE), api.driver(BOB)
    mine = api.numbered_vehicle(alice)
    api.numbered_vehicle(bob, "34나5678")
    digits = SafeNumber.parse(mine).digits
    ref = REFS.ref(digits, TEXTER)
    first = seed(api, mine, "차 빼주세요")
    second = seed(api, mine, "아직이요?", minutes=2)
    other = seed(api, mine, "안녕하세요", sender=OTHER, minutes=3)
    spy.mark()

    assert api.client.put(f"/v1/texts/{first}/block", headers=bob).status_code == 404
    r = no_phone(api.client.put(f"/v1/texts/{first}/block", headers=alice))
    assert r.status_code == 200, r.text
    block = r.json()
    assert (block["safe_number"], block["caller_ref"]) == (mine, ref)
    assert api.client.put(f"/v1/texts/{second}/block", headers=alice).json()["id"] == block["id"]
    assert spy.numbers == [mine]  # replicated after commit; the second PUT changed nothing
    assert replica(api) == ({digits: frozenset({ref})}, frozenset())
    assert [b["id"] for b in api.client.get("/v1/blocks", headers=alice).json()] == [block["id"]]
    texts = api.client.get("/v1/texts", headers=alice).json()["items"]
    assert {t["id"]: t["sender_blocked"] for t in texts} == {
        first: True,
        second: True,
        other: False,
    }

    # The next text from that sender to this number is kept back, not delivered.
    later = seed(api, mine, "빨리요", minutes=4)
    texts = api.client.get("/v1/texts", headers=alice).json()["items"]
    assert (texts[0]["id"], texts[0]["status"]) == (later, "blocked")
    assert texts[0]["reasons"] == ["the sender is blocked"]

    assert api.client.delete(f"/v1/texts/{first}/block", headers=bob).status_code == 404
    assert api.client.delete(f"/v1/texts/{first}/block", headers=alice).status_code == 204
    assert api.client.delete(f"/v1/texts/{second}/block", headers=alice).status_code == 204
    assert spy.numbers == [mine, mine]
    assert replica(api) == ({}, frozenset())
    assert api.client.get("/v1/blocks", headers=alice).json() == []
    texts = api.client.get("/v1/texts", headers=alice).json()["items"]
    assert not any(t["sender_blocked"] for t in texts)


def test_withheld_senders_and_replies_cannot_be_blocked(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    alice = api.driver(ALICE)
    mine = api.numbered_vehicle(alice)
    withheld = seed(api, mine, "차 빼주세요", sender=None)
    seed(api, mine, "차 빼주세요", minutes=2)
    reply = seed(api, mine, "네", sender=ALICE.replace("-", ""), minutes=3)
    spy.mark()
    for text_id in (withheld, reply):
        r = api.client.put(f"/v1/texts/{text_id}/block", headers=alice)
        assert (r.status_code, r.json()["title"]) == (409, "caller-not-blockable")
        assert r.json()["errors"][0]["field"] == "text_id"
    assert spy.numbers == []
    assert api.client.get("/v1/blocks", headers=alice).json() == []


def test_texts_of_a_number_given_back_block_nothing(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    alice = api.driver(ALICE)
    mine = api.numbered_vehicle(alice)
    text = seed(api, mine, "차 빼주세요")
    assert api.client.post(f"/v1/numbers/{mine}/release", headers=alice).status_code == 200
    assert len(api.client.get("/v1/texts", headers=alice).json()["items"]) == 1  # still mine
    spy.mark()
    r = api.client.put(f"/v1/texts/{text}/block", headers=alice)
    assert (r.status_code, r.json()["title"]) == (404, "not-found")
    assert spy.numbers == []


def test_operators_review_blocked_texts_and_release_them(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    alice = api.driver(ALICE)
    mine = api.numbered_vehicle(alice)
    older = seed(api, mine, "(광고) 오픈 특가", judge=ad)
    newer = seed(api, mine, "(광고) 대출 상담", judge=ad, minutes=2)
    seed(api, mine, "차 빼주세요", minutes=3)
    auditor = api.operator("audit", "auditor")
    partner = api.operator("partner", "partner_admin")
    c = api.client

    page = no_phone(c.get("/v1/ops/texts/blocked", params={"limit": 1}, headers=auditor)).json()
    (item,) = page["items"]
    assert item == {
        "id": newer,
        "safe_number": mine,
        "sender_ref": REFS.ref(SafeNumber.parse(mine).digits, TEXTER),
        "sender_key": REFS.key(TEXTER),
        "status": "blocked",
        "category": "ad",
        "score": 0.97,
        "reasons": ["ad marker (광고)"],
        "model": MODEL,
        "body": "(광고) 대출 상담",
        "received_at": item["received_at"],
    }
    rest = c.get("/v1/ops/texts/blocked", params={"cursor": page["next_cursor"]}, headers=auditor)
    assert [t["id"] for t in rest.json()["items"]] == [older]
    assert rest.json()["next_cursor"] is None
    assert c.get("/v1/ops/texts/blocked", headers=alice).status_code == 403

    r = c.post(f"/v1/ops/texts/{older}/release", headers=auditor)
    assert (r.status_code, r.json()["title"]) == (403, "forbidden")
    assert c.post(f"/v1/ops/texts/{older}/release", headers=alice).status_code == 403
    r = no_phone(c.post(f"/v1/ops/texts/{older}/release", headers=partner))
    assert (r.status_code, r.json()) == (202, {"status": "released"})
    assert spy.texts == 1  # a relay sends it: recorded in the outbox with the release
    r = c.post(f"/v1/ops/texts/{older}/release", headers=partner)
    assert (r.status_code, r.json()["title"]) == (409, "text-not-blocked")
    assert c.post("/v1/ops/texts/999999/release", headers=partner).status_code == 404
    queue = c.get("/v1/ops/texts/blocked", headers=auditor).json()["items"]
    assert [t["id"] for t in queue] == [newer]

    audit = c.get("/v1/ops/audit", params={"limit": 200}, headers=auditor).json()["items"]
    (entry,) = [e for e in audit if e["action"] == "text.released"]
    assert entry["actor"].startswith("operator:")
    assert entry["detail"] == {"text": older}
    assert spy.texts == 1


def test_text_statistics_by_category(api: Api) -> None:
    api.pool()
    alice = api.driver(ALICE)
    mine = api.numbered_vehicle(alice)
    seed(api, mine, "차 빼주세요")
    seed(api, mine, "(광고) 오픈 특가", judge=ad, minutes=2)
    released = seed(api, mine, "(광고) 대출 상담", judge=ad, minutes=3)
    seed(api, mine, "네", sender=ALICE.replace("-", ""), minutes=4)  # replies are not counted
    assert api.client.post(f"/v1/texts/{released}/release", headers=alice).status_code == 202
    auditor = api.operator("audit", "auditor")
    today = api.core.clock().astimezone(SEOUL).date()  # the texts may fall on tomorrow
    window = {"since": str(today - timedelta(days=1)), "until": str(today + timedelta(days=1))}

    r = no_phone(api.client.get("/v1/ops/stats/texts", params=window, headers=auditor))
    assert r.status_code == 200, r.text
    assert r.json() == {
        **window,
        "texts": {"ham": {"delivered": 1}, "ad": {"blocked": 1, "pending": 1}},
    }
    default = api.client.get("/v1/ops/stats/texts", headers=auditor).json()
    assert (default["since"], default["until"]) == (str(today - timedelta(days=6)), str(today))
    past = {"since": "2020-01-01", "until": "2020-01-31"}
    assert api.client.get("/v1/ops/stats/texts", params=past, headers=auditor).json() == {
        **past,
        "texts": {},
    }
    for bad in (
        {"since": "2026-12-02", "until": "2026-12-01"},
        {"since": "2020-01-01", "until": "2026-01-01"},
        {"since": "1999-12-31"},
    ):
        r = api.client.get("/v1/ops/stats/texts", params=bad, headers=auditor)
        assert (r.status_code, r.json()["title"]) == (422, "invalid-value"), bad
    assert api.client.get("/v1/ops/stats/texts", headers=alice).status_code == 403
    days = api.client.get("/v1/ops/stats", params=window, headers=auditor)
    assert days.status_code == 200  # the daily statistics are unchanged
    assert {"day", "numbers_issued", "calls_bridged", "texts_blocked"} <= set(days.json()[0])


def test_daily_statistics_count_texts_per_day_and_agreement(api: Api) -> None:
    admin = api.operator("admin", "district_admin")
    c = api.client
    terms = {
        "name": "Gangnam pilot",
        "district": "Gangnam-gu",
        "partner": "Example Telecom",
        "term_start": "2020-01-01",
        "term_end": "2099-12-31",
        "quota": 10,
        "eligibility": "residents of Gangnam-gu",
    }
    agreement = c.post("/v1/ops/agreements", json=terms, headers=admin).json()["id"]
    c.patch(f"/v1/ops/agreements/{agreement}", json={"status": "active"}, headers=admin)
    pool = {"prefix": "0505", "range_from": "0", "range_to": "999", "agreement_id": agreement}
    assert c.post("/v1/ops/pools", json=pool, headers=admin).status_code == 201
    api.pool()  # 0504: no agreement
    alice, bob = api.driver(ALICE), api.driver(BOB)
    plain = api.numbered_vehicle(alice, prefix="0504")  # not the agreement's pool
    v = c.post("/v1/vehicles", json={"plate": "34나5678"}, headers=bob).json()
    r = c.post(f"/v1/vehicles/{v['id']}/number", json={"prefix": "0505"}, headers=bob)
    pilot = r.json()["safe_number"]
    assert pilot.startswith("0505")

    day = 24 * 60
    start = api.core.clock()
    seed(api, plain, "차 빼주세요")
    seed(api, plain, "(광고) 특가", judge=ad, minutes=2)
    released = seed(api, plain, "(광고) 대출", judge=ad, minutes=3)
    pending = seed(api, plain, "(광고) 상담", judge=ad, minutes=4)  # released, not yet sent
    seed(api, plain, "네", sender=ALICE.replace("-", ""), minutes=5)  # a reply: not counted
    lost = InboundText(
        "lost-1", SafeNumber.parse(plain), start + timedelta(minutes=6), TEXTER, "", 300
    )
    with api.core.sessions.begin() as session:  # arrived without its body: not counted
        TextService(session, api.core.keyring, api.core.clock).receive(lost, deliver, refs)
    seed(api, pilot, "앞에 차 빼주세요", minutes=1)
    seed(api, pilot, "스팸", judge=spam, minutes=2)
    seed(api, pilot, "다음날", minutes=day + 1)  # the next day
    for text_id in (released, pending):
        assert c.post(f"/v1/texts/{text_id}/release", headers=alice).status_code == 202
    with api.core.sessions.begin() as session:
        TextService(session, api.core.keyring, api.core.clock).delivered(released)

    first = (start + timedelta(minutes=1)).astimezone(SEOUL).date()
    assert first == (start + timedelta(minutes=6)).astimezone(SEOUL).date(), "test at midnight"
    second = first + timedelta(days=1)
    auditor = api.operator("audit", "auditor")
    window = {"since": str(first - timedelta(days=1)), "until": str(second)}
    days = no_phone(c.get("/v1/ops/stats", params=window, headers=auditor)).json()
    counts = {
        (d["day"], d["agreement_id"]): (d["texts_delivered"], d["texts_blocked"]) for d in days
    }
    assert counts == {
        (str(first - timedelta(days=1)), None): (0, {}),
        (str(first - timedelta(days=1)), agreement): (0, {}),
        (str(first), None): (2, {"ad": 2}),  # delivered + released; blocked + released
        (str(first), agreement): (1, {"spam": 1}),
        (str(second), None): (0, {}),
        (str(second), agreement): (1, {}),
    }
    one = c.get("/v1/ops/stats", params={**window, "agreement_id": agreement}, headers=auditor)
    assert [(d["day"], d["texts_delivered"]) for d in one.json()] == [
        (str(first - timedelta(days=1)), 0),
        (str(first), 1),
        (str(second), 1),
    ]


def test_operators_mark_a_text_as_spam_to_block_its_sender_everywhere(
    api: Api, spy: OutboxSpy
) -> None:
    api.pool()
    alice, bob = api.driver(ALICE), api.driver(BOB)
    mine, theirs = api.numbered_vehicle(alice), api.numbered_vehicle(bob, "34나5678")
    text = seed(api, mine, "(광고) 오픈 특가", judge=ad)
    withheld = seed(api, mine, "(광고) 익명", judge=ad, sender=None, minutes=2)
    reply = seed(api, mine, "네", sender=ALICE.replace("-", ""), minutes=3)
    auditor = api.operator("audit", "auditor")
    partner = api.operator("partner", "partner_admin")
    c = api.client

    r = c.post(f"/v1/ops/texts/{text}/spam", headers=auditor)
    assert (r.status_code, r.json()["title"]) == (403, "forbidden")
    assert c.post(f"/v1/ops/texts/{text}/spam", headers=alice).status_code == 403
    assert spy.global_changes == 0
    r = no_phone(c.post(f"/v1/ops/texts/{text}/spam", headers=partner))
    assert r.status_code == 201, r.text
    block = r.json()
    assert block["caller_key"] == REFS.key(TEXTER)
    assert block["note"] == f"marked as spam from text {text}"
    assert block["created_by"].startswith("operator:")
    assert spy.global_changes == 1  # AstDB follows after commit
    again = c.post(f"/v1/ops/texts/{text}/spam", headers=partner)
    assert (again.status_code, again.json()["id"]) == (201, block["id"])
    assert spy.global_changes == 1  # nothing changed
    blocks = c.get("/v1/ops/blocks", headers=auditor).json()["items"]
    assert [(b["id"], b["caller_key"]) for b in blocks] == [(block["id"], REFS.key(TEXTER))]
    assert replica(api) == ({}, frozenset({REFS.key(TEXTER)}))

    for unblockable in (withheld, reply):
        r = c.post(f"/v1/ops/texts/{unblockable}/spam", headers=partner)
        assert (r.status_code, r.json()["title"]) == (409, "caller-not-blockable")
        assert r.headers["content-type"] == "application/problem+json"
    assert c.post("/v1/ops/texts/999999/spam", headers=partner).status_code == 404
    assert len(c.get("/v1/ops/blocks", headers=auditor).json()["items"]) == 1

    # That sender's next texts are kept back on every number, even ones the filter passes.
    for number, headers in ((mine, alice), (theirs, bob)):
        later = seed(api, number, "차 빼주세요", minutes=5)
        latest = c.get("/v1/texts", headers=headers).json()["items"][0]
        assert (latest["id"], latest["status"]) == (later, "blocked")
        assert latest["reasons"] == ["the sender is blocked"]
    assert seed(api, theirs, "다른 사람", sender=OTHER, minutes=6)
    assert c.get("/v1/texts", headers=bob).json()["items"][0]["status"] == "delivered"

    audit = c.get("/v1/ops/audit", params={"limit": 200}, headers=auditor).json()["items"]
    marked = [e for e in audit if e["action"] == "text.marked_spam"]
    assert [(e["subject"], e["detail"]) for e in marked] == [
        (SafeNumber.parse(mine).digits, {"text": text, "global_block": block["id"]})
    ] * 2
    assert all(e["actor"].startswith("operator:") for e in marked)
    assert [e["action"] for e in audit].count("caller.blocked_globally") == 1
