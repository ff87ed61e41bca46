"""Numbering use cases on a real, migrated database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app_api.wiring import Core
from numbering.errors import (
    InvalidTransition,
    InvalidValue,
    NotFound,
    OwnerLimitReached,
    PoolExhausted,
    PoolOverlap,
    VehicleHasNumber,
)
from numbering.models import NumberRecord, Route
from numbering.outbox import ChangeKind, Outbox
from numbering.types import OwnerPhone, Plate, SafeNumber
from tests.conftest import Clock

PHONE = OwnerPhone.parse("010-2345-6789")
OTHER = OwnerPhone.parse("010-9876-5432")


def issue(
    core: Core, phone: OwnerPhone = PHONE, plate: str = "12가3456", prefix: str | None = None
):
    with core.numbers() as svc:
        return svc.issue(phone, Plate.parse(plate), prefix)


def add_pool(core: Core, prefix: str = "0504", lo: str = "00000000", hi: str = "99999999"):
    with core.numbers() as svc:
        return svc.add_pool(prefix, lo, hi)


def test_issue_returns_a_number_from_the_pool_with_the_phone_masked(core: Core) -> None:
    add_pool(core, "0504", "00001000", "00001999")
    view = issue(core)
    n = SafeNumber.parse(view.safe_number)
    assert n.prefix == "0504"
    assert 1000 <= n.subscriber <= 1999
    assert view.status == "active"
    assert view.owner_phone == "010-****-6789"
    assert view.plate == "12가**56"
    assert view.expires_at - view.issued_at == timedelta(days=365)


def test_prefix_picks_the_pool(core: Core) -> None:
    add_pool(core, "0504", "00000000", "00000099")
    add_pool(core, "0507", "00000000", "00000099")
    assert issue(core, prefix="0507").safe_number.startswith("0507-")
    assert issue(core, plate="34나5678", prefix="0504").safe_number.startswith("0504-")
    with pytest.raises(PoolExhausted, match="no number pool for prefix 0508"):
        issue(core, OTHER, prefix="0508")
    with pytest.raises(InvalidValue, match="0502 to 0509"):
        issue(core, OTHER, prefix="0104")


def test_overlapping_pools_are_refused(core: Core) -> None:
    add_pool(core, "0504", "00000100", "00000199")
    with pytest.raises(PoolOverlap):
        add_pool(core, "0504", "00000150", "00000250")
    with pytest.raises(InvalidValue, match="greater"):
        add_pool(core, "0504", "00000300", "00000250")
    with pytest.raises(InvalidValue, match="8 digits"):
        add_pool(core, "0504", "000000001", "000000002")
    add_pool(core, "0505", "00000150", "00000250")  # another prefix is another range
    with core.numbers() as svc:
        assert [p.size for p in svc.list_pools()] == [100, 101]


def test_owner_limit_and_one_number_per_vehicle(core: Core) -> None:
    add_pool(core)
    issue(core, plate="12가3456")
    with pytest.raises(VehicleHasNumber):
        issue(core, plate="12 가 3456")
    issue(core, plate="34나5678")
    with pytest.raises(OwnerLimitReached, match="at most 2"):
        issue(core, plate="56다7890")
    issue(core, OTHER, plate="56다7890")  # the limit is per owner


def test_exhaustion_is_exact_for_a_full_pool(core: Core) -> None:
    add_pool(core, "0504", "00000000", "00000002")
    phones = [OwnerPhone.parse(f"010-1111-000{i}") for i in range(4)]
    got = {issue(core, p).safe_number for p in phones[:3]}
    assert got == {"0504-0000-0000", "0504-0000-0001", "0504-0000-0002"}
    with pytest.raises(PoolExhausted, match="no free number"):
        issue(core, phones[3])


def test_lifecycle_pause_resume_renew_release(core: Core, clock: Clock) -> None:
    add_pool(core)
    n = SafeNumber.parse(issue(core).safe_number)
    with core.numbers() as svc:
        assert svc.pause(n).status == "paused"
        with pytest.raises(InvalidTransition, match="cannot pause a paused"):
            svc.pause(n)
    with core.numbers() as svc:
        assert svc.resume(n).status == "active"
    clock.advance(days=100)
    with core.numbers() as svc:
        renewed = svc.renew(n)
    assert renewed.expires_at == clock.now + timedelta(days=365)
    with core.numbers() as svc:
        released = svc.release(n)
    assert released.status == "quarantined"
    assert released.owner_phone is None
    assert released.quarantine_until == clock.now + timedelta(days=180)
    with core.numbers() as svc, pytest.raises(InvalidTransition):
        svc.resume(n)
    with core.sessions() as s:
        assert s.get(Route, n.digits) is None  # releasing deletes the route


def test_quarantined_numbers_are_never_reissued_until_freed(core: Core, clock: Clock) -> None:
    add_pool(core, "0504", "00000000", "00000001")
    first = SafeNumber.parse(issue(core).safe_number)
    with core.numbers() as svc:
        svc.release(first)
    second = issue(core, OTHER).safe_number
    assert second != first.national
    third = OwnerPhone.parse("010-3333-4444")
    with pytest.raises(PoolExhausted):
        issue(core, third)  # the only other number rests in quarantine
    clock.advance(days=179)
    with core.numbers() as svc:
        assert svc.sweep().freed == 0
    clock.advance(days=2)
    with core.numbers() as svc:
        assert svc.sweep().freed == 1
    assert issue(core, third).safe_number == first.national


def test_sweep_releases_expired_numbers(core: Core, clock: Clock) -> None:
    add_pool(core)
    a = SafeNumber.parse(issue(core).safe_number)
    clock.advance(days=200)
    b = SafeNumber.parse(issue(core, OTHER).safe_number)
    clock.advance(days=166)  # a is 366 days old, b 166
    start = outbox_head(core)
    with core.numbers() as svc:
        result = svc.sweep()
    assert (result.released, result.freed) == (1, 0)
    assert outbox_numbers(core, start) == [a]
    with core.numbers() as svc:
        assert svc.show(a).status == "quarantined"
        assert svc.show(b).status == "active"


def outbox_head(core: Core) -> int:
    with core.reading() as svc:
        return Outbox(svc.repo.session).head()


def outbox_numbers(core: Core, after: int) -> list[SafeNumber]:
    with core.reading() as svc:
        changes = Outbox(svc.repo.session).after(after, 1000)
    return [c.number for c in changes if c.kind is ChangeKind.NUMBER]


def test_route_changes_are_recorded_in_the_outbox_with_the_change(core: Core) -> None:
    add_pool(core)
    hints: list[int] = []
    core.outbox_hints.append(lambda: hints.append(1))
    n = SafeNumber.parse(issue(core).safe_number)
    assert outbox_numbers(core, 0) == [n]
    assert hints == [1]  # woken after commit
    with pytest.raises(RuntimeError), core.numbers() as svc:
        svc.pause(n)
        raise RuntimeError("request failed after the change")
    assert outbox_numbers(core, 0) == [n]  # rolled back: nothing recorded
    assert hints == [1]
    with core.numbers() as svc:
        assert svc.show(n).status == "active"
        svc.pause(n)
        svc.resume(n)  # twice in one transaction: one entry
    assert outbox_numbers(core, 0) == [n, n]
    assert hints == [1, 1]


def test_active_routes_feed_the_replica_in_clear(core: Core) -> None:
    add_pool(core)
    a = SafeNumber.parse(issue(core).safe_number)
    b = SafeNumber.parse(issue(core, OTHER).safe_number)
    with core.numbers() as svc:
        svc.pause(b)
    with core.numbers() as svc:
        assert dict(svc.active_routes()) == {a: PHONE}


def test_unknown_numbers_are_not_found(core: Core) -> None:
    with core.numbers() as svc, pytest.raises(NotFound, match="0504-0000-0001 is not issued"):
        svc.show(SafeNumber.parse("050400000001"))


def test_owner_deletion_releases_numbers_and_returns_a_receipt(core: Core) -> None:
    add_pool(core)
    issue(core, plate="12가3456")
    issue(core, plate="34나5678")
    keep = SafeNumber.parse(issue(core, OTHER).safe_number)
    with core.numbers("operator:7") as svc:
        receipt = svc.delete_owner(PHONE)
    assert receipt.numbers_released == 2
    assert receipt.actor == "operator:7"
    assert "crypto-shredding" in receipt.method
    text = str(receipt.to_json())
    assert PHONE.national_digits not in text
    assert PHONE.national_digits[1:] not in text
    with core.sessions() as s:
        live = s.scalar(
            select(func.count()).select_from(NumberRecord).where(NumberRecord.status == "active")
        )
        assert live == 1
        assert s.get(Route, keep.digits) is not None
    with core.numbers() as svc, pytest.raises(NotFound):
        svc.delete_owner(PHONE)
