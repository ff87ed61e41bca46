"""One test per disguise that blocking.normalize undoes."""

import pytest

from blocking.normalize import compact, normalize, normalize_batch


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("대 출 가 능", "대출가능"),
        ("카.지.노", "카지노"),
        ("바/카/라", "바카라"),
        ("대~출", "대출"),
        ("c a s i n o", "casino"),
    ],
)
def test_separators_between_letters_are_removed(raw, expected):
    assert normalize(raw) == expected


def test_two_real_words_stay_apart():
    assert normalize("차 좀 빼주세요") == "차 좀 빼주세요"


def test_compact_joins_spaced_hangul_for_vocabulary():
    assert compact(normalize("대 출 해 드 림")) == "대출해드림"
    assert compact("대 출") == "대출"


def test_fullwidth_is_folded():
    assert normalize("ｂｉｔ．ｌｙ／ＡＢＣ") == "bit.ly/abc"


@pytest.mark.parametrize(("raw", "expected"), [("саsinо", "casino"), ("bοnus", "bonus")])
def test_cyrillic_and_greek_lookalikes_in_latin_words(raw, expected):
    assert normalize(raw) == expected


def test_pure_cyrillic_words_are_kept():
    assert normalize("Привет машина") == "привет машина"


def test_digit_lookalikes_in_phone_numbers():
    assert normalize("O1O-l234-5678") == "010-1234-5678"


def test_letters_outside_numbers_are_kept():
    assert normalize("hello 010-1234-5678") == "hello 010-1234-5678"


@pytest.mark.parametrize("zw", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_zero_width_characters_are_removed(zw):
    assert normalize(f"대{zw}출") == "대출"


def test_circled_letters_and_numbers():
    assert normalize("①②③ ⓐⓑ") == "123 ab"
    assert normalize("㉠") == "ㄱ"


def test_compatibility_jamo_are_recomposed():
    assert normalize("ㄷㅐㅊㅜㄹ") == "대출"
    assert normalize("ㅋㅏㅈㅣㄴㅗ") == "카지노"


def test_lone_jamo_stay_readable():
    assert normalize("ㅋㅋ") == "ㅋㅋ"


def test_repeated_symbols_are_shortened():
    assert normalize("급해요!!!!!!") == "급해요!!"
    assert normalize("ㅋㅋㅋㅋㅋㅋ") == "ㅋㅋ"


def test_digits_are_not_collapsed():
    assert normalize("010-0000-1111") == "010-0000-1111"


def test_obfuscated_dots_in_links():
    assert normalize("naver[.]com") == "naver.com"
    assert normalize("bit . ly/x") == "bit.ly/x"


def test_blanks_are_squeezed():
    assert normalize("a  b\t c \n d") == "a b c\nd"


def test_batch_keeps_boundaries_and_order():
    assert normalize_batch(["a\x00b", "", "대 출"]) == ["ab", "", "대 출"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ㅋr지노", "카지노"), ("대ㅡ출 가능", "대출 가능"), ("대ㅣ출", "대출")],
)
def test_latin_r_and_filler_strokes_in_hangul(raw, expected):
    assert normalize_batch([raw]) == [expected]


def test_emoticon_strokes_are_kept():
    assert normalize_batch(["ㅡㅡ 대출 ㅡㅡ", "진짜ㅡㅡ"]) == ["ㅡㅡ 대출 ㅡㅡ", "진짜ㅡㅡ"]


def test_spaced_latin_is_joined_on_the_hot_path():
    assert normalize_batch(["c a s i n o free bet", "a b c", "x-y"]) == [
        "casino free bet",
        "a b c",
        "x-y",
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("이벤트 ga-lu.컴 텔레", "이벤트 ga-lu.com 텔레"),
        ("도메인 tj-825 쩜 컴", "도메인 tj-825.com"),
        ("가입바랍니다 rama4444컴", "가입바랍니다 rama4444.com"),
    ],
)
def test_com_spelled_in_hangul_after_a_domain(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("text", ["lg컴퓨터 샀어요", "hp 컴 고쳤어", "오늘.컴퓨터 켜"])
def test_words_starting_with_com_in_hangul_are_kept(text):
    assert normalize(text) == text
