"""Parsing and printing of safe numbers, owner phones and plates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numbering.errors import InvalidValue
from numbering.types import OwnerPhone, Plate, SafeNumber

carrier = st.sampled_from("23456789")
subscriber = st.integers(0, 99_999_999)


def spellings(n: SafeNumber) -> list[str]:
    d = n.digits
    return [
        d,
        n.national,
        n.e164,
        "82" + d[1:],
        "+82 " + d[1:3] + " " + d[3:7] + " " + d[7:],
        f"+82-{d[1:4]}-{d[4:8]}-{d[8:]}",
        f" {d[:4]} {d[4:8]} {d[8:]} ",
        "0082" + d[1:],
        f"({d[:4]}) {d[4:8]}.{d[8:]}",
        "+82" + d,
    ]


@given(carrier, subscriber)
def test_every_common_spelling_round_trips(c: str, sub: int) -> None:
    number = SafeNumber.from_parts("050" + c, sub)
    for text in spellings(number):
        assert SafeNumber.parse(text) == number, text
    assert SafeNumber.parse(number.national).national == number.national
    assert SafeNumber.parse(number.e164).e164 == number.e164
    assert number.national == f"050{c}-{sub:08d}"[:9] + "-" + f"{sub:08d}"[4:]


def test_examples_from_the_spec() -> None:
    n = SafeNumber.parse("+82 50 4123 45678")
    assert n.national == "0504-1234-5678"
    assert n.e164 == "+8250412345678"
    assert SafeNumber.parse("050412345678") == n == SafeNumber.parse("8250412345678")


@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_wrong_lengths_are_refused_with_the_reason(digits: str) -> None:
    body = "0504" + digits
    if len(body) == 12:
        return
    with pytest.raises(InvalidValue, match="12 digits"):
        SafeNumber.parse(body)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("010-1234-5678", "starts with 050"),
        ("0704-1234-5678", "starts with 050"),
        ("0504-12a4-5678", "only digits"),
        ("0504-1234-567", "12 digits"),
        ("0504-1234-56789", "12 digits"),
        ("0500-1234-5678", "carrier prefix"),
        ("0501-1234-5678", "carrier prefix"),
        ("+1 504 123 4567", "Korean"),
        ("", "empty"),
        ("   ", "empty"),
        ("０５０４１２３４５６７８", "only digits"),
    ],
)
def test_rejections_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason) as info:
        SafeNumber.parse(text)
    assert info.value.field == "safe_number"


@pytest.mark.parametrize(
    ("text", "e164", "masked"),
    [
        ("010-1234-5678", "+821012345678", "010-****-5678"),
        ("01012345678", "+821012345678", "010-****-5678"),
        ("+82 10 1234 5678", "+821012345678", "010-****-5678"),
        ("821012345678", "+821012345678", "010-****-5678"),
        ("011-234-5678", "+82112345678", "011-***-5678"),
        ("016-1234-5678", "+821612345678", "016-****-5678"),
        ("017-123-4567", "+82171234567", "017-***-4567"),
        ("018-1234-5678", "+821812345678", "018-****-5678"),
        ("019-9876-5432", "+821998765432", "019-****-5432"),
    ],
)
def test_korean_mobiles_are_accepted(text: str, e164: str, masked: str) -> None:
    phone = OwnerPhone.parse(text)
    assert phone.e164 == e164
    assert phone.masked == masked
    assert e164 not in repr(phone)
    assert e164 not in str(phone)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("02-123-4567", "landline"),
        ("031-123-4567", "landline"),
        ("0504-1234-5678", "safe numbers"),
        ("070-1234-5678", "070"),
        ("080-123-4567", "080"),
        ("1588-1234", "15xx"),
        ("1644-1234", "16xx"),
        ("1899-1234", "18xx"),
        ("060-123-4567", "060"),
        ("010-123-456", "not a Korean mobile"),
        ("+1 650 253 0000", "Korean"),
        ("010-1234-567a", "only digits"),
    ],
)
def test_other_numbers_are_refused_as_owner_phones(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason):
        OwnerPhone.parse(text)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("12가3456", "12가3456"),
        ("123가4567", "123가4567"),
        ("서울12가3456", "서울12가3456"),
        ("12 가 3456", "12가3456"),
        ("경기 123 허 4567", None),
        ("서울 12가 3456", "서울12가3456"),
        ("99호9999", "99호9999"),
    ],
)
def test_plates(text: str, normal: str | None) -> None:
    if normal is None:
        with pytest.raises(InvalidValue):
            Plate.parse(text)  # regional plates carry two digits, not three
        return
    assert Plate.parse(text).text == normal


@pytest.mark.parametrize(
    "text",
    ["", "1가3456", "1234가5678", "12가345", "12A3456", "12쀍3456", "부천12가3456", "가3456"],
)
def test_bad_plates_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue) as info:
        Plate.parse(text)
    assert info.value.field == "plate"


def test_plate_mask_hides_the_middle() -> None:
    assert Plate.parse("12가3456").masked == "12가**56"


@pytest.mark.parametrize(
    "look_alike",
    [
        "１２가３４５６",  # full-width
        "\U0001d7cf\U0001d7d0가\U0001d7d1\U0001d7d2\U0001d7d3\U0001d7d4",  # mathematical bold
    ],
)
def test_plates_that_look_the_same_are_the_same_plate(look_alike: str) -> None:
    assert Plate.parse(look_alike) == Plate.parse("12가3456")


@pytest.mark.parametrize(
    "foreign_digits",
    [
        "١٢가٣٤٥٦",  # Arabic-Indic
        "१२가३४५६",  # Devanagari
        "۱۲가۳۴۵۶",  # Extended Arabic-Indic (Persian)
        "12가345٦",  # one foreign digit is enough
    ],
)
def test_plates_with_non_ascii_digits_are_refused(foreign_digits: str) -> None:
    with pytest.raises(InvalidValue, match="0-9") as info:
        Plate.parse(foreign_digits)
    assert info.value.field == "plate"
