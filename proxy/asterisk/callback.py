"""Which numbers the driver's callback may dial, from phonenumbers' Korean metadata.

The callback (the driver dials their own 050 number) rings whoever called last. A
caller ID is whatever the calling network put there, so without a limit the callback
is a toll-fraud path to premium-rate (060), toll-free (080), special-service (1xx),
emergency and other numbers. Only Korean mobile and geographic (fixed-line) numbers
are called back.

The call path has no Python in it, so the rule is rendered into the dialplan as a
POSIX extended regular expression over national digits (``0`` + the national
significant number), which Asterisk's ``REGEX()`` evaluates at callback time.
"""

from __future__ import annotations

import re

from phonenumbers import PhoneMetadata, PhoneNumberType

CALLBACK_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
"""The phonenumbers types a callback may reach."""

_DESCRIPTIONS = {PhoneNumberType.MOBILE: "mobile", PhoneNumberType.FIXED_LINE: "fixed_line"}
_ERE_SAFE = re.compile(r"^[0-9\[\]()|{},^$-]+$")


def _to_ere(pattern: str) -> str:
    """phonenumbers' Java-style pattern -> POSIX ERE (no ``(?:``, no ``\\d``)."""
    ere = pattern.replace("(?:", "(").replace(r"\d", "[0-9]")
    if not _ERE_SAFE.match(ere):
        raise ValueError(f"unexpected construct in phonenumbers pattern {pattern!r}")
    return ere


def callback_allow_pattern(region: str = "KR") -> str:
    """An anchored ERE matching national digits of a callable number of ``region``."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        raise ValueError(f"no phonenumbers metadata for {region}")
    parts = []
    for kind in CALLBACK_TYPES:
        desc = getattr(metadata, _DESCRIPTIONS[kind])
        if desc is None or not desc.national_number_pattern:
            raise ValueError(f"phonenumbers has no {_DESCRIPTIONS[kind]} pattern for {region}")
        parts.append(f"({_to_ere(desc.national_number_pattern)})")
    return f"^{metadata.national_prefix or ''}({'|'.join(parts)})$"
