"""Owners with numbers, issued through the real service: the set-up several tiers share."""

from __future__ import annotations

from collections.abc import Sequence

from app_api.wiring import Core
from numbering.types import OwnerPhone, Plate, SafeNumber


def issue_numbers(core: Core, phones: Sequence[str], plates: Sequence[str]) -> list[SafeNumber]:
    """Open the whole 0504 pool and issue one number per (phone, plate), one
    transaction each, as drivers registering one after another would."""
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "99999999")
    numbers = []
    for phone, plate in zip(phones, plates, strict=True):
        with core.numbers() as svc:
            view = svc.issue(OwnerPhone.parse(phone), Plate.parse(plate))
        numbers.append(SafeNumber.parse(view.safe_number))
    return numbers
