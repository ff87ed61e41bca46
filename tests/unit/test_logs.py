"""Phones that reach a log line are masked whatever their spelling."""

from __future__ import annotations

import logging

import pytest

from app_api.logs import PhoneRedactor, mask_phones


@pytest.mark.parametrize(
    "spelling",
    [
        "010-1234-5678",
        "01012345678",
        "+821012345678",
        "821012345678",
        "+82 10 1234 5678",
        "010.1234.5678",
        "+82-10-1234-5678",
    ],
)
def test_every_spelling_is_masked(spelling: str) -> None:
    out = mask_phones(f"dialing {spelling} now")
    assert out == "dialing 010-****-5678 now"


def test_safe_numbers_and_other_digits_are_left_alone() -> None:
    text = "0504-1234-5678 and 050412345678, order 2024112212345678, 02-123-4567"
    assert mask_phones(text) == text
    assert mask_phones("legacy 016-123-4567") == "legacy 016-***-4567"


def test_filter_rewrites_formatted_records(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.redact")
    caplog.handler.addFilter(PhoneRedactor())
    with caplog.at_level(logging.INFO):
        log.info("owner %s registered", "+821098765432")
    assert caplog.messages == ["owner 010-****-5432 registered"]
