"""Read-only units of work: they never queue behind a writer, and they cannot write."""

from __future__ import annotations

import threading

import pytest

from app_api.wiring import Core
from numbering.types import OwnerPhone, Plate, SafeNumber


def test_a_read_does_not_wait_for_an_open_write(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "00000999")
        n = SafeNumber.parse(
            svc.issue(OwnerPhone.parse("010-2222-3333"), Plate.parse("12가3456")).safe_number
        )
    writer_holds_lock = threading.Event()
    release_writer = threading.Event()

    def writer() -> None:
        with core.numbers() as svc:
            svc.pause(n)
            writer_holds_lock.set()
            release_writer.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writer_holds_lock.wait(10)
        with core.reading() as svc:
            seen = svc.show(n).status
        assert thread.is_alive()  # answered while the writer still holds its lock
        assert seen == "active"  # the snapshot before the writer's commit
    finally:
        release_writer.set()
        thread.join(10)
    with core.reading() as svc:
        assert svc.show(n).status == "paused"


def test_a_read_only_unit_refuses_to_write(core: Core) -> None:
    with core.numbers() as svc:
        svc.add_pool("0504", "00000000", "00000999")
    with pytest.raises(RuntimeError, match="read-only"), core.reading() as svc:
        svc.add_pool("0505", "00000000", "00000999")
    with core.reading() as svc:
        assert [p.prefix for p in svc.list_pools()] == ["0504"]
