"""Preferences, call records and call blocking over HTTP, on the real database.

No Asterisk here: the tests check what each change asks the bridge to replicate
(after commit) and what the replica would hold; tests/pbx/test_pbx_blocking.py
proves the dialplan end to end.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from blocking.blocks import BlockService
from blocking.models import NumberBlock
from blocking.text_records import InboundText, TextService
from blocking.types import Category, Decision, Verdict
from calls.records import CallRecords
from numbering.agreements import SEOUL
from numbering.outbox import Change, ChangeKind, Outbox
from numbering.types import SafeNumber
from proxy.state import CallFacts, State
from tests.integration.api.conftest import Api

ALICE, BOB = "010-1111-2222", "010-3333-4444"
REF_A, REF_B = "a" * 20, "b" * 20
KEY_A = "c" * 20
TEXTER = "01077776666"


class OutboxSpy:
    """What the API recorded in the outbox since the fixture was made: the only path by
    which a change reaches Asterisk."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.mark()

    def mark(self) -> None:
        """Count only what is recorded from now on (after a test's set-up)."""
        self.start = self._head()

    def _head(self) -> int:
        with self.api.core.reading() as svc:
            return Outbox(svc.repo.session).head()

    def _changes(self) -> list[Change]:
        with self.api.core.reading() as svc:
            return Outbox(svc.repo.session).after(self.start, 10_000)

    @property
    def numbers(self) -> list[str]:
        return [c.number.national for c in self._changes() if c.kind is ChangeKind.NUMBER]

    @property
    def global_changes(self) -> int:
        return sum(c.kind is ChangeKind.GLOBAL_BLOCKS for c in self._changes())

    @property
    def texts(self) -> int:
        return sum(c.kind is ChangeKind.TEXTS for c in self._changes())


@pytest.fixture
def spy(api: Api) -> OutboxSpy:
    return OutboxSpy(api)


def record(
    api: Api,
    number: str,
    *,
    ref: str = REF_A,
    key: str = KEY_A,
    after: timedelta = timedelta(minutes=1),
    dial: str = "ANSWER",
    refused: str = "",
    text: str = "",
) -> int:
    start: datetime = api.core.clock() + after
    facts = CallFacts(
        call_id=f"{start.timestamp()}.{ref[:4]}.{refused}{dial}{text}",
        number=SafeNumber.parse(number).digits,
        caller_ref=ref,
        caller_key=key,
        started=start,
        answered=start + timedelta(seconds=5) if dial == "ANSWER" else None,
        ended=start + timedelta(seconds=30),
        dial_status=dial,
        text_status=text,
        refused=refused,
        state=State.ENDED,
    )
    with api.core.sessions.begin() as session:
        assert CallRecords(session).add(facts, "events")
    with api.core.sessions.begin() as session:
        rows = CallRecords(session).for_numbers([SafeNumber.parse(number)], limit=1000)
    return next(r.id for r in rows if r.call_id == facts.call_id)


def text(api: Api, number: str, body: str, verdict: Verdict) -> date:
    """Store an incoming text as the relay does (sent, unless blocked); its day in Seoul."""
    at = api.core.clock() + timedelta(minutes=6)
    inbound = InboundText(
        f"{at.timestamp()}-{body}"[:40], SafeNumber.parse(number), at, TEXTER, body
    )
    with api.core.sessions.begin() as session:
        service = TextService(session, api.core.keyring, api.core.clock)
        send = service.receive(inbound, lambda *_: verdict, lambda n, s: (REF_B, KEY_A))
        if send is not None:
            service.delivered(send.record_id)
    return at.astimezone(SEOUL).date()


def replica(api: Api) -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    with api.core.sessions.begin() as session:
        values = BlockService(session, api.core.clock).replica_values()
    return values.numbers, values.keys


def test_quiet_hours_and_move_car_text(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    spy.mark()
    base = f"/v1/numbers/{number}/preferences"
    got = api.client.get(base, headers=me).json()
    assert got == {
        "safe_number": number,
        "quiet_start": None,
        "quiet_end": None,
        "timezone": "Asia/Seoul",
        "move_car_text": True,
    }
    assert spy.numbers == []
    body = {"quiet_start": "22:30", "quiet_end": "07:00"}
    got = api.client.put(f"{base}/quiet-hours", json=body, headers=me).json()
    assert (got["quiet_start"], got["quiet_end"]) == ("22:30", "07:00")
    assert spy.numbers == [number]  # recorded in the outbox with the change
    got = api.client.put(f"{base}/move-car-text", json={"enabled": False}, headers=me).json()
    assert got["move_car_text"] is False
    assert api.client.get(base, headers=me).json()["quiet_start"] == "22:30"
    got = api.client.delete(f"{base}/quiet-hours", headers=me).json()
    assert (got["quiet_start"], got["quiet_end"], got["move_car_text"]) == (None, None, False)
    assert spy.numbers == [number] * 3

    for bad in ({"quiet_start": "24:00", "quiet_end": "07:00"}, {"quiet_start": "7:00"}):
        r = api.client.put(f"{base}/quiet-hours", json=bad, headers=me)
        assert r.status_code == 422, bad
    same = {"quiet_start": "07:00", "quiet_end": "07:00"}
    r = api.client.put(f"{base}/quiet-hours", json=same, headers=me)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "quiet_end")
    assert spy.numbers == [number] * 3  # refused changes push nothing


def test_call_records_newest_first_in_pages_without_numbers(api: Api) -> None:
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    before_issue = record(api, number, after=timedelta(minutes=-5))  # a former holder's call
    ids = [record(api, number, ref=REF_B, after=timedelta(minutes=m)) for m in range(1, 6)]
    blocked = record(api, number, after=timedelta(minutes=6), dial="", refused="blocked")
    texted = record(api, number, after=timedelta(minutes=7), dial="", text="SUCCESS")
    seen: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get("/v1/calls", params=params, headers=me).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [c["id"] for c in seen] == [texted, blocked, *reversed(ids)]
    assert before_issue not in [c["id"] for c in seen]
    assert [c["outcome"] for c in seen[:3]] == ["move-text", "blocked", "answered"]
    assert (seen[0]["caller_ref"], seen[2]["caller_ref"]) == (REF_A, REF_B)
    assert all(c["safe_number"] == number and c["caller_blocked"] is False for c in seen)
    assert all("caller_key" not in c for c in seen)  # drivers never see the global key
    one = api.client.get("/v1/calls", params={"number": number}, headers=me).json()
    assert len(one["items"]) == 7
    assert api.client.get("/v1/calls", params={"cursor": "!!"}, headers=me).status_code == 422


def test_a_driver_blocks_and_unblocks_a_caller_from_a_record(api: Api, spy: OutboxSpy) -> None:
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    digits = SafeNumber.parse(number).digits
    first = record(api, number)
    other = record(api, number, ref=REF_B, after=timedelta(minutes=2))
    spy.mark()

    r = api.client.put(f"/v1/calls/{first}/block", headers=me)
    assert r.status_code == 200, r.text
    block = r.json()
    assert (block["safe_number"], block["caller_ref"]) == (number, REF_A)
    again = api.client.put(f"/v1/calls/{first}/block", headers=me).json()
    assert again["id"] == block["id"]
    assert spy.numbers == [number]  # the second PUT changed nothing
    assert replica(api) == ({digits: frozenset({REF_A})}, frozenset())
    calls = api.client.get("/v1/calls", headers=me).json()["items"]
    assert {c["id"]: c["caller_blocked"] for c in calls} == {first: True, other: False}
    assert [b["id"] for b in api.client.get("/v1/blocks", headers=me).json()] == [block["id"]]

    assert api.client.delete(f"/v1/calls/{first}/block", headers=me).status_code == 204
    assert api.client.delete(f"/v1/calls/{first}/block", headers=me).status_code == 204
    assert replica(api) == ({}, frozenset())
    assert spy.numbers == [number, number]

    # By block id too (the record may be purged by then).
    block = api.client.put(f"/v1/calls/{other}/block", headers=me).json()
    assert api.client.delete(f"/v1/blocks/{block['id']}", headers=me).status_code == 204
    assert api.client.delete(f"/v1/blocks/{block['id']}", headers=me).status_code == 404
    assert api.client.get("/v1/blocks", headers=me).json() == []


def test_withheld_callers_cannot_be_blocked(api: Api) -> None:
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    anonymous = record(api, number, ref="anonymous", key="anonymous")
    r = api.client.put(f"/v1/calls/{anonymous}/block", headers=me)
    assert (r.status_code, r.json()["title"]) == (409, "caller-not-blockable")
    assert r.headers["content-type"] == "application/problem+json"


def test_a_released_number_takes_its_blocks_out_of_the_replica(api: Api) -> None:
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    api.client.put(f"/v1/calls/{record(api, number)}/block", headers=me)
    assert replica(api)[0] != {}
    api.client.post(f"/v1/numbers/{number}/pause", headers=me)
    assert replica(api)[0] == {}  # paused: calls are refused anyway
    api.client.post(f"/v1/numbers/{number}/resume", headers=me)
    assert replica(api)[0] != {}
    api.client.post(f"/v1/numbers/{number}/release", headers=me)
    assert replica(api)[0] == {}
    assert api.client.get("/v1/blocks", headers=me).json() == []


def test_operators_block_globally_and_export_calls_without_numbers(
    api: Api, spy: OutboxSpy
) -> None:
    api.pool()
    alice = api.driver(ALICE)
    number = api.numbered_vehicle(alice)
    call = record(api, number)
    no_key = record(api, number, ref=REF_B, key="", after=timedelta(minutes=2))
    admin = api.operator("admin", "district_admin")
    auditor = api.operator("audit", "auditor")
    c = api.client

    body = {"record_id": call, "note": "sweeps numbers"}
    assert c.post("/v1/ops/blocks", json=body, headers=auditor).status_code == 403
    r = c.post("/v1/ops/blocks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    block = r.json()
    assert (block["caller_key"], block["note"]) == (KEY_A, "sweeps numbers")
    assert c.post("/v1/ops/blocks", json=body, headers=admin).json()["id"] == block["id"]
    assert spy.global_changes == 1
    assert replica(api) == ({}, frozenset({KEY_A}))
    by_key = c.post("/v1/ops/blocks", json={"caller_key": "d" * 20}, headers=admin)
    assert by_key.status_code == 201
    for bad, status, title in (
        ({"record_id": no_key}, 409, "caller-not-blockable"),
        ({"record_id": 999999}, 404, "not-found"),
        ({}, 422, "invalid-value"),
        ({"record_id": call, "caller_key": KEY_A}, 422, "invalid-value"),
        ({"caller_key": "0504-1234-5678"}, 422, "invalid-value"),
    ):
        r = c.post("/v1/ops/blocks", json=bad, headers=admin)
        assert (r.status_code, r.json()["title"]) == (status, title), bad
    page = c.get("/v1/ops/blocks", params={"limit": 1}, headers=auditor).json()
    assert [b["id"] for b in page["items"]] == [block["id"]]
    page = c.get("/v1/ops/blocks", params={"cursor": page["next_cursor"]}, headers=auditor)
    assert [b["caller_key"] for b in page.json()["items"]] == ["d" * 20]
    assert c.delete(f"/v1/ops/blocks/{block['id']}", headers=auditor).status_code == 403
    assert c.delete(f"/v1/ops/blocks/{block['id']}", headers=admin).status_code == 204
    assert c.delete(f"/v1/ops/blocks/{block['id']}", headers=admin).status_code == 404
    assert replica(api)[1] == frozenset({"d" * 20})

    r = c.get("/v1/ops/calls.csv", headers=auditor)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["id"]) for row in rows] == [call, no_key]
    assert rows[0]["safe_number"] == number
    assert (rows[0]["caller_ref"], rows[0]["caller_key"]) == (REF_A, KEY_A)
    assert (rows[0]["outcome"], rows[1]["caller_key"]) == ("answered", "")
    assert "1011112222" not in r.text.replace("-", "")  # the driver's phone, nowhere
    audit = c.get("/v1/ops/audit", params={"limit": 200}, headers=auditor).json()["items"]
    actions = [e["action"] for e in audit]
    assert actions.count("caller.blocked_globally") == 2
    assert "caller.unblocked_globally" in actions
    empty = c.get("/v1/ops/calls.csv", params={"since": "2001-01-01", "until": "2001-01-02"})
    assert empty.status_code == 401  # the export needs a token too


def test_stats_count_calls_from_records(api: Api) -> None:
    api.pool()
    alice = api.driver(ALICE)
    number = api.numbered_vehicle(alice)
    record(api, number)  # answered
    record(api, number, after=timedelta(minutes=2))  # answered
    record(api, number, after=timedelta(minutes=3), dial="", refused="blocked")
    record(api, number, after=timedelta(minutes=4), dial="", text="SUCCESS")
    record(api, number, after=timedelta(minutes=5), dial="NOANSWER")
    delivered = text(api, number, "차 빼주세요", Verdict(Decision.DELIVER, Category.HAM, 0.0, ()))
    blocked = text(api, number, "(광고) 특가", Verdict(Decision.BLOCK, Category.AD, 0.9, ()))
    auditor = api.operator("audit", "auditor")
    today = api.core.clock().astimezone(SEOUL).date()  # the calls may fall on tomorrow
    window = {"since": str(today - timedelta(days=1)), "until": str(today + timedelta(days=1))}
    days = api.client.get("/v1/ops/stats", params=window, headers=auditor).json()
    totals = {
        k: sum(d[k] for d in days) for k in ("calls_bridged", "calls_blocked", "move_car_texts")
    }
    assert totals == {"calls_bridged": 2, "calls_blocked": 1, "move_car_texts": 1}
    texts = {
        d["day"]: (d["texts_delivered"], d["texts_blocked"])
        for d in days
        if d["texts_delivered"] or d["texts_blocked"]
    }
    if delivered == blocked:
        assert texts == {str(delivered): (1, {"ad": 1})}
    else:  # the two texts straddle midnight in Seoul
        assert texts == {str(delivered): (1, {}), str(blocked): (0, {"ad": 1})}


def test_deleting_the_account_deletes_its_blocks(api: Api) -> None:
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    assert api.client.put(f"/v1/calls/{record(api, number)}/block", headers=me).status_code == 200
    assert api.client.delete("/v1/me", headers=me).status_code == 200
    with api.core.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(NumberBlock)) == 0


def test_changes_commit_without_a_bridge(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(api.client.app.state, "bridge")  # type: ignore[attr-defined]
    api.pool()
    me = api.driver(ALICE)
    number = api.numbered_vehicle(me)
    body = {"quiet_start": "23:00", "quiet_end": "06:00"}
    r = api.client.put(f"/v1/numbers/{number}/preferences/quiet-hours", json=body, headers=me)
    assert r.status_code == 200
    assert api.client.put(f"/v1/calls/{record(api, number)}/block", headers=me).status_code == 200
    assert replica(api)[0] == {SafeNumber.parse(number).digits: frozenset({REF_A})}
