"""The production text path end to end: ``safenum serve`` built with
SAFENUM_ENV=production against the real Asterisk, phones behind the trunk.

A driver signs in with the code the service texts to their phone (MessageSend), takes
a number, opens its parking card (which mints the card's public token), and a passer-by
asks for the car to be moved on the public page: the driver's SIPp phone receives the
request from the 050 number. Nothing in the chain is swapped for a test double.
"""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import redis
from pbx_sipp import DRIVER_NATIONAL, Pbx
from serve_process import Service
from sip_text import Inbox
from sqlalchemy import text

from app_api.db import make_engine
from app_api.routers.public import MOVE_CAR_TEXT

DRIVER = "010-1234-5678"  # DRIVER_NATIONAL of the SIPp scenarios; fictitious


@pytest.fixture
def production(pbx: Pbx, service: Service, redis_url: str) -> Service:
    """The tier's ``safenum serve`` built with SAFENUM_ENV=production, texting through
    the session's Asterisk to the phones behind its trunk."""
    redis.Redis.from_url(redis_url).flushdb()  # rate limits of other tests
    service.env.update(
        {
            "SAFENUM_ENV": "production",
            "SAFENUM_SIP_PORT": str(pbx.config.sip_port),
            "SAFENUM_TRUNK_ADDR": f"127.0.0.1:{pbx.config.trunk_port}",
        }
    )
    service.cli("numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
    service.start()
    return service


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
    pbx: Pbx, production: Service, db_url: str
) -> None:
    api = httpx.Client(base_url=production.url, timeout=15)

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
