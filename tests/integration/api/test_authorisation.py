"""Nobody reaches what is not theirs: every route tried with the wrong token and role."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app_api.main import create_app
from app_api.settings import Settings
from calls.records import CallRecords
from numbering.types import SafeNumber
from proxy.state import CallFacts, State
from tests.integration.api.conftest import Api

OPEN = {"/healthz", "/readyz", "/metrics", "/p/{token}", "/p/{token}/move-car"}
DRIVER_WRITE = ("renew", "pause", "resume", "release")


def routes() -> list[tuple[str, str]]:
    spec = create_app(Settings(env="test")).openapi()
    return sorted(
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if path not in OPEN and not path.startswith("/v1/auth/")
    )


ROUTES = routes()


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> int:
    path = path.replace("{number}", "0504-0000-0001").replace("{vehicle_id}", "1")
    path = path.replace("{agreement_id}", "1").replace("{record_id}", "1")
    path = path.replace("{block_id}", "1")
    return api.client.request(method, path, json={}, headers=headers).status_code


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_protected_route_needs_a_token(api: Api, method: str, path: str) -> None:
    assert _call(api, method, path, {}) == 401
    assert _call(api, method, path, {"Authorization": "Bearer not-a-jwt"}) == 401


def test_a_driver_cannot_touch_another_drivers_number_vehicle_or_card(api: Api) -> None:
    api.pool()
    alice = api.driver("010-1111-2222")
    bob = api.driver("010-3333-4444")
    number = api.numbered_vehicle(alice)
    vehicle_id = api.client.get("/v1/vehicles", headers=alice).json()[0]["id"]
    for suffix in ("", "/card.png", "/card.pdf"):
        r = api.client.get(f"/v1/numbers/{number}{suffix}", headers=bob)
        assert r.status_code == 404, suffix
    for verb in DRIVER_WRITE:
        r = api.client.post(f"/v1/numbers/{number}/{verb}", headers=bob)
        assert r.status_code == 404, verb
    r = api.client.post(f"/v1/vehicles/{vehicle_id}/number", json={}, headers=bob)
    assert r.status_code == 404
    assert api.client.get("/v1/numbers", headers=bob).json() == []
    assert api.client.get("/v1/vehicles", headers=bob).json() == []
    assert api.client.get("/v1/me", headers=bob).json()["numbers"] == []
    # Alice's number is untouched.
    assert api.client.get(f"/v1/numbers/{number}", headers=alice).json()["status"] == "active"
    # Bob deleting his account leaves Alice's alone.
    assert api.client.delete("/v1/me", headers=bob).json()["numbers_released"] == 0
    assert api.client.get(f"/v1/numbers/{number}", headers=alice).status_code == 200


def test_a_driver_cannot_see_or_change_another_drivers_preferences_records_or_blocks(
    api: Api,
) -> None:
    api.pool()
    alice = api.driver("010-1111-2222")
    bob = api.driver("010-3333-4444")
    number = api.numbered_vehicle(alice)
    bobs = api.numbered_vehicle(bob, plate="34나5678")
    c = api.client
    prefs = f"/v1/numbers/{number}/preferences"
    quiet = {"quiet_start": "22:00", "quiet_end": "07:00"}
    assert c.put(f"{prefs}/quiet-hours", json=quiet, headers=alice).status_code == 200
    call_id = _call_record(api, number)
    block = c.put(f"/v1/calls/{call_id}/block", headers=alice).json()

    # Bob gets 404 everywhere, exactly like for a number, record or block that is not there.
    unknown = "0504-9999-9999"  # outside the pool: never issued
    for target in (number, unknown):
        base = f"/v1/numbers/{target}/preferences"
        assert c.get(base, headers=bob).status_code == 404
        assert c.put(f"{base}/quiet-hours", json=quiet, headers=bob).status_code == 404
        assert c.delete(f"{base}/quiet-hours", headers=bob).status_code == 404
        r = c.put(f"{base}/move-car-text", json={"enabled": False}, headers=bob)
        assert r.status_code == 404
        assert c.get("/v1/calls", params={"number": target}, headers=bob).status_code == 404
    for record_id in (call_id, call_id + 1000):
        assert c.put(f"/v1/calls/{record_id}/block", headers=bob).status_code == 404
        assert c.delete(f"/v1/calls/{record_id}/block", headers=bob).status_code == 404
    for block_id in (block["id"], block["id"] + 1000):
        assert c.delete(f"/v1/blocks/{block_id}", headers=bob).status_code == 404
    assert c.get("/v1/calls", headers=bob).json()["items"] == []
    assert c.get("/v1/blocks", headers=bob).json() == []
    assert c.get(f"/v1/numbers/{bobs}/preferences", headers=bob).status_code == 200

    # Alice's settings and block are untouched.
    assert c.get(prefs, headers=alice).json()["quiet_start"] == "22:00"
    assert [b["id"] for b in c.get("/v1/blocks", headers=alice).json()] == [block["id"]]
    assert c.get("/v1/calls", headers=alice).json()["items"][0]["caller_blocked"] is True


def _call_record(api: Api, number: str) -> int:
    start = api.core.clock() + timedelta(minutes=1)
    facts = CallFacts(
        "auth-test.1",
        number=SafeNumber.parse(number).digits,
        caller_ref="e" * 20,
        caller_key="f" * 20,
        started=start,
        ended=start + timedelta(seconds=9),
        dial_status="NOANSWER",
        state=State.ENDED,
    )
    with api.core.sessions.begin() as session:
        CallRecords(session).add(facts, "events")
    with api.core.sessions.begin() as session:
        [row] = CallRecords(session).for_numbers([SafeNumber.parse(number)])
    return row.id


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[1].startswith("/v1/ops")])
def test_drivers_cannot_use_operator_routes(api: Api, method: str, path: str) -> None:
    assert _call(api, method, path, api.driver("010-1111-2222")) == 403


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if not r[1].startswith("/v1/ops")])
def test_operators_cannot_use_driver_routes(api: Api, method: str, path: str) -> None:
    assert _call(api, method, path, api.operator("root", "district_admin")) == 403


def test_roles_limit_operators(api: Api) -> None:
    auditor = api.operator("audit", "auditor")
    partner = api.operator("partner", "partner_admin")
    admin = api.operator("admin", "district_admin")
    agreement = {
        "name": "pilot",
        "district": "Gangnam-gu",
        "partner": "Telco",
        "term_start": "2020-01-01",
        "term_end": "2099-12-31",
        "quota": 10,
    }
    pool = {"prefix": "0504", "range_from": "0", "range_to": "99"}
    c = api.client
    for who in (auditor, partner):
        assert c.post("/v1/ops/agreements", json=agreement, headers=who).status_code == 403
        assert c.get("/v1/ops/operators", headers=who).status_code == 403
    assert c.post("/v1/ops/pools", json=pool, headers=auditor).status_code == 403
    assert c.post("/v1/ops/numbers/0504-0000-0001/pause", headers=auditor).status_code == 403
    assert c.post("/v1/ops/numbers/0504-0000-0001/release", headers=auditor).status_code == 403
    block = {"caller_key": "a" * 20}
    assert c.post("/v1/ops/blocks", json=block, headers=auditor).status_code == 403
    assert c.delete("/v1/ops/blocks/1", headers=auditor).status_code == 403
    assert c.post("/v1/ops/blocks", json=block, headers=partner).status_code == 201
    assert c.delete("/v1/ops/blocks/1", headers=admin).status_code == 204
    assert c.post("/v1/ops/pools", json=pool, headers=partner).status_code == 201
    assert c.post("/v1/ops/agreements", json=agreement, headers=admin).status_code == 201
    for who in (auditor, partner, admin):  # everyone reads
        for path in (
            "/v1/ops/agreements",
            "/v1/ops/pools",
            "/v1/ops/numbers",
            "/v1/ops/stats",
            "/v1/ops/blocks",
        ):
            assert c.get(path, headers=who).status_code == 200, path
        assert c.get("/v1/ops/audit.csv", headers=who).status_code == 200
        assert c.get("/v1/ops/calls.csv", headers=who).status_code == 200
