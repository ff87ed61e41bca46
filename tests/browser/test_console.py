"""The operators' console in a real browser: sign in, agreements, pools, numbers, roles."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, Server


def sign_in(page: Page, server: Server, username: str) -> None:
    page.goto(f"{server.url}/console")
    page.get_by_label("아이디").fill(username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    expect(page.locator("#view-dashboard")).to_be_visible()


def test_operator_creates_agreement_adds_pool_finds_and_pauses_a_number(
    console_page: Page, server: Server
) -> None:
    page = console_page
    server.operator("gangnam-admin", "district_admin")
    sign_in(page, server, "gangnam-admin")
    expect(page.locator("#whoami")).to_have_text("구청 관리자")
    # /readyz: database and Redis up, no Asterisk in this test
    expect(page.locator('[data-check="database"]')).to_have_class("pill up")
    expect(page.locator('[data-check="ami"]')).to_have_class("pill down")
    expect(page.locator("#chart-calls")).to_contain_text("—")  # no call records yet

    page.get_by_role("link", name="협약").click()
    page.get_by_text("새 협약 만들기").click()
    form = page.locator("#agreement-form")
    form.get_by_label("협약명").fill("강남 안심주차 시범사업")
    form.get_by_label("자치구").fill("강남구")
    form.get_by_label("통신사").fill("예시텔레콤")
    form.get_by_label("발급 한도").fill("500")
    form.get_by_label("시작일").fill("2026-01-01")
    form.get_by_label("종료일").fill("2027-12-31")
    form.get_by_role("button", name="협약 만들기").click()
    row = page.locator("#agreements-table tbody tr", has_text="강남 안심주차 시범사업")
    expect(row).to_contain_text("초안")
    row.get_by_role("button", name="활성화").click()
    expect(row).to_contain_text("사용 중")
    expect(row.get_by_role("button", name="정지")).to_be_visible()
    row.get_by_role("button", name="수정").click()
    page.locator(".editrow").get_by_label("발급 한도").fill("600")
    page.locator(".editrow").get_by_role("button", name="저장").click()
    expect(row).to_contain_text("0 / 600")

    page.get_by_role("link", name="번호 풀").click()
    page.get_by_text("번호 풀 추가").click()
    pool = page.locator("#pool-form")
    pool.get_by_label("시작 (8자리)").fill("00000000")
    pool.get_by_label("끝 (8자리)").fill("00000999")
    pool.get_by_label("협약").select_option(label="강남 안심주차 시범사업")
    pool.get_by_role("button", name="풀 추가").click()
    pool_row = page.locator("#pools-table tbody tr").first
    expect(pool_row).to_contain_text("0504 00000000 – 00000999")
    expect(pool_row).to_contain_text("강남 안심주차 시범사업")

    number = server.driver_with_number("010-2345-6789")  # issued from the new pool

    page.get_by_role("link", name="번호 조회").click()
    expect(page.locator("#numbers-table")).to_contain_text(number)
    page.get_by_label("050 번호").fill(number.replace("-", ""))
    page.get_by_role("button", name="찾기").click()
    card = page.locator(f'.number-card[data-number="{number}"]')
    expect(card).to_contain_text("사용 중")
    expect(card).to_contain_text("010-****-6789")  # the real phone stays masked
    expect(card).not_to_contain_text("2345")
    card.get_by_role("button", name="일시정지").click()
    expect(page.locator(f'.number-card[data-number="{number}"]')).to_contain_text("일시정지")
    expect(page.locator("#flash")).to_contain_text("일시정지했습니다")

    page.get_by_role("link", name="감사 기록").click()
    expect(page.locator("#audit-table")).to_contain_text("number.paused")
    with page.expect_download() as download:
        page.get_by_role("button", name="CSV 내려받기").click()
    assert download.value.suggested_filename == "safenum-audit.csv"
    page.get_by_role("link", name="대시보드").click()
    expect(page.locator("#kpis")).to_contain_text("1 / 600")


def test_auditor_sees_read_only_console_and_english(console_page: Page, server: Server) -> None:
    page = console_page
    server.operator("audit", "auditor")
    sign_in(page, server, "audit")
    page.get_by_role("link", name="협약").click()
    expect(page.locator("#agreement-create")).to_be_hidden()
    expect(page.locator(".readonly-note")).to_be_visible()
    page.get_by_role("link", name="차단 문자 검토").click()
    expect(page.locator("#review-empty")).to_contain_text("검토할 차단 문자가 없습니다")
    expect(page.locator(".review-readonly")).to_be_visible()
    page.get_by_role("link", name="English").click()
    page.get_by_role("link", name="Blocked texts").click()
    expect(page.locator("#review-empty")).to_contain_text("No blocked texts to review")
