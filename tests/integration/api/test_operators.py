"""Agreements gate issuance; pools, search with cursors, statistics and the audit CSV."""

from __future__ import annotations

import csv
import io

from tests.integration.api.conftest import Api

AGREEMENT = {
    "name": "Gangnam pilot",
    "district": "Gangnam-gu",
    "partner": "Example Telecom",
    "term_start": "2020-01-01",
    "term_end": "2099-12-31",
    "quota": 2,
    "eligibility": "residents of Gangnam-gu",
}


def test_issuance_follows_the_agreement_status_and_quota(api: Api) -> None:
    admin = api.operator("admin", "district_admin")
    c = api.client
    a = c.post("/v1/ops/agreements", json=AGREEMENT, headers=admin).json()
    assert a["status"] == "draft"
    pool = {"prefix": "0505", "range_from": "0", "range_to": "999", "agreement_id": a["id"]}
    assert c.post("/v1/ops/pools", json=pool, headers=admin).json()["agreement_id"] == a["id"]
    drivers = [api.driver(f"010-5555-000{i}") for i in range(3)]
    v = [c.post("/v1/vehicles", json={"plate": "12가3456"}, headers=d).json() for d in drivers]

    def issue(i: int):
        return c.post(f"/v1/vehicles/{v[i]['id']}/number", json={}, headers=drivers[i])

    r = issue(0)
    assert r.status_code == 409
    assert r.json()["title"] == "agreement-not-active"
    assert "draft" in r.json()["detail"]
    patch = c.patch(f"/v1/ops/agreements/{a['id']}", json={"status": "active"}, headers=admin)
    assert patch.json()["status"] == "active"
    assert issue(0).status_code == 201
    assert issue(1).status_code == 201
    r = issue(2)
    assert r.status_code == 409
    assert r.json()["title"] == "agreement-quota-reached"
    shown = c.get(f"/v1/ops/agreements/{a['id']}", headers=admin).json()
    assert shown["live_numbers"] == 2
    c.patch(f"/v1/ops/agreements/{a['id']}", json={"status": "suspended"}, headers=admin)
    c.patch(f"/v1/ops/agreements/{a['id']}", json={"quota": 10}, headers=admin)
    assert issue(2).json()["title"] == "agreement-not-active"
    ended = c.patch(f"/v1/ops/agreements/{a['id']}", json={"status": "ended"}, headers=admin)
    assert ended.status_code == 200
    back = c.patch(f"/v1/ops/agreements/{a['id']}", json={"status": "active"}, headers=admin)
    assert back.status_code == 409
    assert back.json()["title"] == "invalid-transition"
    bad = dict(AGREEMENT, term_end="2019-01-01")
    r = c.post("/v1/ops/agreements", json=bad, headers=admin)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "term_end"


def test_search_pages_with_a_cursor_and_masks_phones(api: Api) -> None:
    api.pool()
    auditor = api.operator("audit", "auditor")
    for i in range(5):
        d = api.driver(f"010-7777-000{i}")
        api.numbered_vehicle(d)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/ops/numbers", params=params, headers=auditor).json()
        seen += [n["safe_number"] for n in page["items"]]
        assert all(n["owner_phone"].startswith("010-****-") for n in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen)
    one = api.client.get(f"/v1/ops/numbers/{seen[0]}", headers=auditor).json()
    assert one["owner_phone"].startswith("010-****-")
    bad = api.client.get("/v1/ops/numbers", params={"cursor": "!!"}, headers=auditor)
    assert bad.status_code == 422


def test_operator_pause_release_stats_and_audit_csv(api: Api) -> None:
    api.pool()
    admin = api.operator("admin", "district_admin")
    d = api.driver("010-2345-6789")
    number = api.numbered_vehicle(d)
    c = api.client
    assert c.post(f"/v1/ops/numbers/{number}/pause", headers=admin).json()["status"] == "paused"
    c.delete("/v1/me", headers=d)
    stats = c.get("/v1/ops/stats", headers=admin).json()
    today = stats[-1]
    assert today["numbers_issued"] == 1
    assert today["numbers_active"] == 0
    assert (today["calls_bridged"], today["calls_blocked"]) == (0, 0)  # no call records
    assert (today["texts_delivered"], today["texts_blocked"]) == (0, {})  # no text records
    r = c.get("/v1/ops/audit.csv", headers=admin)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    actions = [row["action"] for row in rows]
    assert "operator.signed_in" in actions
    assert "number.paused" in actions
    assert "owner.destroyed" in actions  # the destruction receipt
    paused = next(row for row in rows if row["action"] == "number.paused")
    assert paused["actor"].startswith("operator:")
    assert "6789" not in r.text
    assert "+82" not in r.text
    page = c.get("/v1/ops/audit", params={"limit": 2}, headers=admin).json()
    assert len(page["items"]) == 2
    assert page["next_cursor"]
