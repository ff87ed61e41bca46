"""Stored Idempotency-Key answers are kept for retries, then forgotten."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app_api.main import sweep_once
from app_api.models import IdempotencyKey
from app_api.wiring import Core
from tests.conftest import Clock
from tests.integration.api.conftest import Api


def _keys(core: Core) -> set[str]:
    with core.sessions() as s:
        return set(s.scalars(select(IdempotencyKey.key)))


def _issue_with_key(api: Api, phone: str, plate: str, key: str) -> None:
    me = api.driver(phone)
    v = api.client.post("/v1/vehicles", json={"plate": plate}, headers=me).json()
    r = api.client.post(
        f"/v1/vehicles/{v['id']}/number", json={}, headers={**me, "Idempotency-Key": key}
    )
    assert r.status_code == 201, r.text


def test_the_sweep_forgets_answers_past_the_retention(api: Api, clock: Clock) -> None:
    api.pool()
    _issue_with_key(api, "010-2345-6789", "12가3456", "old")
    _issue_with_key(api, "010-2345-6789", "34나5678", "new")
    with api.core.sessions.begin() as s:  # as if "new" had come two hours later
        s.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == "new")
            .values(created_at=clock.now + timedelta(hours=2))
        )
    clock.advance(hours=24, minutes=30)  # "old" is 24.5 h old, "new" 22.5 h
    assert sweep_once(api.core)[1] == 1
    assert _keys(api.core) == {"new"}
    clock.advance(hours=2)
    assert sweep_once(api.core)[1] == 1
    assert _keys(api.core) == set()


def test_account_deletion_forgets_the_accounts_answers(api: Api) -> None:
    api.pool()
    _issue_with_key(api, "010-2345-6789", "12가3456", "mine")
    _issue_with_key(api, "010-9876-5432", "34나5678", "theirs")
    me = api.driver("010-2345-6789")
    assert api.client.delete("/v1/me", headers=me).status_code == 200
    assert _keys(api.core) == {"theirs"}
