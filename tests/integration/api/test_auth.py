"""Sign-in codes, rate limits in real Redis, token rotation and expiry."""

from __future__ import annotations

import redis

from tests.integration.api.conftest import PASSWORD, Api

PHONE = "010-2345-6789"


def test_wrong_codes_are_limited_per_code(api: Api) -> None:
    code = api.code_for(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        r = api.client.post("/v1/auth/code/verify", json={"phone": PHONE, "code": wrong})
        assert r.status_code == 400
        assert r.json()["title"] == "code-rejected"
        assert f"{left} tries left" in r.json()["detail"]
    r = api.client.post("/v1/auth/code/verify", json={"phone": PHONE, "code": code})
    assert r.status_code == 400  # the right code no longer works after 5 wrong tries
    assert "too many" in r.json()["detail"]


def test_code_is_single_use_and_expires(api: Api, redis_url: str) -> None:
    code = api.code_for(PHONE)
    keys = redis.Redis.from_url(redis_url).keys("safenum:otp:*")
    assert len(keys) == 1
    assert b"6789" not in keys[0]
    assert 0 < redis.Redis.from_url(redis_url).ttl(keys[0]) <= 180
    ok = api.client.post("/v1/auth/code/verify", json={"phone": PHONE, "code": code})
    assert ok.status_code == 200
    again = api.client.post("/v1/auth/code/verify", json={"phone": PHONE, "code": code})
    assert again.status_code == 400


def test_code_requests_are_rate_limited_per_phone(api: Api) -> None:
    for _ in range(5):
        assert api.client.post("/v1/auth/code", json={"phone": PHONE}).status_code == 202
    r = api.client.post("/v1/auth/code", json={"phone": PHONE})
    assert r.status_code == 429
    assert r.json()["title"] == "rate-limited"
    assert int(r.headers["Retry-After"]) > 0
    other = api.client.post("/v1/auth/code", json={"phone": "010-9999-8888"})
    assert other.status_code == 202


def test_refresh_rotates_and_a_replayed_token_revokes_the_sign_in(api: Api) -> None:
    code = api.code_for(PHONE)
    first = api.client.post("/v1/auth/code/verify", json={"phone": PHONE, "code": code}).json()
    second = api.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    new = second.json()
    replay = api.client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["title"] == "token-rejected"
    # The replay revoked the family: the token issued by the rotation is dead too.
    r = api.client.post("/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert r.status_code == 401


def test_sign_out_revokes(api: Api) -> None:
    code = api.code_for(PHONE)
    t = api.client.post("/v1/auth/code/verify", json={"phone": PHONE, "code": code}).json()
    headers = {"Authorization": f"Bearer {t['access_token']}"}
    out = api.client.post(
        "/v1/auth/sign-out", json={"refresh_token": t["refresh_token"]}, headers=headers
    )
    assert out.status_code == 204
    r = api.client.post("/v1/auth/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status_code == 401


def test_access_tokens_expire_and_hold_no_phone(api: Api) -> None:
    import base64
    import json

    me = api.driver(PHONE)
    payload = me["Authorization"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "6789" not in json.dumps(claims)
    assert api.client.get("/v1/me", headers=me).status_code == 200
    api.core.clock.advance(minutes=16)  # type: ignore[attr-defined]
    r = api.client.get("/v1/me", headers=me)
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_operator_password_sign_in(api: Api) -> None:
    api.operator("admin", "district_admin")
    bad = api.client.post("/v1/auth/operator", json={"username": "admin", "password": "nope"})
    assert bad.status_code == 401
    nobody = api.client.post("/v1/auth/operator", json={"username": "x", "password": PASSWORD})
    assert nobody.status_code == 401
    assert bad.json()["detail"] == nobody.json()["detail"]
