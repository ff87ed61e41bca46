"""A real server (uvicorn on a free port, SQLite, the session Redis, no Asterisk) and
Debian's Chromium driven by Playwright; browser tests skip when /usr/bin/chromium is missing."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis
import uvicorn
from playwright import sync_api

from app_api.auth.operators import OperatorService
from app_api.main import create_app
from app_api.settings import Settings
from app_api.wiring import Core
from calls.records import CallRecords
from numbering.types import SafeNumber
from proxy.bridge.senders import LoggingTextSender
from proxy.state import CallFacts, State
from tests.conftest import free_port, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
CONSOLE = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass
class Server:
    """The running app: its address, its core (for seeding) and the texts it sent."""

    url: str
    core: Core
    sender: LoggingTextSender
    errors: list[str] = field(default_factory=list)

    def operator(self, username: str, role: str) -> None:
        with self.core.sessions.begin() as session:
            OperatorService(session, self.core.clock, "test").create(username, PASSWORD, role)

    def pool(
        self, lo: str = "00000000", hi: str = "00000999", agreement: int | None = None
    ) -> None:
        with self.core.numbers() as svc:
            svc.add_pool("0504", lo, hi, agreement)

    def last_code(self) -> str:
        match = re.search(r"\d{6}", self.sender.sent[-1][1])
        assert match
        return match.group()

    def call_record(self, number: str, caller_ref: str, after: timedelta) -> None:
        """An ended, unanswered call to ``number`` from an opaque caller, started ``after``
        the server clock's now (the test clock stands still; a driver sees only the calls
        since their number was issued)."""
        start = self.core.clock() + after
        facts = CallFacts(
            call_id=f"browser.{caller_ref[:6]}.{start.timestamp()}",
            number=SafeNumber.parse(number).digits,
            caller_ref=caller_ref,
            caller_key=caller_ref[::-1],
            started=start,
            ended=start + timedelta(seconds=20),
            dial_status="NOANSWER",
            state=State.ENDED,
        )
        with self.core.sessions.begin() as session:
            assert CallRecords(session).add(facts, "events")

    def driver_with_number(self, phone: str, plate: str = "34나5678") -> str:
        """Sign a driver in through the API and give them a number; returns it."""
        with httpx.Client(base_url=self.url) as http:
            assert http.post("/v1/auth/code", json={"phone": phone}).status_code == 202
            r = http.post("/v1/auth/code/verify", json={"phone": phone, "code": self.last_code()})
            me = {"Authorization": f"Bearer {r.json()['access_token']}"}
            v = http.post("/v1/vehicles", json={"plate": plate}, headers=me).json()
            n = http.post(f"/v1/vehicles/{v['id']}/number", json={}, headers=me)
            assert n.status_code == 201, n.text
            number: str = n.json()["safe_number"]
            return number


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def run_server(settings: Settings, core: Core, sender: LoggingTextSender) -> Iterator[Server]:
    """Serve create_app() like `safenum serve` does, in a thread, until the caller is done."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"ami_port": free_port(), "public_base_url": url})
    app = create_app(settings, core=core, text_sender=sender)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started and _up(url), what="the web server")
        yield Server(url, core, sender)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def server(settings: Settings, core: Core, redis_url: str) -> Iterator[Server]:
    redis.Redis.from_url(redis_url).flushdb()  # rate-limit and code state from other tests
    yield from run_server(settings, core, LoggingTextSender())


@pytest.fixture(scope="package")
def browser() -> Iterator[sync_api.Browser]:
    """Package scope, not session: sync Playwright keeps an event loop running in this
    thread until it stops, and every later asyncio.run() (the pbx tier) would fail."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium at /usr/bin/chromium (make test installs it)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _watch(page: sync_api.Page, errors: list[str]) -> sync_api.Page:
    """Collect script errors and CSP violations; failed HTTP answers are expected noise."""
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(msg: sync_api.ConsoleMessage) -> None:
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.set_default_timeout(5000)
    return page


@pytest.fixture
def console_page(browser: sync_api.Browser, server: Server) -> Iterator[sync_api.Page]:
    ctx = browser.new_context(viewport=CONSOLE, locale="ko-KR", timezone_id="Asia/Seoul")
    page = _watch(ctx.new_page(), server.errors)
    yield page
    ctx.close()
    assert server.errors == []


@pytest.fixture
def phone_page(browser: sync_api.Browser, server: Server) -> Iterator[sync_api.Page]:
    ctx = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ko-KR",
        timezone_id="Asia/Seoul",
    )
    page = _watch(ctx.new_page(), server.errors)
    yield page
    ctx.close()
    assert server.errors == []
