"""The drivers' web app on a 390x844 phone: sign in with the code, number, card, account,
quiet hours, the call list and blocking."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server

ACTIVATED = """async () => {
  const reg = await navigator.serviceWorker.ready;
  const worker = reg.active;
  if (worker.state !== "activated") {
    await new Promise((done) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") done();
    }));
  }
  return worker.state;
}"""


def sign_in(page: Page, server: Server, phone: str = "010-2345-6789") -> None:
    page.goto(f"{server.url}/app")
    expect(page).to_have_url(f"{server.url}/app/")
    page.get_by_label("휴대폰 번호").fill(phone)
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page.locator("#code-sent")).to_contain_text("010-****-" + phone[-4:])
    expect(page.locator("#dev-code")).to_be_hidden()  # SAFENUM_ENV=test: never shown
    page.get_by_label("인증번호 6자리").fill(server.last_code())
    page.get_by_role("button", name="확인").click()
    expect(page.locator("#home")).to_be_visible()


def test_driver_signs_in_gets_a_number_sees_the_card_and_deletes_the_account(
    phone_page: Page, server: Server
) -> None:
    page = phone_page
    server.pool()
    sign_in(page, server)
    expect(page.locator("#quiet-panel")).to_be_hidden()  # no number yet
    expect(page.locator("#records")).to_contain_text("아직 통화 기록이 없습니다")

    page.get_by_label("차량 번호").fill("12가3456")
    page.get_by_role("button", name="차량 등록").click()
    page.get_by_role("button", name="안심번호 받기").click()
    card = page.locator(".number-card")
    expect(card).to_contain_text("0504-")
    expect(card).to_contain_text("사용 중")
    number = card.get_attribute("data-number")
    assert number

    card.get_by_role("button", name="주차 카드 보기·인쇄").click()
    expect(page.locator("#card")).to_be_visible()
    expect(page.locator("#card-img")).to_have_js_property("naturalWidth", 1748)  # the PNG
    assert page.locator("#card-pdf").get_attribute("download") == (
        f"safenum-card-{number.replace('-', '')}.pdf"
    )
    page.get_by_role("button", name="뒤로").click()

    page.get_by_role("button", name="잠시 연락 받지 않기").click()
    expect(card).to_contain_text("일시정지")
    page.get_by_role("button", name="다시 연락 받기").click()
    expect(card).to_contain_text("사용 중")

    page.get_by_role("button", name="계정 삭제").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#receipt")).to_be_visible()
    # The released-numbers line, exactly: its label followed by its value.
    released = page.locator("#receipt-list dt", has_text="반납한 번호 수")
    expect(released).to_have_count(1)
    expect(page.locator("#receipt-list dt:has-text('반납한 번호 수') + dd")).to_have_text("1")
    assert page.evaluate("localStorage.getItem('safenum.app')") is None


def test_driver_sets_quiet_hours_and_blocks_a_caller_from_the_call_list(
    phone_page: Page, server: Server
) -> None:
    page = phone_page
    server.pool()
    sign_in(page, server)
    page.get_by_label("차량 번호").fill("12가3456")
    page.get_by_role("button", name="차량 등록").click()
    page.get_by_role("button", name="안심번호 받기").click()
    number = page.locator(".number-card").get_attribute("data-number")
    assert number

    prefs = page.locator(f'form.prefs[data-number="{number}"]')
    expect(prefs).to_contain_text("방해 금지 시간이 없습니다")
    prefs.get_by_label("시작").fill("22:30")
    prefs.get_by_label("끝").fill("07:00")
    prefs.get_by_role("button", name="방해 금지 시간 저장").click()
    expect(page.locator("#flash")).to_have_text("방해 금지 시간을 저장했습니다.")
    expect(prefs).to_contain_text("22:30–07:00")
    move_text = prefs.get_by_label("건 사람이 이동 요청 문자를 보낼 수 있게 하기")
    expect(move_text).to_be_checked()
    move_text.uncheck()
    expect(page.locator("#flash")).to_have_text("이동 요청 문자를 받지 않습니다.")

    # 20 older calls from one caller, then the newest from another; 20 make a page
    old, new = "b" * 20, "a" * 20
    for minutes in range(20):
        server.call_record(number, old, timedelta(minutes=minutes))
    server.call_record(number, new, timedelta(hours=1))
    page.reload()
    expect(page.locator("#home")).to_be_visible()
    expect(prefs.get_by_label("시작")).to_have_value("22:30")
    expect(prefs.get_by_label("끝")).to_have_value("07:00")
    expect(move_text).not_to_be_checked()

    records = page.locator("#records > li")
    expect(records).to_have_count(20)
    newest = records.first
    expect(newest).to_contain_text(f"발신자 {new}")  # newest first, as the opaque reference
    expect(newest).to_contain_text("받지 않음")
    page.get_by_role("button", name="더 보기").click()
    expect(records).to_have_count(21)
    expect(page.get_by_role("button", name="더 보기")).to_be_hidden()
    listed = page.locator("#records-panel").inner_text()
    assert not re.search(r"01[016789]-?\d{3,4}", listed)  # never a phone number

    newest.get_by_role("button", name="차단", exact=True).click()
    expect(page.locator("#flash")).to_contain_text(f"{number}에서 더 받지 않습니다")
    expect(newest).to_contain_text("차단 중")
    expect(records.filter(has_text="차단 중")).to_have_count(1)  # only that caller
    block = page.locator("#blocks > li")
    expect(block).to_have_count(1)
    expect(block).to_contain_text(f"발신자 {new}")
    expect(block).to_contain_text(number)

    block.get_by_role("button", name="차단 해제").click()
    expect(page.locator("#blocks")).to_contain_text("차단한 발신자가 없습니다")
    expect(newest).not_to_contain_text("차단 중")
    expect(newest.get_by_role("button", name="차단", exact=True)).to_be_visible()
    page.reload()
    expect(page.locator("#blocks")).to_contain_text("차단한 발신자가 없습니다")
    expect(records.filter(has_text="차단 중")).to_have_count(0)


def test_app_is_an_installable_shell_that_never_caches_api_answers(
    phone_page: Page, server: Server
) -> None:
    page = phone_page
    page.goto(f"{server.url}/app/")
    assert page.locator('link[rel="manifest"]').get_attribute("href") == "/app/manifest.webmanifest"
    # (evaluate, not wait_for_function: the page's CSP forbids eval, rightly)
    state = page.evaluate(ACTIVATED)
    assert state == "activated"
    cached = page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(lists => lists.flat().map(r => new URL(r.url).pathname))"
    )
    assert "/app/" in cached
    assert not [p for p in cached if p.startswith("/v1")]
