"""Screenshots of the web front ends for the README, from a real server with sample data.

    .venv/bin/python deploy/scripts/screenshots.py [OUT_DIR]   (default docs/screenshots)

Starts a private redis-server and the app (as ``safenum serve`` does, no Asterisk) on
free ports over a throw-away SQLite database, seeds 30 days of sample activity with a
moving clock, then drives Debian's Chromium (/usr/bin/chromium) with Playwright:
the console dashboard at 1366x768 and the drivers' home screen at 390x844.
Every phone and plate here is made up.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import redis
import uvicorn
from playwright.sync_api import sync_playwright

from app_api.auth.operators import OperatorService
from app_api.main import create_app
from app_api.migrate import upgrade
from app_api.settings import Settings
from app_api.wiring import Core
from numbering.agreements import AgreementService, AgreementTerms
from numbering.repository import NumberRepository
from numbering.types import OwnerPhone, Plate, SafeNumber
from proxy.bridge.senders import LoggingTextSender

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "sample passphrase for screenshots"  # noqa: S105 (throw-away database)
DRIVER_PHONE = "010-2345-6789"
SYLLABLES = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def private_redis(workdir: Path) -> Iterator[str]:
    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("screenshots: needs redis-server (make system installs it)")
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    proc = subprocess.Popen(  # noqa: S603
        [binary, *args, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    client = redis.Redis(port=port)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(up, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def seed(core: Core, clock: Clock) -> None:
    """An active pilot with 30 days of issuance, releases and move-car texts."""
    rng = random.Random(7)
    today = clock.now
    clock.now = today - timedelta(days=31)
    with core.sessions.begin() as session:
        OperatorService(session, clock, "seed").create("gangnam-admin", PASSWORD, "district_admin")
        agreements = AgreementService(NumberRepository(session), clock, "seed")
        gangnam = agreements.create(
            AgreementTerms(
                name="강남구 안심주차 시범사업",
                district="강남구",
                partner="예시텔레콤",
                term_start=clock.now.date(),
                term_end=clock.now.date() + timedelta(days=364),
                quota=500,
                eligibility="강남구 거주 차량",
            )
        )
        agreements.update(gangnam.id, status="active")
        draft = agreements.create(
            AgreementTerms(
                name="서초구 안심주차",
                district="서초구",
                partner="예시텔레콤",
                term_start=today.date() + timedelta(days=30),
                term_end=today.date() + timedelta(days=394),
                quota=300,
                eligibility="",
            )
        )
    with core.numbers("seed") as svc:
        svc.add_pool("0504", "10000000", "10000999", gangnam.id)
        svc.add_pool("0505", "20000000", "20000499", draft.id)
    issued: list[tuple[str, str]] = []  # (number, owner id)
    serial = 1000
    for day in range(30, -1, -1):
        base = today - timedelta(days=day)
        for _ in range(rng.randint(2, 4) + (30 - day) // 6):
            serial += 1
            clock.now = base.replace(hour=1) + timedelta(minutes=rng.randint(0, 600))
            phone = OwnerPhone.parse(f"010-{serial:04d}-{rng.randint(0, 9999):04d}")
            plate = Plate.parse(f"{rng.randint(10, 99)}{rng.choice(SYLLABLES)}{serial:04d}")
            with core.numbers("seed") as svc:
                view = svc.issue(phone, plate)
                issued.append((view.safe_number, svc.register(phone)))
        for number, owner in rng.sample(issued, k=min(len(issued), rng.randint(0, 3))):
            with core.numbers("seed") as svc:
                token = svc.card_token(SafeNumber.parse(number), owner_id=owner)
                svc.move_car_request(token)
        if day % 9 == 4 and issued:
            number, owner = issued.pop(rng.randrange(len(issued)))
            with core.numbers("seed") as svc:
                svc.release(SafeNumber.parse(number), owner_id=owner)
    clock.now = today
    with core.numbers("seed") as svc:
        svc.issue(OwnerPhone.parse(DRIVER_PHONE), Plate.parse("12가3456"))


def serve(settings: Settings, core: Core, sender: LoggingTextSender) -> Callable[[], None]:
    app = create_app(settings, core=core, text_sender=sender)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=settings.http_port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.http_port}"

    def up() -> bool:
        try:
            return server.started and httpx.get(f"{url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, "the web server")

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    return stop


def shoot(url: str, sender: LoggingTextSender, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    console_png, app_png = out / "console-dashboard.png", out / "app-home.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = browser.new_context(
            viewport={"width": 1366, "height": 768}, locale="ko-KR", timezone_id="Asia/Seoul"
        )
        page = ctx.new_page()
        page.goto(f"{url}/console")
        page.fill("#signin-form [name=username]", "gangnam-admin")
        page.fill("#signin-form [name=password]", PASSWORD)
        page.click("#signin-form button")
        page.wait_for_selector("#kpis .kpi")
        with page.expect_response(lambda r: "agreement_id=" in r.url):
            page.select_option("#dash-agreement", label="강남구 안심주차 시범사업")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(console_png))
        ctx.close()

        ctx = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="ko-KR",
            timezone_id="Asia/Seoul",
            service_workers="block",
        )
        page = ctx.new_page()
        page.goto(f"{url}/app/")
        page.fill("#phone-form [name=phone]", DRIVER_PHONE)
        page.click("#phone-form button")
        page.wait_for_selector("#code-form", state="visible")
        code = re.search(r"\d{6}", sender.sent[-1][1])
        assert code
        page.fill("#code-form [name=code]", code.group())
        page.click("#code-form button[type=submit]")
        page.wait_for_selector(".number-card")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(app_png))
        ctx.close()
        browser.close()
    return [console_png, app_png]


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"screenshots: needs {CHROMIUM} (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="safenum-shots-") as tmp, private_redis(Path(tmp)) as r:
        port = free_port()
        settings = Settings(
            env="development",
            data_dir=Path(tmp),
            redis_url=r,
            http_port=port,
            ami_port=free_port(),
            public_base_url=f"http://127.0.0.1:{port}",
            log_level="ERROR",
        )
        clock = Clock()
        core = Core.build(settings, clock=clock)
        upgrade(core.engine)
        seed(core, clock)
        sender = LoggingTextSender()
        stop = serve(settings, core, sender)
        try:
            for path in shoot(f"http://127.0.0.1:{port}", sender, out):
                print(path)
        finally:
            stop()
            core.close()


if __name__ == "__main__":
    main()
