"""An API app on the real migrated database and a real Redis; no Asterisk (AMI port closed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from fastapi.testclient import TestClient

from app_api.auth.operators import OperatorService
from app_api.main import create_app
from app_api.settings import Settings
from app_api.wiring import Core
from proxy.bridge.senders import LoggingTextSender
from tests.conftest import free_port

PASSWORD = "correct horse battery staple"


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ami_port": free_port()})


@pytest.fixture
def sender() -> LoggingTextSender:
    return LoggingTextSender()


@pytest.fixture
def client(
    api_settings: Settings, core: Core, sender: LoggingTextSender, redis_url: str
) -> Iterator[TestClient]:
    redis.Redis.from_url(redis_url).flushdb()  # rate-limit and code state from other tests
    with TestClient(create_app(api_settings, core=core, text_sender=sender)) as c:
        yield c


@dataclass
class Api:
    """Test helper: sign people in and call the API as them."""

    client: TestClient
    core: Core
    sender: LoggingTextSender

    def code_for(self, phone: str) -> str:
        r = self.client.post("/v1/auth/code", json={"phone": phone})
        assert r.status_code == 202, r.text
        body = self.sender.sent[-1][1]
        match = re.search(r"\d{6}", body)
        assert match
        return match.group()

    def driver(self, phone: str) -> dict[str, str]:
        code = self.code_for(phone)
        r = self.client.post("/v1/auth/code/verify", json={"phone": phone, "code": code})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def operator(self, username: str, role: str) -> dict[str, str]:
        with self.core.sessions.begin() as session:
            OperatorService(session, self.core.clock, "test").create(username, PASSWORD, role)
        r = self.client.post("/v1/auth/operator", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def pool(self, lo: str = "00000000", hi: str = "00009999", prefix: str = "0504") -> None:
        with self.core.numbers() as svc:
            svc.add_pool(prefix, lo, hi)

    def numbered_vehicle(
        self, headers: dict[str, str], plate: str = "12가3456", prefix: str | None = None
    ) -> str:
        v = self.client.post("/v1/vehicles", json={"plate": plate}, headers=headers)
        assert v.status_code == 201, v.text
        body = {} if prefix is None else {"prefix": prefix}
        n = self.client.post(f"/v1/vehicles/{v.json()['id']}/number", json=body, headers=headers)
        assert n.status_code == 201, n.text
        number: str = n.json()["safe_number"]
        return number


@pytest.fixture
def api(client: TestClient, core: Core, sender: LoggingTextSender) -> Api:
    return Api(client, core, sender)
