"""Texts in a real browser: the operators' review of blocked texts (release, mark as
spam, read-only auditor) and the drivers' text list (release, block and unblock a texter).

Texts are stored as the relay stores them (``TextService.receive``); no Asterisk runs,
so a released text stays "sending" (pending) here."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from blocking.blocks import BlockService
from blocking.text_records import InboundText, TextService
from blocking.types import Category, Decision, Verdict
from numbering.types import SafeNumber
from proxy.messaging import CallerRefs
from tests.browser.conftest import Server
from tests.browser.test_app import sign_in as driver_sign_in
from tests.browser.test_console import sign_in as operator_sign_in

TEXTER, OTHER = "01077776666", "01055554444"
REFS = CallerRefs("1" * 64, "2" * 64)
_spool = itertools.count(1)


def ham(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.DELIVER, Category.HAM, 0.02, ())


def ad(body: str, sender: str | None, number: SafeNumber) -> Verdict:
    return Verdict(Decision.BLOCK, Category.AD, 0.97, ("ad marker (광고)",), "base-0123456789")


def seed(server: Server, number: str, body: str, judge=ham, sender: str = TEXTER) -> None:  # type: ignore[no-untyped-def]
    n = SafeNumber.parse(number)
    at = server.core.clock() + timedelta(minutes=next(_spool))
    text = InboundText(f"browser-{next(_spool)}", n, at, sender, body, len(body.encode()))

    def refs(number: SafeNumber, sender: str | None) -> tuple[str, str]:
        return REFS.ref(number.digits, sender), REFS.key(sender)

    with server.core.sessions.begin() as session:
        service = TextService(session, server.core.keyring, server.core.clock)
        send = service.receive(text, judge, refs)
        if send is not None:
            service.delivered(send.record_id)


def test_operators_release_blocked_texts_and_auditors_only_read(
    console_page: Page, server: Server
) -> None:
    page = console_page
    server.pool()
    number = server.driver_with_number("010-2345-6789")
    seed(server, number, "(광고) 오픈 특가 안내", ad)
    seed(server, number, "(광고) 대출 상담", ad, sender=OTHER)
    server.operator("admin", "district_admin")
    server.operator("audit", "auditor")

    operator_sign_in(page, server, "admin")
    kpis = page.locator("#kpis")  # the dashboard: 30 days of daily statistics
    expect(kpis.locator(".kpi", has_text="문자 전달 / 차단")).to_contain_text("0 / 2")
    expect(page.locator("#kpi-blocked-categories")).to_have_text("차단: 광고 2")
    expect(page.locator("#chart-texts rect.bar")).not_to_have_count(0)
    page.get_by_role("link", name="차단 문자 검토").click()
    rows = page.locator("#review-table tbody tr")
    expect(rows).to_have_count(2)
    first = rows.filter(has_text="오픈 특가")
    expect(first).to_contain_text(number)
    expect(first).to_contain_text("광고")
    expect(first).to_contain_text("ad marker (광고)")
    expect(first).to_contain_text("0.97")
    expect(first).to_contain_text("모델 base-0123456789")  # the version that judged it
    expect(page.locator(".review-readonly")).to_be_hidden()
    first.get_by_role("button", name="전달").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#flash")).to_contain_text(f"{number} 운전자에게 문자를 전달합니다")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("대출 상담")
    ad_row = page.locator('#review-stats tr[data-category="ad"]')
    expect(ad_row.locator("td")).to_have_text(["광고", "0", "1", "0", "1", "0"])
    rows.first.get_by_role("button", name="스팸 신고").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#flash")).to_contain_text("스팸으로 신고했습니다")
    expect(rows.first).to_contain_text("전체 번호에서 차단됨")
    expect(rows.first.get_by_role("button", name="스팸 신고")).to_have_count(0)
    with server.core.sessions.begin() as session:
        blocked = BlockService(session, server.core.clock).global_keys()
    assert blocked == frozenset({REFS.key(OTHER)})
    listed = page.locator("#view-review").inner_text()
    assert TEXTER not in listed.replace("-", "")
    assert OTHER not in listed.replace("-", "")

    page.get_by_role("button", name="로그아웃").click()
    expect(page.locator("#signin")).to_be_visible()
    operator_sign_in(page, server, "audit")
    page.get_by_role("link", name="차단 문자 검토").click()
    expect(rows).to_have_count(1)
    expect(page.locator(".review-readonly")).to_be_visible()
    expect(rows.first.get_by_role("button")).to_have_count(0)


def test_driver_reads_texts_lets_one_through_and_blocks_a_texter(
    phone_page: Page, server: Server
) -> None:
    page = phone_page
    server.pool()
    phone = "010-2345-6789"
    number = server.driver_with_number(phone)
    seed(server, number, "차 좀 빼주세요 🚗")
    seed(server, number, "(광고) 오픈 특가 안내", ad, sender=OTHER)
    driver_sign_in(page, server, phone)

    texts = page.locator("#texts > li")
    expect(texts).to_have_count(2)
    blocked, genuine = texts.nth(0), texts.nth(1)  # newest first
    expect(blocked).to_contain_text("차단됨")
    expect(blocked).to_contain_text("광고 · ad marker (광고)")
    expect(genuine).to_contain_text("전달됨")
    expect(genuine).to_contain_text("차 좀 빼주세요 🚗")
    expect(genuine).to_contain_text(
        "보낸 사람 " + REFS.ref(SafeNumber.parse(number).digits, TEXTER)
    )
    listed = page.locator("#texts-panel").inner_text()
    assert not re.search(r"01[016789]-?\d{3,4}-?\d{4}", listed)  # never a phone number

    blocked.get_by_role("button", name="전달받기").click()
    expect(page.locator("#flash")).to_contain_text("문자를 휴대폰으로 보냅니다")
    expect(blocked).to_contain_text("보내는 중")
    expect(blocked.get_by_role("button", name="전달받기")).to_have_count(0)

    genuine.get_by_role("button", name="차단", exact=True).click()
    expect(page.locator("#flash")).to_contain_text(f"{number}에서 더 받지 않습니다")
    expect(genuine).to_contain_text("차단 중")
    expect(blocked).not_to_contain_text("차단 중")  # another texter
    expect(page.locator("#blocks > li")).to_have_count(1)

    genuine.get_by_role("button", name="차단 해제").click()
    expect(page.locator("#blocks")).to_contain_text("차단한 발신자가 없습니다")
    expect(genuine).not_to_contain_text("차단 중")
    page.reload()
    expect(texts.nth(0)).to_contain_text("보내는 중")
    expect(texts.filter(has_text="차단 중")).to_have_count(0)
