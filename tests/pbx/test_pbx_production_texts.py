"""The production text path end to end: ``safenum serve`` built with
SAFENUM_ENV=production against the real Asterisk, phones behind the trunk.

A driver signs in with the code the service texts to their phone (MessageSend), takes
a number, opens its parking card (which mints the card's public token), and a passer-by
asks for the car to be moved on the public page: the driver's SIPp phone receives the
request from the 050 number. Nothing in the chain is swapped for a test double.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from pbx_sipp import DRIVER_NATIONAL, Pbx
from sip_text import Inbox
from sqlalchemy import text

from app_api.db import make_engine
from app_api.routers.public import MOVE_CAR_TEXT
from tests.conftest import free_port, wait_until

DRIVER = "010-1234-5678"  # DRIVER_NATIONAL of the SIPp scenarios; fictitious


class Service:
    def __init__(self, env: dict[str, str], url: str) -> None:
        self.env = env
        self.url = url
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-c", "from app_api.cli import main; main()", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from app_api.cli import main; main()", "serve"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self.ready, timeout=30, what="safenum serve (production) /readyz")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)


@pytest.fixture
def service(pbx: Pbx, db_url: str, redis_url: str, tmp_path: Path) -> Iterator[Service]:
    redis.Redis.from_url(redis_url).flushdb()  # rate limits of other tests
    port = free_port()
    env = {
        **os.environ,
        "SAFENUM_ENV": "production",
        "SAFENUM_DATA_DIR": str(tmp_path),
        "SAFENUM_DATABASE_URL": db_url,
        "SAFENUM_REDIS_URL": redis_url,
        "SAFENUM_AMI_PORT": str(pbx.config.ami_port),
        "SAFENUM_AMI_SECRET": pbx.config.ami_secret,
        "SAFENUM_SIP_PORT": str(pbx.config.sip_port),
        "SAFENUM_TRUNK_ADDR": f"127.0.0.1:{pbx.config.trunk_port}",
        "SAFENUM_HTTP_PORT": str(port),
        "SAFENUM_LOG_LEVEL": "WARNING",
    }
    svc = Service(env, f"http://127.0.0.1:{port}")
    svc.cli("db", "upgrade")
    svc.cli("numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
    svc.start()
    yield svc
    svc.stop()


def card_token(db_url: str, number: str) -> str:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            token = conn.execute(
                text("SELECT card_token FROM numbers WHERE number = :n"), {"n": number}
            ).scalar_one()
    finally:
        engine.dispose()
    assert token
    return str(token)


def test_a_move_car_request_reaches_the_drivers_phone_from_the_safe_number(
    pbx: Pbx, service: Service, db_url: str
) -> None:
    api = httpx.Client(base_url=service.url, timeout=15)

    # The sign-in code goes out through Asterisk to the driver's phone.
    with Inbox(pbx.config.trunk_port) as inbox:
        assert api.post("/v1/auth/code", json={"phone": DRIVER}).status_code == 202
        [code_text] = inbox.wait(1)
    assert code_text.to_user == DRIVER_NATIONAL
    match = re.search(rb"\b(\d{6})\b", code_text.body)
    assert match, code_text.body
    signed_in = api.post(
        "/v1/auth/code/verify", json={"phone": DRIVER, "code": match.group(1).decode()}
    )
    assert signed_in.status_code == 200, signed_in.text
    me = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    vehicle = api.post("/v1/vehicles", json={"plate": "12가3456"}, headers=me)
    assert vehicle.status_code == 201, vehicle.text
    issued = api.post(f"/v1/vehicles/{vehicle.json()['id']}/number", json={}, headers=me)
    assert issued.status_code == 201, issued.text
    number = issued.json()["safe_number"].replace("-", "")
    card = api.get(f"/v1/numbers/{number}/card.png", headers=me)
    assert card.status_code == 200, card.text
    token = card_token(db_url, number)

    # A passer-by scans the card and asks for the car to be moved.
    with pbx.sipp.driver("driver_message", timeout=20) as phone:
        sent = api.post(f"/p/{token}/move-car", headers={"Idempotency-Key": str(uuid.uuid4())})
        assert sent.status_code == 202, sent.text
    run = phone.run
    assert run is not None
    assert run.returncode == 0, run.log_text
    [message] = [m.text for m in run.received if m.first_line.startswith("MESSAGE ")]
    assert message.startswith(f"MESSAGE sip:{DRIVER_NATIONAL}@127.0.0.1:{pbx.config.trunk_port} ")
    from_line = next(ln for ln in message.splitlines() if ln.startswith("From:"))
    assert f"<sip:{number}@" in from_line
    assert MOVE_CAR_TEXT in message
