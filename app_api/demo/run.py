"""The demo's story: issue a number, call it, text it twice, show what each side saw.

It talks to the running service only as its users do: HTTP (a driver and the app),
the ``safenum`` CLI (an operator adding a pool), and SIP (the carrier's caller and
texter, the driver's phone). Every phone number in it is fictitious; the driver's
number is released at the end, so the demo can run again and again.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from app_api.demo.sipp import Run, Sipp, header, leaks
from app_api.settings import Settings

DRIVER = "01055550101"  # the demo driver's (fictitious) mobile
MOVE_CAR = "안녕하세요, 차 좀 빼주세요. 앞에 주차된 흰색 차입니다."
SPAM = "(광고) 바카라 카지노 첫충 30% 즉시지급 → bit.ly/xx 무료거부 0801234567"
FINAL = {"delivered", "blocked", "released", "no-recipient", "lost"}
T = TypeVar("T")


class DemoFailed(RuntimeError):
    """Something the demo needs is missing or did not happen; the message says what."""


def _dashed(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def _until(what: str, probe: Callable[[], T | None], timeout: float = 20) -> T:
    """Poll ``probe`` until it answers (a fact, not a pause) or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise DemoFailed(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


class Story:
    def __init__(self, settings: Settings, out: Callable[[str], None]) -> None:
        self.settings = settings
        self.say = out
        host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "") else settings.http_host  # noqa: S104
        self.http = httpx.Client(base_url=f"http://{host}:{settings.http_port}", timeout=10)
        trunk_host, _, trunk_port = settings.trunk_addr.rpartition(":")
        self.trunk = (trunk_host, int(trunk_port))
        self.pbx = ("127.0.0.1", settings.sip_port)
        self.caller = "0109876" + f"{secrets.randbelow(10_000):04d}"
        self.texter = "0107777" + f"{secrets.randbelow(10_000):04d}"
        self.me: dict[str, str] = {}
        self.problems: list[str] = []

    # --- the service ------------------------------------------------------------
    def check_ready(self) -> None:
        try:
            ready = self.http.get("/readyz").json()
        except httpx.HTTPError as exc:
            raise DemoFailed(
                f"no safenum API at {self.http.base_url} ({type(exc).__name__}); "
                "start the stack with `make run` in another terminal first"
            ) from exc
        if not ready.get("ready"):
            down = ", ".join(k for k, v in ready.items() if v not in ("up", True))
            raise DemoFailed(f"the service is not ready ({down} down): see /readyz")

    def cli(self, *args: str) -> Any:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-c", "from app_api.cli import main; main()", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise DemoFailed(f"safenum {' '.join(args)}: {done.stderr.strip()}")
        return json.loads(done.stdout)

    def ensure_pool(self) -> None:
        pools = self.cli("numbers", "pool", "list")
        if pools:
            self.say(f"  pools: {', '.join(p['prefix'] for p in pools)} (already there)")
            return
        self.cli("numbers", "pool", "add", "0504", "--from", "00000000", "--to", "99999999")
        self.say("  operator: safenum numbers pool add 0504 --from 00000000 --to 99999999")

    def api(self, method: str, path: str, **kw: Any) -> Any:
        r = self.http.request(method, path, headers=self.me, **kw)
        if r.status_code >= 400:
            raise DemoFailed(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def sign_in(self) -> None:
        sent = self.api("POST", "/v1/auth/code", json={"phone": _dashed(DRIVER)})
        code = sent.get("dev_code")
        if code is None:
            raise DemoFailed(
                "the server did not show the sign-in code: the demo needs a development "
                "server (SAFENUM_ENV=development, what `make run` starts)"
            )
        self.say(f"  driver {sent['phone']} signs in with the code the app shows: {code}")
        tokens = self.api(
            "POST", "/v1/auth/code/verify", json={"phone": _dashed(DRIVER), "code": code}
        )
        self.me = {"Authorization": f"Bearer {tokens['access_token']}"}

    def issue(self) -> str:
        for old in self.api("GET", "/v1/numbers"):  # left by an interrupted earlier run
            if old["status"] in ("active", "paused"):
                self.api("POST", f"/v1/numbers/{old['safe_number'].replace('-', '')}/release")
        plate = f"12가{secrets.randbelow(10_000):04d}"
        vehicle = self.api("POST", "/v1/vehicles", json={"plate": plate})
        number = self.api("POST", f"/v1/vehicles/{vehicle['id']}/number", json={})
        self.say(f"  vehicle {number['plate']} gets safe number {number['safe_number']}")
        return str(number["safe_number"]).replace("-", "")

    def release(self, number: str) -> None:
        self.api("POST", f"/v1/numbers/{number}/release")

    # --- SIP --------------------------------------------------------------------
    def call(self, sipp: Sipp, number: str) -> tuple[Run, Run]:
        with sipp.phone("driver_answer", timeout=60) as phone:

            def attempt() -> Run | None:
                caller = sipp.send("caller", number, timeout=60, caller=self.caller)
                if 404 in caller.statuses and not phone.seen():
                    return None  # the new route is still on its way to Asterisk
                return caller

            caller = _until("the new number to route in Asterisk", attempt, timeout=15)
            driver = phone.wait(15)
        return caller, driver

    def text(self, sipp: Sipp, number: str, body: str) -> Run:
        return sipp.send("texter", number, timeout=15, caller=self.texter, body=body)

    def texts(self, count: int) -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = self.api("GET", "/v1/texts")["items"]
        done = [t for t in items if t["status"] in FINAL]
        return done if len(done) >= count else None

    def calls(self) -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = self.api("GET", "/v1/calls")["items"]
        return items or None

    def private(self, side: str, seen: str, phone: str, whose: str) -> None:
        found = leaks(seen, phone)
        if found:
            self.problems.append(f"{side} saw {whose}'s real number ({', '.join(found)})")


def run(settings: Settings, out: Callable[[str], None] = print) -> None:
    story = Story(settings, out)
    say = out
    say("safenum demo: a driver, a caller and a texter, through the running service")
    story.check_ready()
    say("1. A number")
    story.ensure_pool()
    story.sign_in()
    number = story.issue()
    try:
        with tempfile.TemporaryDirectory(prefix="safenum-demo-") as work:
            sipp = Sipp(Path(work), story.pbx, story.trunk)
            _call(story, sipp, number)
            _texts(story, sipp, number)
    finally:
        story.release(number)
        say(f"  (number {number} released again: the demo can run once more)")
    say("4. No real number crossed")
    if story.problems:
        raise DemoFailed("; ".join(story.problems))
    say(f"  the driver never saw {_dashed(story.caller)} or {_dashed(story.texter)};")
    say(f"  the caller and the texter never saw {_dashed(DRIVER)}: only {number}.")


def _call(story: Story, sipp: Sipp, number: str) -> None:
    say = story.say
    say(f"2. A call from {_dashed(story.caller)} to {number}")
    caller, driver = story.call(sipp, number)
    invite = driver.first("INVITE ")
    if invite is None or caller.returncode != 0 or driver.returncode != 0:
        raise DemoFailed(
            f"the call did not connect (caller got {caller.statuses}, "
            f"driver's phone {'rang' if invite else 'never rang'})"
        )
    say(f"  driver's phone rang; caller ID shown: {header(invite, 'From').split(';')[0]}")
    say(f"  caller heard: {', '.join(map(str, caller.statuses))} (connected, then hung up)")
    record = _until("the call record", story.calls)[0]
    say(f"  driver's app: call {record['outcome']}, from {record['caller_ref']} (opaque)")
    story.private("the driver's phone", "\n".join(driver.received), story.caller, "the caller")
    story.private("the caller", "\n".join(caller.received), DRIVER, "the driver")


def _texts(story: Story, sipp: Sipp, number: str) -> None:
    say = story.say
    say(f"3. Two texts from {_dashed(story.texter)} to {number}")
    with sipp.phone("driver_text", timeout=30) as phone:
        sent = story.text(sipp, number, MOVE_CAR)
        if sent.returncode != 0:
            raise DemoFailed(f"the move-car text was refused ({sent.statuses})")
        delivered = phone.wait(20)
    message = delivered.first("MESSAGE ")
    if message is None:
        raise DemoFailed("the move-car text never reached the driver's phone")
    body = message.split("\n\n", 1)[-1].strip() if "\n\n" in message else ""
    say(f"  driver's phone got a text from {header(message, 'From').split(';')[0]}: {body}")
    story.private("the driver's phone", message, story.texter, "the texter")
    spam = story.text(sipp, number, SPAM)
    if spam.returncode != 0:
        raise DemoFailed("the spam text was refused at the door")
    for answers in (sent, spam):
        story.private("the texter", "\n".join(answers.received), DRIVER, "the driver")
    verdicts = _until("the filter's verdicts", lambda: story.texts(2))
    for t in reversed(verdicts):
        reasons = "; ".join(t["reasons"][:3]) + ("; ..." if len(t["reasons"]) > 3 else "")
        say(
            f"  verdict: {t['status']:<9} {t['category']:<5} score {t['score']:.2f} "
            f"({reasons}) from {t['sender_ref']}: {t['body'][:40]}"
        )
    story.private(
        "the driver's app", json.dumps(verdicts, ensure_ascii=False), story.texter, "the texter"
    )
    by_body = {t["body"]: t["status"] for t in verdicts}
    if by_body.get(MOVE_CAR) != "delivered" or by_body.get(SPAM) != "blocked":
        raise DemoFailed(f"unexpected verdicts: {by_body}")
