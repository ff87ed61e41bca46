"""Released texts are kept as ham only with personal details masked."""

from __future__ import annotations

import pytest

from blocking.review_examples import mask_personal


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("차 빼주세요 010-1234-5678", "차 빼주세요 [전화번호]"),
        ("전화주세요 01012345678 아니면 02 123 4567", "전화주세요 [전화번호] 아니면 [전화번호]"),
        ("12가 3456 차주분 맞으시죠", "[차량번호] 차주분 맞으시죠"),
        ("123나4567 빼주세요", "[차량번호] 빼주세요"),
        ("테헤란로 123 앞이에요", "[주소] 앞이에요"),
        ("역삼동 123-45 주차장", "[주소] 주차장"),
        ("저 101동 1203호 사는데요", "저 [주소] 사는데요"),
        ("mail me: kim.lee@example.co.kr", "mail me: [이메일]"),
    ],
)
def test_personal_details_are_masked(text: str, masked: str) -> None:
    assert mask_personal(text) == masked


def test_ordinary_words_are_left_alone() -> None:
    text = "지금 내려갈게요 3분만 기다려 주세요"
    assert mask_personal(text) == text
