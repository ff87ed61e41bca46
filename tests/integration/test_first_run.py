"""The first-run path the README and ``make run`` print: create the first district
admin with the CLI, then sign in to the console with it."""

from __future__ import annotations

import redis
from fastapi.testclient import TestClient

from app_api.main import create_app
from app_api.settings import Settings
from app_api.wiring import Core
from proxy.bridge.senders import LoggingTextSender
from tests.conftest import free_port
from tests.integration.test_cli import ok, refused

PASSWORD = "a long first-run passphrase"


def test_first_district_admin_from_the_cli_signs_in(settings: Settings) -> None:
    ok(settings, "db", "upgrade")
    env = {"SAFENUM_NEW_PASSWORD": PASSWORD}
    args = ("operators", "create", "--username", "admin", "--role", "district_admin")
    created = ok(settings, *args, env=env)
    assert (created["username"], created["role"]) == ("admin", "district_admin")
    assert "exists" in refused(settings, *args, env=env)  # one line, exit 2

    redis.Redis.from_url(settings.redis_url).flushdb()
    api = settings.model_copy(update={"ami_port": free_port()})
    core = Core.build(api)
    try:
        with TestClient(create_app(api, core=core, text_sender=LoggingTextSender())) as client:
            r = client.post("/v1/auth/operator", json={"username": "admin", "password": PASSWORD})
            assert r.status_code == 200, r.text
            me = {"Authorization": f"Bearer {r.json()['access_token']}"}
            assert client.get("/v1/ops/agreements", headers=me).status_code == 200
    finally:
        core.close()
