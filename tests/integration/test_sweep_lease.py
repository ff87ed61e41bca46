"""Several ``serve`` processes: the scheduled sweep runs once per pass, not once per process."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app_api.main import SWEEP_LOCK, sweep_once
from app_api.wiring import Core
from numbering.types import OwnerPhone, Plate, SafeNumber
from tests.conftest import ON_POSTGRES, Clock


@pytest.mark.skipif(not ON_POSTGRES, reason="the lease is PostgreSQL's advisory lock")
def test_a_sweep_skips_while_another_process_holds_the_lease(core: Core, clock: Clock) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "99999999")
        number = SafeNumber.parse(
            svc.issue(OwnerPhone.parse("010-2345-6789"), Plate.parse("12가3456")).safe_number
        )
    clock.advance(days=400)  # expired: the sweep has work to do

    # Another serve's sweep, in the middle of its transaction (a separate connection).
    with core.engine.connect() as other:
        other.begin()
        assert other.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK})
        result, _, _ = sweep_once(core)
        assert result.released == 0  # skipped: the holder does this pass
        with core.reading() as svc:
            assert svc.show(number).status == "active"
        other.rollback()

    result, _, _ = sweep_once(core)  # the lease is free again: this process sweeps
    assert result.released == 1
    with core.reading() as svc:
        assert svc.show(number).status == "quarantined"
