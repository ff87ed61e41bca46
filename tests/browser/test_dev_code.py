"""On a development server the drivers' app shows the sign-in code, marked as such."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from app_api.settings import Settings
from app_api.wiring import Core
from proxy.bridge.senders import LoggingTextSender
from tests.browser.conftest import PHONE, Server, run_server


@pytest.fixture
def dev_server(settings: Settings, core: Core, redis_url: str) -> Iterator[Server]:
    redis.Redis.from_url(redis_url).flushdb()
    dev = settings.model_copy(update={"env": "development"})
    yield from run_server(dev, core, LoggingTextSender())


@pytest.fixture
def page(browser: Browser, dev_server: Server) -> Iterator[Page]:
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, locale="ko-KR")
    yield ctx.new_page()
    ctx.close()


def test_development_app_shows_the_code_marked_development_only(
    page: Page, dev_server: Server
) -> None:
    page.goto(f"{dev_server.url}/app/")
    page.get_by_label("휴대폰 번호").fill("010-2345-6789")
    page.get_by_role("button", name="인증번호 받기").click()
    shown = page.locator("#dev-code")
    expect(shown).to_be_visible()
    code = dev_server.last_code()
    expect(shown).to_have_text(
        f"개발 모드 전용: 인증번호는 {code}입니다. "
        "운영 서버는 문자로만 보내고 여기에 표시하지 않습니다."
    )
    page.get_by_label("인증번호 6자리").fill(code)
    page.get_by_role("button", name="확인").click()
    expect(page.locator("#home")).to_be_visible()
