"""Value types for numbers that cross every boundary: never pass a bare ``str``.

``phonenumbers`` prints 12-digit 050 numbers as ``050-41234-5678``; Korean practice
(and what drivers put on the dashboard) is ``0504-1234-5678``, so ``SafeNumber``
formats itself instead of asking phonenumbers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import phonenumbers

from numbering.errors import InvalidValue

_SEPARATORS: Final = re.compile(r"[\s\-.()/]")


def _digits_of(raw: str, field: str, what: str) -> str:
    text = _SEPARATORS.sub("", raw.strip())
    if not text:
        raise InvalidValue(f"{what} is empty", field=field)
    plus = text.startswith("+")
    body = text[1:] if plus else text
    if not body.isascii() or not body.isdigit():
        raise InvalidValue(
            f"{what} may contain only digits, spaces, dashes and a leading +", field=field
        )
    if plus and not body.startswith("82"):
        raise InvalidValue(f"{what} must be a Korean number (+82)", field=field)
    if body.startswith("0082"):
        body = body[2:]
    if body.startswith("82"):
        rest = body[2:]
        body = rest if rest.startswith("0") else "0" + rest
    elif plus:
        raise InvalidValue(f"{what} must be a Korean number (+82)", field=field)
    return body


@dataclass(frozen=True, slots=True, order=True)
class SafeNumber:
    """A 12-digit 050 virtual number: ``050`` + carrier digit + 8 subscriber digits."""

    digits: str  # national, 12 digits, e.g. "050412345678"

    def __post_init__(self) -> None:
        d = self.digits
        if not (len(d) == 12 and d.isascii() and d.isdigit()):
            raise InvalidValue("a safe number has 12 digits", field="safe_number")
        if not d.startswith("050"):
            raise InvalidValue("a safe number starts with 050", field="safe_number")
        if d[3] not in "23456789":
            raise InvalidValue(
                f"050{d[3]} is not a 050 carrier prefix (0502-0509)", field="safe_number"
            )

    @classmethod
    def parse(cls, raw: str, field: str = "safe_number") -> SafeNumber:
        body = _digits_of(raw, field, "safe number")
        if not body.startswith("050"):
            raise InvalidValue(f"a safe number starts with 050 (got {body[:3]}...)", field=field)
        if len(body) != 12:
            raise InvalidValue(
                f"a safe number has 12 digits like 0504-1234-5678, got {len(body)}", field=field
            )
        try:
            return cls(body)
        except InvalidValue as exc:
            raise InvalidValue(exc.message, field=field) from None

    @classmethod
    def from_parts(cls, prefix: str, subscriber: int) -> SafeNumber:
        return cls(f"{prefix}{subscriber:08d}")

    @property
    def prefix(self) -> str:
        return self.digits[:4]

    @property
    def subscriber(self) -> int:
        return int(self.digits[4:])

    @property
    def national(self) -> str:
        d = self.digits
        return f"{d[:4]}-{d[4:8]}-{d[8:]}"

    @property
    def e164(self) -> str:
        return "+82" + self.digits[1:]

    def __str__(self) -> str:
        return self.national


_REFUSED_PREFIXES: Final = (
    ("050", "050 numbers are safe numbers, not owner phones"),
    ("070", "070 internet phones cannot own a safe number; use a mobile number"),
    ("080", "080 free-call numbers cannot own a safe number"),
    ("060", "060 premium-rate numbers cannot own a safe number"),
    ("030", "030 numbers cannot own a safe number"),
    ("15", "15xx business numbers cannot own a safe number"),
    ("16", "16xx business numbers cannot own a safe number"),
    ("18", "18xx business numbers cannot own a safe number"),
)
_MOBILE: Final = re.compile(r"01[016789]\d{7,8}")


@dataclass(frozen=True, slots=True)
class OwnerPhone:
    """A driver's real Korean mobile phone, held as E.164. Personal data: never log ``e164``."""

    e164: str  # "+821012345678"

    def __post_init__(self) -> None:
        if not (self.e164.startswith("+82") and _MOBILE.fullmatch("0" + self.e164[3:])):
            raise InvalidValue("not a Korean mobile number in E.164", field="owner_phone")

    @classmethod
    def parse(cls, raw: str, field: str = "owner_phone") -> OwnerPhone:
        national = _digits_of(raw, field, "phone number")
        for prefix, why in _REFUSED_PREFIXES:
            if national.startswith(prefix):
                raise InvalidValue(why, field=field)
        if not national.startswith("01"):
            raise InvalidValue(
                "landlines cannot own a safe number; use a mobile number (010-...)", field=field
            )
        if not _MOBILE.fullmatch(national):
            raise InvalidValue(
                "not a Korean mobile number (010-XXXX-XXXX, or legacy 011/016/017/018/019)",
                field=field,
            )
        parsed = phonenumbers.parse(national, "KR")
        if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in (
            phonenumbers.PhoneNumberType.MOBILE,
        ):
            raise InvalidValue("not a valid Korean mobile number", field=field)
        return cls(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))

    @property
    def national_digits(self) -> str:
        return "0" + self.e164[3:]

    @property
    def national(self) -> str:
        d = self.national_digits
        return f"{d[:3]}-{d[3:-4]}-{d[-4:]}"

    @property
    def masked(self) -> str:
        """``010-****-5678``: enough for a person to recognise their own phone."""
        d = self.national_digits
        return f"{d[:3]}-{'*' * (len(d) - 7)}-{d[-4:]}"

    def __repr__(self) -> str:
        return f"OwnerPhone({self.masked})"

    __str__ = __repr__


_PLATE_SYLLABLES: Final = frozenset(
    "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주아바사자배하허호"
)
_REGIONS: Final = (
    "서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주"
)
_PLATE: Final = re.compile(
    rf"(?:(?P<region>{_REGIONS})(?P<rd>[0-9]{{2}})|(?P<d>[0-9]{{2,3}}))"
    r"(?P<s>[가-힣])(?P<n>[0-9]{4})"
)


@dataclass(frozen=True, slots=True)
class Plate:
    """A Korean vehicle registration plate, normalised without spaces: ``12가3456``.

    NFKC first (full-width and mathematical digits become ASCII, half-width forms their
    usual letters), then only ASCII digits are accepted: a plate that looks the same
    is the same plate, and Arabic-Indic or Devanagari digits are refused.
    """

    text: str

    @classmethod
    def parse(cls, raw: str, field: str = "plate") -> Plate:
        text = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", raw))
        if not text:
            raise InvalidValue("plate is empty", field=field)
        m = _PLATE.fullmatch(text)
        if m is None:
            if any(c.isdigit() and not c.isascii() for c in text):
                raise InvalidValue("plate digits must be 0-9", field=field)
            raise InvalidValue(
                "not a Korean plate: expected like 12가3456, 123가4567 or 서울12가3456",
                field=field,
            )
        if m["s"] not in _PLATE_SYLLABLES:
            raise InvalidValue(f"'{m['s']}' is not used on Korean plates", field=field)
        return cls(text)

    @property
    def masked(self) -> str:
        return self.text[:-4] + "**" + self.text[-2:]

    def __str__(self) -> str:
        return self.text
