"""Several ``safenum serve`` processes on one node, API only, and the node's own bridge.

Two real ``safenum serve`` processes with ``SAFENUM_SERVE_BRIDGE=false`` (as behind an
HTTP load balancer) and one real ``safenum bridge`` share the session's Asterisk, the
database and Redis, in production mode: the service's own texts go out through
Asterisk to a UDP inbox behind the trunk. A request may land on either serve; what
needs Asterisk after commit (a route, a released text, a deletion) is done by the one
bridge, through the outbox.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from pbx_sipp import DRIVER_E164, DRIVER_NATIONAL, Pbx
from serve_process import Service
from sip_text import Inbox, send_text, texts_before_marker
from test_pbx_production_texts import card_token
from test_pbx_serve import route_reaches

from app_api.db import make_engine, make_session_factory
from app_api.routers.public import MOVE_CAR_TEXT
from numbering.outbox import Outbox
from proxy.ami import AmiClient
from tests.conftest import free_port, wait_until

DRIVER = "010-1234-5678"  # DRIVER_NATIONAL of the SIPp scenarios; fictitious
TEXTER = "01077776666"
AD_TEXT = "(광고) 바카라 카지노 첫충 30% 즉시지급 → bit.ly/xx 무료거부 0801234567"
NODE = "node-a"


class Node:
    """The session's Asterisk with two API-only serves and one ``safenum bridge``."""

    def __init__(self, pbx: Pbx, env: dict[str, str]) -> None:
        self.pbx = pbx
        self.env = env
        self.serves = [self._serve(f"serve-{n}") for n in (1, 2)]
        self.bridge: subprocess.Popen[bytes] | None = None

    def _serve(self, name: str) -> Service:
        """A serve under a name of its own: a bridge it ran would register under it."""
        port = free_port()
        env = {**self.env, "SAFENUM_HTTP_PORT": str(port), "SAFENUM_NODE_NAME": name}
        return Service(env, f"http://127.0.0.1:{port}")

    def start_bridge(self, log: Path) -> None:
        """``safenum bridge``; returns once it has registered (its first resync is done)."""
        with log.open("ab") as out:
            self.bridge = subprocess.Popen(
                [sys.executable, "-c", "from app_api.cli import main; main()", "bridge"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # The registration read from the database here: a ``bridges list`` per poll
        # would start a CLI process every half second while the bridge starts.
        # Read-only sessions, one per poll: on SQLite a writing one would hold the write
        # turn the bridge needs to register.
        engine = make_engine(self.env["SAFENUM_DATABASE_URL"])
        sessions = make_session_factory(engine, read_only=True)

        def registered() -> bool:
            with sessions() as session:
                return NODE in {n.name for n in Outbox(session).nodes()}

        try:
            wait_until(
                lambda: registered() or self.bridge.poll() is not None,  # type: ignore[union-attr]
                timeout=60,
                interval=0.2,
                what="safenum bridge registered",
            )
        finally:
            engine.dispose()
        assert self.bridge.poll() is None, log.read_text()

    def stop(self) -> None:
        for serve in self.serves:
            serve.stop()
        if self.bridge is not None:
            self.bridge.send_signal(signal.SIGTERM)
            self.bridge.wait(15)

    def bridges(self) -> list[str]:
        listed = self.serves[0].cli("bridges", "list")
        return [str(b["name"]) for b in listed["bridges"]]  # type: ignore[attr-defined]

    def relayed(self, inbox: Inbox) -> list[bytes]:
        """Bodies the phones got so far (a marker through Asterisk's queue first)."""

        async def flush() -> list[bytes]:
            async with AmiClient(self.pbx.ami_settings()) as ami:
                await ami.wait_connected(5)
                trunk = f"127.0.0.1:{self.pbx.config.trunk_port}"
                return [t.body for t in await texts_before_marker(inbox, ami, trunk)]

        return asyncio.run(flush())


@pytest.fixture
def node(pbx: Pbx, db_url: str, redis_url: str, tmp_path: Path) -> Iterator[Node]:
    redis.Redis.from_url(redis_url).flushdb()  # rate limits and histories of other tests
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
        "SAFENUM_NODE_NAME": NODE,
        "SAFENUM_SERVE_BRIDGE": "false",
        "SAFENUM_OUTBOX_POLL_SECONDS": "0.5",
        "SAFENUM_LOG_LEVEL": "INFO",
    }
    made = Node(pbx, env)
    made.serves[0].cli("numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
    try:
        for serve in made.serves:  # the three processes start together
            serve.launch()
        made.start_bridge(tmp_path / "bridge.log")
        for serve in made.serves:
            serve.wait_ready()
        yield made
    finally:
        made.stop()


def test_two_api_only_serves_and_one_bridge_do_each_thing_once(pbx: Pbx, node: Node) -> None:
    a, b = (httpx.Client(base_url=s.url, timeout=20) for s in node.serves)
    with Inbox(pbx.config.trunk_port) as inbox:
        # Signed in across the two: the code is texted by A, checked by B (Redis).
        assert a.post("/v1/auth/code", json={"phone": DRIVER}).status_code == 202
        [code_text] = inbox.wait(1)
        assert code_text.to_user == DRIVER_NATIONAL
        code = re.search(rb"\b(\d{6})\b", code_text.body)
        assert code, code_text.body
        signed_in = b.post("/v1/auth/code/verify", json={"phone": DRIVER, "code": code[1].decode()})
        assert signed_in.status_code == 200, signed_in.text
        me = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

        # A number issued through B reaches AstDB through the bridge process.
        vehicle = b.post("/v1/vehicles", json={"plate": "12가3456"}, headers=me)
        assert vehicle.status_code == 201, vehicle.text
        issued = a.post(f"/v1/vehicles/{vehicle.json()['id']}/number", json={}, headers=me)
        assert issued.status_code == 201, issued.text
        number = issued.json()["safe_number"].replace("-", "")
        wait_until(lambda: route_reaches(pbx, number, DRIVER_E164), 30, what="the route in AstDB")
        # Only the bridge keeps a replica: neither serve registered one of its own.
        assert node.bridges() == [NODE]

        # An ad is held by the bridge's relay; released through A, it reaches the phone once.
        assert send_text(pbx.config.sip_port, number, TEXTER, AD_TEXT.encode()) == 202

        def held() -> int | None:
            texts = b.get("/v1/texts", headers=me).json()["items"]
            return next((t["id"] for t in texts if t["status"] == "blocked"), None)

        text_id = wait_until(held, timeout=15, what="the ad held for review", interval=0.2)
        released = a.post(f"/v1/texts/{text_id}/release", headers=me)
        assert released.status_code == 202, released.text

        def delivered() -> bool:
            texts = b.get("/v1/texts", headers=me).json()["items"]
            return any(t["id"] == text_id and t["status"] == "released" for t in texts)

        wait_until(delivered, timeout=15, what="the released ad marked sent", interval=0.2)
        assert node.relayed(inbox).count(AD_TEXT.encode()) == 1

        # A move-car request through B goes out from the safe number, once.
        card = b.get(f"/v1/numbers/{number}/card.png", headers=me)
        assert card.status_code == 200, card.text
        token = card_token(node.env["SAFENUM_DATABASE_URL"], number)
        sent = b.post(f"/p/{token}/move-car", headers={"Idempotency-Key": str(uuid.uuid4())})
        assert sent.status_code == 202, sent.text
        assert node.relayed(inbox).count(MOVE_CAR_TEXT.encode()) == 1
        [move] = [t for t in inbox.texts() if t.body == MOVE_CAR_TEXT.encode()]
        assert (move.to_user, move.from_user) == (DRIVER_NATIONAL, number)

    # Deleting the account through A waits for the bridge, in its own process.
    gone = a.delete("/v1/me", headers=me)
    assert gone.status_code == 200, gone.text
    assert (gone.json()["telephony"], gone.json()["telephony_pending"]) == ("removed", [])
    wait_until(lambda: route_reaches(pbx, number, None), 30, what="the route gone from AstDB")
