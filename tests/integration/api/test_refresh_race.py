"""One refresh token presented by many clients at once: exactly one rotation wins.

Real concurrent requests against a real server (uvicorn, its worker threads, the
database's own locking): the row is read ``FOR UPDATE``, so the first rotation marks
the token used and every other request sees a used token, which is a replay and
revokes the whole sign-in. Without the lock, PostgreSQL (READ COMMITTED) lets two
requests read the token unused and both rotate it. On SQLite every unit of work
takes the write lock up front (BEGIN IMMEDIATE), which serialises them the same way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import httpx
import pytest
import redis

from app_api.settings import Settings
from app_api.wiring import Core
from proxy.bridge.senders import LoggingTextSender
from tests.browser.conftest import Server, run_server

CLIENTS = 8
ROUNDS = 4


@pytest.fixture
def server(settings: Settings, core: Core, redis_url: str) -> Iterator[Server]:
    redis.Redis.from_url(redis_url).flushdb()
    relaxed = settings.model_copy(update={"otp_per_phone_per_hour": 100})
    yield from run_server(relaxed, core, LoggingTextSender())


def sign_in(server: Server, phone: str) -> str:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.post("/v1/auth/code", json={"phone": phone}).status_code == 202
        match = re.search(r"\d{6}", server.sender.sent[-1][1])
        assert match
        r = client.post("/v1/auth/code/verify", json={"phone": phone, "code": match.group()})
        assert r.status_code == 200, r.text
        return str(r.json()["refresh_token"])


def refresh_all_at_once(url: str, token: str) -> list[httpx.Response]:
    """CLIENTS connections, each opened first, then released together on a barrier."""
    barrier = threading.Barrier(CLIENTS)
    answers: list[httpx.Response | None] = [None] * CLIENTS

    def one(i: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            client.get("/healthz")  # connect before the start line
            barrier.wait()
            answers[i] = client.post("/v1/auth/refresh", json={"refresh_token": token})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_concurrent_refreshes_of_one_token_rotate_it_once(server: Server) -> None:
    for round_ in range(ROUNDS):
        token = sign_in(server, f"010-2345-{6780 + round_:04d}")
        answers = refresh_all_at_once(server.url, token)

        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] + [401] * (CLIENTS - 1), statuses
        assert {a.json()["title"] for a in answers if a.status_code == 401} == {"token-rejected"}
        # The others presented a used token: a replay, so the winner's new token is
        # revoked with the rest of the sign-in.
        [winner] = [a for a in answers if a.status_code == 200]
        again = httpx.post(
            f"{server.url}/v1/auth/refresh",
            json={"refresh_token": winner.json()["refresh_token"]},
            timeout=10,
        )
        assert again.status_code == 401
