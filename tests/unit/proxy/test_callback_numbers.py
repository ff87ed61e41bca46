"""The callback's allow-list agrees with phonenumbers: Korean mobile and fixed-line only."""

from __future__ import annotations

import itertools
import re

import phonenumbers
import pytest

from proxy.asterisk.callback import CALLBACK_TYPES, callback_allow_pattern
from proxy.asterisk.config import AsteriskConfig

ALLOW = re.compile(callback_allow_pattern())


def callable_by_phonenumbers(national: str) -> bool:
    """``national`` is 0 + the national significant number (what the dialplan stores).

    A Korean national significant number never starts with 0 (phonenumbers would
    strip a second 0 as a national prefix, so such digits are answered here)."""
    if national[1:2] in ("", "0"):
        return False
    parsed = phonenumbers.parse("+82" + national[1:])
    return phonenumbers.is_valid_number(parsed) and (
        phonenumbers.number_type(parsed) in CALLBACK_TYPES
    )


@pytest.mark.parametrize(
    "national",
    [
        "01012345678",  # mobile
        "0111234567",  # mobile (old 011)
        "0212345678",  # Seoul
        "0311234567",  # Gyeonggi
        "0641234567",  # Jeju
    ],
)
def test_mobile_and_geographic_numbers_may_be_called_back(national: str) -> None:
    assert ALLOW.fullmatch(national)


@pytest.mark.parametrize(
    "national",
    [
        "0602123456",  # premium rate (060)
        "0801234567",  # toll-free (080)
        "0308123456",  # toll-free (030)
        "015881234",  # special service / UAN (1588)
        "0112",  # emergency (112), with a national prefix
        "0119",  # emergency (119)
        "0114",
        "050412345678",  # another safe number (050)
        "05041234567",
        "0701234567",  # VoIP (070)
        "0151234567",  # pager (015)
        "0303123456",
        "",
    ],
)
def test_premium_toll_free_special_emergency_and_others_may_not(national: str) -> None:
    assert not ALLOW.fullmatch(national)


def test_the_rendered_pattern_agrees_with_phonenumbers_on_every_prefix() -> None:
    """Every 0 + three-digit prefix, every length the dialplan's shape check admits."""
    tails = ("0000000000", "1234567890", "9999999999", "5678901234")
    checked = 0
    for a, b, c in itertools.product("0123456789", repeat=3):
        for length in range(9, 13):
            for tail in tails:
                national = ("0" + a + b + c + tail)[:length]
                assert bool(ALLOW.fullmatch(national)) == callable_by_phonenumbers(national), (
                    national
                )
                checked += 1
    assert checked == 1000 * 4 * len(tails)


def test_the_dialplan_carries_the_pattern(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = AsteriskConfig(
        config_dir=tmp_path / "ast",
        sip_port=15060,
        trunk_host="192.0.2.10",
        trunk_port=5070,
        ami_port=15038,
        ami_secret="s3cret-s3cret-s3cret",
    )
    assert config.values()["callback_allow"] == ALLOW.pattern
