"""What kind of link or phone number a text contains.

Spam and phishing hide behind shorteners, bare IP addresses, APK downloads and
throw-away domains; neighbours send map links and mobile numbers. Knowing which is
which is most of the value of a link rule, so the classification lives here, apart
from the matching engine in :mod:`blocking.rules`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from blocking.vocabulary import (
    MAP_HOSTS,
    MESSENGER_HOSTS,
    OFFICIAL_DOMAINS,
    RISKY_TLDS,
    URL_SHORTENERS,
)

URL_KINDS: Final[tuple[str, ...]] = (
    "url_shortener",
    "url_ip",
    "url_apk",
    "url_map",
    "url_official",
    "url_messenger",
    "url_risky_tld",
    "url_other",
)
PHONE_KINDS: Final[tuple[str, ...]] = (
    "phone_mobile",
    "phone_080",
    "phone_internet",
    "phone_premium",
    "phone_landline",
)

PHONE_NUMBER = re.compile(
    r"(?<!\d)(?:\+?82[-. ]?)?"
    r"(?:0\d{1,3}[-. )]{0,2}\d{3,4}[-. ]{0,2}\d{4}|1[5-9]\d\d[-. ]?\d{4})(?!\d)"
)
"""A Korean phone number in text: mobile, landline, 050x/070, 080 and 15xx/16xx company
numbers, with or without +82 and separators (read after NFKC). Used to rewrite or mask
numbers before a text is stored as an example, never by the rules."""
_IP_HOST = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_URL_IN_TOKEN = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?[a-z0-9][a-z0-9.-]*(?::\d+)?(?:/\S*)?")
_SCHEMED_URL = re.compile(r"[a-z][a-z0-9+.-]*://[a-z0-9][a-z0-9.-]*(?::\d+)?(?:/\S*)?")
_STOP_CLASS = "[ \n\t\x00<>\"'()\\[\\]{}]"
_UP_TO_LAST_STOP = re.compile(".*" + _STOP_CLASS, re.DOTALL)
_TOKEN_BODY = re.compile("[^" + _STOP_CLASS[1:] + "{0,300}")
_MEMO_SIZE = 10_000
"""Distinct tokens and URLs remembered: a campaign repeats the same link in every text."""
_MOBILE = ("010", "011", "016", "017", "018", "019", "07")
_PREMIUM = ("060", "09", "087", "084")


def url_at(text: str, at: int) -> tuple[str, int]:
    """The URL around a match at ``at`` (a dot before a TLD or a ``://``) and its end.

    The token around ``at`` reaches back at most 200 and forward at most 300 characters
    to the nearest stop character; both bounds are found by the regex engine.
    """
    low = max(at - 200, 0)
    last_stop = _UP_TO_LAST_STOP.match(text, low, at)
    start = last_stop.end() if last_stop else low
    body = _TOKEN_BODY.match(text, at)
    end = body.end() if body else at
    return _url_in_token(text[start:end]), end


@lru_cache(maxsize=_MEMO_SIZE)
def _url_in_token(token: str) -> str:
    if "@" in token:  # an e-mail address is not a link
        return ""
    # A scheme glued to the word before it ("축하합니다https://bit.ly/x") starts the URL,
    # even after an earlier dotted run in the same token ("18.180.000w").
    found = (_SCHEMED_URL.search(token) if "://" in token else None) or _URL_IN_TOKEN.search(token)
    return found.group().rstrip(".,!?;:") if found else token


@lru_cache(maxsize=_MEMO_SIZE)
def url_kind(url: str) -> str:
    """Which of :data:`URL_KINDS` a URL is, judged from its host and path (memoised)."""
    rest = url.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    host = host.split(":", 1)[0].removeprefix("www.").rstrip(".")
    if host in MAP_HOSTS or host.endswith((".map.naver.com", ".map.kakao.com")):
        return "url_map"
    if host in MESSENGER_HOSTS:
        return "url_messenger"
    labels = host.split(".")
    if any(".".join(labels[i:]) in OFFICIAL_DOMAINS for i in range(len(labels) - 1)):
        return "url_official"
    if host in URL_SHORTENERS:
        return "url_shortener"
    if _IP_HOST.match(host):
        return "url_ip"
    if ".apk" in path or host.endswith(".apk"):
        return "url_apk"
    if host.rsplit(".", 1)[-1] in RISKY_TLDS:
        return "url_risky_tld"
    return "url_other"


def phone_kind(number: str) -> str:
    """Which of :data:`PHONE_KINDS` a number is, by its Korean (or UK) prefix."""
    return phone_kind_of_digits("".join(c for c in number if c.isdigit()))


@lru_cache(maxsize=_MEMO_SIZE)
def phone_kind_of_digits(digits: str) -> str:
    """:func:`phone_kind` of a number given as its digits only (memoised: the rules pass
    just the first three digits, which decide it)."""
    if digits.startswith("070") or digits.startswith("050"):
        return "phone_internet"
    if digits.startswith(_MOBILE):
        return "phone_mobile"
    if digits.startswith("080"):
        return "phone_080"
    if digits.startswith(_PREMIUM):
        return "phone_premium"
    return "phone_landline"


def mask_phone(number: str) -> str:
    """Hide the middle digits: reasons are logged, and numbers are personal data."""
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) < 8:
        return digits
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
