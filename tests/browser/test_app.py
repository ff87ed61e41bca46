"""The drivers' web app on a 390x844 phone: sign in with the code, number, card, account."""

from __future__ import annotations

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


def test_driver_signs_in_gets_a_number_sees_the_card_and_deletes_the_account(
    phone_page: Page, server: Server
) -> None:
    page = phone_page
    server.pool()
    page.goto(f"{server.url}/app")
    expect(page).to_have_url(f"{server.url}/app/")
    page.get_by_label("휴대폰 번호").fill("010-2345-6789")
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page.locator("#code-sent")).to_contain_text("010-****-6789")
    page.get_by_label("인증번호 6자리").fill(server.last_code())
    page.get_by_role("button", name="확인").click()
    expect(page.locator("#home")).to_be_visible()

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

    # quiet hours, call records and blocking have no API yet: shown disabled, with a note
    for panel in ("#quiet-panel", "#records-panel", "#blocked-panel"):
        expect(page.locator(panel)).to_have_attribute("aria-disabled", "true")
        expect(page.locator(panel)).to_contain_text("준비 중입니다")

    page.get_by_role("button", name="계정 삭제").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#receipt")).to_be_visible()
    expect(page.locator("#receipt-list")).to_contain_text("1")  # numbers released
    assert page.evaluate("localStorage.getItem('safenum.app')") is None


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
