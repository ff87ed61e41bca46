"""Building the real corpus: no phone number survives, report noise goes, and the
campaigns that repeat are kept once (the earliest report)."""

from __future__ import annotations

import re

from blocking.dedup import campaigns, keep_first
from blocking.sources import clean_report, strip_phones
from blocking.urls import phone_kind


def test_every_phone_number_is_rewritten_keeping_only_its_kind() -> None:
    numbers = ["010-1234-5678", "01098765432", "070 4321 8765", "080-123-4567", "1588-1234"]
    text = "연락 " + " / ".join(numbers) + " 무료거부"
    out = strip_phones(text)
    for number in numbers:
        assert number not in out
        assert re.sub(r"\D", "", number) not in re.sub(r"\D", "", out)
    found = re.findall(r"[\d -]{8,}\d", out)
    assert [phone_kind(n) for n in found] == [phone_kind(n) for n in numbers]
    assert strip_phones(text) == out  # the same number always becomes the same
    assert strip_phones("3만원 12월 25일") == "3만원 12월 25일"


def test_the_reporting_apps_head_and_tail_are_removed() -> None:
    assert (
        clean_report("MMS 스팸신고[Web발신](광고) 특가\n\nMMS/KISA 신고 메시지")
        == "[Web발신](광고) 특가"
    )
    assert clean_report("(광고)무료추천주 han.gl/PTijg\nSMS/-") == "(광고)무료추천주 han.gl/PTijg"


def test_near_duplicates_are_kept_once_the_earliest() -> None:
    texts = [
        "(광고)해외선물 수익1등 무료공유 카톡방 han.gl/DZpTd 참여코드 7799 무료거부 0801364481",
        "차 좀 빼주세요",
        "(광고)해외선물 수익1등 무료공유 카톡방 han.gl/Xy12Q 참여코드 1234 무료거부 0801364481",
        "(광고) 해외 선물 수익 1등 무료 공유 카톡방 han.gl/AbCdE 참여코드 5555 무료거부 0809999999",
        "차 좀 빼주세요",
        "오늘 저녁에 비 온대요 창문 닫으세요",
    ]
    assert keep_first(texts) == [0, 1, 5]
    # every repeat is credited to the earliest text of its own campaign
    assert campaigns(texts) == [0, 1, 0, 0, 1, 5]
